import Foundation
import Governance
import Hummingbird
import Replication
import Storage

extension APIServer {
    /// The command centre (`/dashboard`) and one committee on one screen (`/dashboard/committees/{cid}`), for officers
    /// and cadres. A browser signs in once: the token goes into an HttpOnly cookie scoped to /dashboard, and
    /// `?token=` links (printed by `shequ demo`) are turned into that cookie and redirected away at once.
    func addDashboardRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store, identity = self.identity, cluster = self.cluster

        router.get("/dashboard") { request, context in
            if let token = request.uri.queryParameters.get("token") { return Self.signedIn(token: token) }
            guard let actor = context.member?.actor else { return Self.html(DashboardPage.signIn(message: nil)) }
            let scope: RollupScope
            do { scope = try Self.rollupScope(actor) } catch { return Self.html(DashboardPage.signIn(message: "此账号无权查看指挥中心"), status: .forbidden) }
            let title = Self.scopeTitle(scope, names: identity.unitNames)
            var data = try await store.read { view in
                try DashboardData.read(view, scope: scope, title: title, node: identity.id, names: identity.unitNames)
            }
            if let cluster { data.peers = DashboardData.peers(from: await cluster.replication()) }
            // How often the page swaps in fresh figures (30 s; `?refresh=` from 2 to 300 for a wall screen that wants otherwise).
            let refresh = request.uri.queryParameters.get("refresh").flatMap { Int($0) }.map { min(300, max(2, $0)) } ?? 30
            return Self.html(DashboardPage.render(data, refreshSeconds: refresh))
        }

        // The escalation queue of the reader's unit: the street grid centre's (street officers) or the district platform's
        // (district and city officers), due first, by department.
        router.get("/dashboard/queue") { request, context in
            guard let actor = context.member?.actor else { return Self.html(DashboardPage.signIn(message: nil), status: .unauthorized) }
            let scope = try Self.oversight(of: actor, "工单队列只对街道、区和市级干部开放")
            let level: TicketLevel
            switch scope {
            case .street: level = .street
            case .district, .city: level = .district
            case .committee: throw APIError.forbidden("工单队列只对街道、区和市级干部开放")
            }
            let department = request.uri.queryParameters.get("department").map { String($0) }
            let title = Self.scopeTitle(actor.role == .cityOfficer ? .city : actor.role == .districtOfficer ? .district(actor.unit ?? "") : .street(actor.unit ?? ""),
                                        names: identity.unitNames)
            let html = try await store.read { view -> String in
                let now = view.nowMillis
                let tickets = try view.ticketQueue(level: level, scope: scope, stage: nil, overdue: nil, nowMillis: now, limit: 500, after: nil)
                    .filter { $0.stage.isOpen && (department == nil || $0.assignee == department) }
                var committees: [String: String] = [:]
                for id in Set(tickets.map(\.committee)) { committees[id] = try view.committee(id)?.name }
                let open = try Self.openByDepartment(view, scope: scope)
                return DashboardPage.renderQueue(title: title, level: level, tickets: tickets, committees: committees,
                                                 departments: view.departments.map { ($0, open[$0] ?? 0) }, department: department, nowMillis: now)
            }
            return Self.html(html)
        }

        router.post("/dashboard/session") { request, context in
            var request = request
            let buffer = try await request.collectBody(upTo: 4_096)
            let token = FormBody(String(buffer: buffer))["token"] ?? ""
            guard !token.isEmpty, try await store.read({ try $0.member(forToken: token) }) != nil else {
                return Self.html(DashboardPage.signIn(message: "令牌无效"), status: .unauthorized)
            }
            return Self.signedIn(token: token)
        }

        router.get("/dashboard/committees/{cid}") { _, context in
            guard let actor = context.member?.actor else { return Self.html(DashboardPage.signIn(message: nil), status: .unauthorized) }
            let scope = try Self.rollupScope(actor)
            let cid = try context.parameters.require("cid")
            let screen = try await store.read { view -> CommitteeScreen? in
                guard let committee = try view.committee(cid), scope.contains(committee) else { return nil }
                return try CommitteeScreen.read(view, committee: committee)
            }
            guard let screen else { throw APIError.notFound("committee") }
            return Self.html(DashboardPage.render(screen, names: identity.unitNames))
        }
    }

    /// Sets the dashboard cookie and sends the browser to the clean address.
    static func signedIn(token: String) -> Response {
        let safe = token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.~".contains($0)) } && token.count <= 200
        guard safe else { return html(DashboardPage.signIn(message: "令牌无效"), status: .unauthorized) }
        return Response(status: .seeOther, headers: [
            .location: "/dashboard",
            .setCookie: "\(AuthMiddleware.dashboardCookie)=\(token); Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=43200",
            .cacheControl: "no-store",
        ])
    }

    static func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    static func scopeTitle(_ scope: RollupScope, names: [String: String]) -> String {
        switch scope {
        case .city: "上海市"
        case .district(let id): names[id] ?? id
        case .street(let id): names[id] ?? id
        case .committee(let id): id
        }
    }
}
