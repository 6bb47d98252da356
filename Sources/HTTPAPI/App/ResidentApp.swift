import Foundation
import Governance
import HTTPTypes
import Hummingbird
import NIOCore
import Replication
import Storage

/// The residents' app: server-rendered pages under the street node's own origin, from scanning the committee's QR code
/// (`/join`) to a rated ticket. Every page works without JavaScript; `/app/static/app.js` adds live updates (the
/// member's event stream) and offline drafts. Pages read and write through the same transactions as the JSON API, and
/// a form's fields carry the API's field names.
///
/// Forms are protected by a double-submit token (the `shequ_csrf` cookie, SameSite=Strict, echoed in a hidden
/// field) besides the session cookie's SameSite=Lax, and each form carries a fresh `idempotencyKey`, so a form sent
/// twice (a double tap, an offline draft sent again) is one write.
struct ResidentApp: Sendable {
    let store: Store
    let identity: NodeIdentity
    let photos: PhotoStore
    var assets: AppAssets { .shared }
    static let csrfCookie = "shequ_csrf"
    static let maxFormBytes = 64 * 1024

    // MARK: - Routes

    func addRoutes(to router: Router<ShequRequestContext>) {
        router.get("/app/static/:file") { _, context in
            let name = try context.parameters.require("file")
            guard let file = AppAssets.shared.files[name] else { throw APIError.notFound("file \(name)") }
            var headers = HTTPFields()
            headers[.contentType] = file.type
            headers[.cacheControl] = "public, max-age=3600"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: file.bytes))
        }
        router.get("/join") { request, context in try await page(request, context) { try await joinPage(request, context, $0) } }
        router.post("/join") { request, context in try await page(request, context) { try await join(request, context, $0) } }
        router.get("/app/sign-in") { request, context in try await page(request, context) { try await signInPage(request, $0, error: nil) } }
        router.post("/app/sign-in") { request, context in try await page(request, context) { try await signIn(request, $0) } }
        router.get("/app/waiting") { request, context in try await page(request, context) { try await waitingPage($0) } }
        router.get("/app") { request, context in try await page(request, context, member: true) { try await homePage($0) } }
        router.get("/app/boards/:board") { request, context in
            try await page(request, context, member: true) { try await boardPage(try context.parameters.require("board"), $0) }
        }
        router.post("/app/boards/:board/posts") { request, context in
            try await page(request, context, member: true) { try await createPost(try context.parameters.require("board"), request, $0) }
        }
        router.get("/app/posts/:pid") { request, context in
            try await page(request, context, member: true) { try await postPage(try context.parameters.require("pid"), editing: request.uri.queryParameters.get("edit") != nil, $0) }
        }
        for action in ["comments", "like", "edit", "delete"] {
            router.post("/app/posts/:pid/\(action)") { request, context in
                try await page(request, context, member: true) { try await postAction(action, try context.parameters.require("pid"), request, $0) }
            }
        }
        router.get("/app/search") { request, context in try await page(request, context, member: true) { try await searchPage(request, $0) } }
        router.get("/app/polls") { request, context in try await page(request, context, member: true) { try await pollsPage($0) } }
        router.get("/app/polls/:id") { request, context in
            try await page(request, context, member: true) { try await pollPage(try context.parameters.require("id"), $0) }
        }
        router.post("/app/polls/:id/vote") { request, context in
            try await page(request, context, member: true) { try await vote(try context.parameters.require("id"), request, $0) }
        }
        router.get("/app/tickets") { request, context in try await page(request, context, member: true) { try await ticketsPage($0) } }
        router.get("/app/tickets/new") { request, context in try await page(request, context, member: true) { try await newTicketPage($0, error: nil, form: nil) } }
        router.post("/app/tickets") { request, context in try await page(request, context, member: true) { try await createTicket(request, $0) } }
        router.get("/app/tickets/:id") { request, context in
            try await page(request, context, member: true) { try await ticketPage(try context.parameters.require("id"), $0) }
        }
        router.post("/app/tickets/:id/rate") { request, context in
            try await page(request, context, member: true) { try await rate(try context.parameters.require("id"), request, $0) }
        }
        addCommunityRoutes(to: router)
        addMessageRoutes(to: router)
        addWorkRoutes(to: router)
        router.get("/app/me") { request, context in try await page(request, context, signedIn: true) { try await mePage($0) } }
        router.post("/app/me/language") { request, context in try await page(request, context, signedIn: true) { try await setLanguage(request, $0) } }
        router.post("/app/me/sessions/:sid/end") { request, context in
            try await page(request, context, signedIn: true) { try await endSession(try context.parameters.require("sid"), request, $0) }
        }
        router.post("/app/sign-out") { request, context in try await page(request, context, signedIn: true) { try await signOut(request, $0) } }
    }

    // MARK: - The frame of every page

    /// Who is asking and in which language, and the form tokens.
    struct Frame: Sendable {
        var member: Member?
        var session: SessionInfo?
        var committee: Committee?
        var language: AppLanguage
        var csrf: String
        /// Set when the browser had no CSRF cookie yet: sent with the page.
        var newCSRFCookie: String?
        var secure: Bool
        /// The member's unread notifications (for the inbox tab).
        var unread = 0

        var actor: Actor { member!.actor }
        /// A cadre or the secretary of the member's committee: they get the desk (工作台).
        var isCommitteeStaff: Bool { member.map { $0.status == .approved && $0.role.isCommitteeStaff } ?? false }
        var strings: [String: String] { AppStrings.table(language) }
        func name(_ key: String) -> String { AppStrings.name(key, language) }
    }

    /// Runs a page: builds its frame, requires a member (approved, or just signed in) where asked, checks the CSRF
    /// token of a form, and turns a refusal into a page that says why.
    func page(_ request: Request, _ context: ShequRequestContext, member required: Bool = false, signedIn: Bool = false,
              _ body: (Frame) async throws -> Response) async throws -> Response {
        var frame = try await makeFrame(request, context)
        if required || signedIn {
            guard let member = frame.member else { return AppAssets.seeOther("/app/sign-in") }
            if required, member.status != .approved { return AppAssets.seeOther("/app/waiting") }
        }
        do {
            if request.method == .post { try await checkCSRF(request, frame) }
            var response = try await body(frame)
            if let cookie = frame.newCSRFCookie { response.headers.append(HTTPField(name: .setCookie, value: cookie)) }
            return response
        } catch {
            let refusal = APIError.translating(error, request: request, logger: context.logger)
            frame.newCSRFCookie = nil
            var values = base(frame)
            values["status"] = Int(refusal.status.code)
            values["message"] = refusal.message
            return assets.page("error", values, status: refusal.status)
        }
    }

    func makeFrame(_ request: Request, _ context: ShequRequestContext) async throws -> Frame {
        let secure = identity.publicURL.hasPrefix("https://") || request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "https"
        var language = AppLanguage(query: request.uri.queryParameters.get("lang").map { String($0) })
        var committee: Committee?
        if let member = context.member {
            if let chosen = try await store.language(member: member.id).flatMap(AppLanguage.init(rawValue:)) { language = chosen }
            if let cid = member.committee { committee = try await store.read { try $0.committee(cid) } }
        }
        var csrf = request.cookies[Self.csrfCookie]?.value ?? ""
        var newCookie: String?
        if csrf.count != 32 {
            csrf = store.randomString(length: 32, alphabet: Array("abcdefghijklmnopqrstuvwxyz0123456789"))
            newCookie = Self.cookie(Self.csrfCookie, csrf, maxAge: nil, sameSite: "Strict", secure: secure)
        }
        var frame = Frame(member: context.member, session: context.session, committee: committee, language: language, csrf: csrf,
                          newCSRFCookie: newCookie, secure: secure)
        if let member = context.member, member.status == .approved {
            frame.unread = try await store.read { try $0.unreadNotifications(for: member) }
        }
        return frame
    }

    func checkCSRF(_ request: Request, _ frame: Frame) async throws {
        var request = request
        let form = try await Self.form(&request)
        guard let sent = form["csrf"], !sent.isEmpty, request.cookies[Self.csrfCookie]?.value == sent else {
            throw APIError(.forbidden, "csrf", frame.language == .zh ? "表单已过期，请返回刷新后重试。" : "This form has expired; go back, reload and try again.")
        }
    }

    /// What every template gets: the words, the language, the form tokens and who is signed in.
    func base(_ frame: Frame) -> [String: Any] {
        var values: [String: Any] = [
            "t": frame.strings, "lang": frame.language == .zh ? "zh-CN" : "en", "csrf": frame.csrf,
            "idempotencyKey": store.randomString(length: 24, alphabet: Array("abcdefghijklmnopqrstuvwxyz0123456789")),
        ]
        if let member = frame.member, member.status == .approved {
            values["me"] = ["id": member.id, "displayName": member.displayName, "partyMember": member.partyMember, "volunteer": member.volunteer]
            values["unread"] = frame.unread > 99 ? "99+" : String(frame.unread)
            values["hasUnread"] = frame.unread > 0
            if frame.isCommitteeStaff { values["staffDesk"] = true }
        }
        if let committee = frame.committee { values["committee"] = ["id": committee.id, "name": committee.name] }
        return values
    }

    /// A page of the signed-in app: `values` over the frame's (`base`), the tab it belongs to lit, and what it listens to.
    func render(_ template: String, _ frame: Frame, tab: String, live: String? = nil, status: HTTPResponse.Status = .ok,
                _ values: [String: Any]) -> Response {
        var all = base(frame)
        all.merge(values) { _, page in page }
        all["nav_\(tab)"] = true
        if let live { all["live"] = live }
        return assets.page(template, all, status: status)
    }

    /// The body of a form post (read once; kept on the request for the next reader): url-encoded, or multipart with files.
    static func form(_ request: inout Request) async throws -> FormBody {
        if MultipartBody.boundary(request) != nil {
            return FormBody(try await MultipartBody.read(&request, limit: APIServer.maxUploadBytes))
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: maxFormBytes) } catch {
            throw APIError(.contentTooLarge, "payload_too_large", "the form exceeds \(maxFormBytes) bytes")
        }
        request.body = .init(buffer: buffer)
        return FormBody(String(buffer: buffer))
    }

    static func cookie(_ name: String, _ value: String, maxAge: Int?, sameSite: String, secure: Bool) -> String {
        var cookie = "\(name)=\(value); Path=/; HttpOnly; SameSite=\(sameSite)"
        if let maxAge { cookie += "; Max-Age=\(maxAge)" }
        if secure { cookie += "; Secure" }
        return cookie
    }

    func sessionCookie(_ value: String, _ frame: Frame) -> String {
        Self.cookie(AuthMiddleware.sessionCookie, value, maxAge: Int(store.lifetimes.sessionMillis / 1_000), sameSite: "Lax", secure: frame.secure)
    }

    // MARK: - Join, sign in, waiting

    func joinPage(_ request: Request, _ context: ShequRequestContext, _ frame: Frame) async throws -> Response {
        if let member = frame.member { return AppAssets.seeOther(member.status == .approved ? "/app" : "/app/waiting") }
        let query = request.uri.queryParameters
        let cid = query.get("committee").map { String($0) } ?? "", code = query.get("code").map { String($0) } ?? ""
        return try await joinForm(cid: cid, code: code, frame, form: nil, error: nil)
    }

    func joinForm(cid: String, code: String, _ frame: Frame, form: FormBody?, error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let committee = try await store.read({ view -> Committee? in
            guard let committee = try view.committee(cid), let expected = try view.joinCode(committee: cid),
                  expected == code.uppercased() else { return nil }
            return committee
        }) else {
            throw APIError(.notFound, "join_link", frame.language == .zh ? "二维码链接无效，请重新扫描居委会的二维码。" : "This join link is not valid; scan your committee's QR code again.")
        }
        var values = base(frame)
        values["joining"] = ["id": committee.id, "name": committee.name, "code": code]
        values["otherLanguage"] = frame.language == .zh ? "en" : "zh"
        values["language"] = frame.language.rawValue
        if let error { values["error"] = error }
        if let form {
            values["form"] = ["realName", "phone", "building", "room", "birthYear"].reduce(into: [String: String]()) { $0[$1] = form[$1] ?? "" }
            values["partyChecked"] = form["partyMember"] != nil
        }
        return assets.page("join", values, status: status)
    }

    func join(_ request: Request, _ context: ShequRequestContext, _ frame: Frame) async throws -> Response {
        var request = request
        let form = try await Self.form(&request)
        let cid = form["committee"] ?? "", code = form["joinCode"] ?? ""
        let birthText = (form["birthYear"] ?? "").trimmingCharacters(in: .whitespaces)
        let birthYear = birthText.isEmpty ? nil : Int(birthText)
        do {
            if !birthText.isEmpty, birthYear == nil { throw GovernanceError.invalid("birthYear", frame.language == .zh ? "请填写四位年份" : "a four-digit year") }
            let application = JoinApplication(joinCode: code, realName: form["realName"] ?? "", phone: form["phone"] ?? "",
                                              building: form["building"] ?? "", room: form["room"] ?? "", birthYear: birthYear,
                                              partyMember: form["partyMember"] != nil)
            let member = try await store.write { tx in try tx.join(application, committee: cid, checkingCode: code) }
            let (cookie, _) = try await store.startSession(member: member.id, agent: request.headers[.userAgent] ?? "")
            if let language = AppLanguage(rawValue: form["language"] ?? ""), language != .zh { try await store.setLanguage(language.rawValue, member: member.id) }
            return AppAssets.seeOther("/app/waiting", cookies: [sessionCookie(cookie, frame)])
        } catch let error as GovernanceError where error.code == .invalid {
            return try await joinForm(cid: cid, code: code, frame, form: form, error: error.message, status: .unprocessableContent)
        }
    }

    func signInPage(_ request: Request, _ frame: Frame, error: String?) async throws -> Response {
        var values = base(frame)
        values["code"] = request.uri.queryParameters.get("code").map { String($0) } ?? ""
        if let error { values["error"] = error }
        return assets.page("sign-in", values, status: error == nil ? .ok : .unprocessableContent)
    }

    func signIn(_ request: Request, _ frame: Frame) async throws -> Response {
        var request = request
        let form = try await Self.form(&request)
        guard let (cookie, _, member) = try await store.redeemSignInCode(form["code"] ?? "", agent: request.headers[.userAgent] ?? "") else {
            return try await signInPage(request, frame, error: frame.name("badCode"))
        }
        return AppAssets.seeOther(member.status == .approved ? "/app" : "/app/waiting", cookies: [sessionCookie(cookie, frame)])
    }

    func waitingPage(_ frame: Frame) async throws -> Response {
        guard let member = frame.member else { return AppAssets.seeOther("/app/sign-in") }
        if member.status == .approved { return AppAssets.seeOther("/app") }
        var values = base(frame)
        values["rejected"] = member.status == .rejected
        values["live"] = "member:\(member.id)"
        return assets.page("waiting", values)
    }
}
