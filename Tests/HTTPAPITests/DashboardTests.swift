import Foundation
import Governance
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import ShequTestSupport
import Storage
import Testing

/// The command centre: what an officer sees, what nobody else sees, and how it looks in a real browser.
@Suite struct DashboardTests {
    /// A street with two committees, tickets answered, late and escalated, a trending traffic post, a closed poll;
    /// and a committee of another street the officer must not see.
    static func seed(_ node: TestNode, api: API) async throws -> (officer: String, resident: String) {
        let (codeA, _, cadreA) = try node.committee("c-a", street: "s1")
        _ = try node.committee("c-b", street: "s1")
        _ = try node.committee("c-far", street: "s2")
        let officer = try node.staffToken(role: .streetOfficer, unit: "s1")
        let (_, resident) = try await api.joinAndApprove("c-a", code: codeA, cadre: cadreA)
        var tickets: [String] = []
        for (category, title) in [("traffic", "路口缺少红绿灯"), ("greening", "<script>alert(1)</script>树胶"), ("parking", "消防通道被占")] {
            let ticket = try await api.call(.post, "/v1/committees/c-a/tickets", token: resident, json: .object([
                "category": .string(category), "title": .string(title), "description": "", "location": .object(["address": "1号楼"]),
            ]))
            #expect(ticket.status == .created)
            tickets.append(ticket["id"].string!)
        }
        node.advance(hours: 1)
        try await api.call(.post, "/v1/tickets/\(tickets[0])/events", token: cadreA, json: .object(["type": "acknowledge"]))
        let post = try await api.call(.post, "/v1/committees/c-a/boards/around-me/posts", token: resident, json: .object([
            "title": "希望开通社区巴士", "body": "到地铁站太远", "category": "traffic",
        ]))
        try await api.call(.put, "/v1/posts/\(post["id"].string!)/like", token: cadreA)
        let poll = try await api.call(.post, "/v1/committees/c-a/polls", token: cadreA, json: .object([
            "title": "加装电梯意见征询", "kind": "consultation", "options": .strings(["同意", "不同意"]), "maxChoices": .int(1),
            "closesAt": "2026-12-30T18:00:00+08:00",
        ]))
        try await api.call(.put, "/v1/polls/\(poll["id"].string!)/ballot", token: resident, json: .object(["choices": .strings(["同意"])]))
        try await api.call(.post, "/v1/polls/\(poll["id"].string!)/close", token: cadreA)
        node.advance(hours: 16)  // the two unanswered tickets are now overdue
        return (officer, resident)
    }

    @Test func theCommandCentreShowsTheStreetToItsOfficerAndNobodyElse() async throws {
        let node = try TestNode()
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (officer, resident) = try await Self.seed(node, api: api)
            // Without a token: the sign-in form. A ?token= link becomes an HttpOnly cookie and a redirect to the clean address.
            let anonymous = try await api.call(.get, "/dashboard")
            #expect(anonymous.status == .ok && anonymous.body.string?.contains("<form method=\"post\" action=\"/dashboard/session\"") == true)
            let link = try await api.call(.get, "/dashboard?token=\(officer)")
            #expect(link.status == .seeOther && link.headers[.location] == "/dashboard")
            let cookie = try #require(link.headers[.setCookie])
            #expect(cookie.hasPrefix("shequ_dashboard=\(officer);") && cookie.contains("HttpOnly") && cookie.contains("Path=/dashboard"))
            let signIn = try await api.call(.post, "/dashboard/session", raw: "token=\(officer)", contentType: "application/x-www-form-urlencoded")
            #expect(signIn.status == .seeOther && signIn.headers[.setCookie] == cookie)
            #expect(try await api.call(.post, "/dashboard/session", raw: "token=nonsense", contentType: "application/x-www-form-urlencoded").status == .unauthorized)

            let page = try await api.call(.get, "/dashboard", cookie: "shequ_dashboard=\(officer)")
            let html = try #require(page.body.string)
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
            for expected in ["社区治理指挥中心", "交通出行", "c-a居委会", "加装电梯意见征询", "超15小时未响应", "<svg"] {
                #expect(html.contains(expected), "missing \(expected)")
            }
            #expect(html.contains("<b>2</b><span>超15小时未响应</span>"))
            #expect(html.components(separatedBy: "<script").count == 2 && html.contains("<script src=\"/app/static/dashboard.js\" defer></script>"),
                    "one script of ours (the refresh), and ticket titles are escaped")
            #expect(!html.contains("c-far"), "another street's committee")
            // The cookie is only good for the dashboard, and a resident gets no command centre.
            #expect(try await api.call(.get, "/v1/rollups/sla", cookie: "shequ_dashboard=\(officer)").status == .unauthorized)
            #expect(try await api.call(.get, "/dashboard", token: resident).status == .forbidden)

            // One committee on one screen; a committee outside the officer's street is not found.
            let screen = try await api.call(.get, "/dashboard/committees/c-a", token: officer)
            #expect(screen.status == .ok && screen.body.string?.contains("一屏观社区") == true)
            #expect(screen.body.string?.contains("&lt;script&gt;alert(1)&lt;/script&gt;树胶") == true)
            #expect(try await api.call(.get, "/dashboard/committees/c-far", token: officer).status == .notFound)
        }
    }

    @Test func theCommandCentreFitsAWallScreenInHeadlessChromium() async throws {
        let node = try TestNode()
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (officer, resident) = try await Self.seed(node, api: api)
            let port = try #require(client.port)
            func refreshProbe() async throws {
                #expect(try await api.call(.post, "/v1/committees/c-a/tickets", token: resident, json: .object([
                    "category": "traffic", "title": "新的工单", "description": "指挥中心应自己刷新",
                ])).status == .created)
            }
            guard let browser = try await Browser.start(width: 1366, height: 768) else {
                Issue.record("chromedriver is not installed (make deps installs chromium and chromium-driver)")
                return
            }
            do {
                try await browser.open("http://127.0.0.1:\(port)/dashboard?token=\(officer)")
                #expect(try await browser.run("return document.location.pathname") == "/dashboard")
                try await browser.open("http://127.0.0.1:\(port)/dashboard?refresh=2")
                #expect(try await browser.run("return document.title").string?.contains("社区治理指挥中心") == true)
                // Everything on one 1366×768 screen: nothing scrolls, no panel's content spills out of it.
                #expect(try await browser.run("return document.documentElement.scrollWidth <= window.innerWidth") == .bool(true))
                #expect(try await browser.run("return document.documentElement.scrollHeight <= window.innerHeight") == .bool(true))
                #expect(try await browser.run("return document.querySelectorAll('section svg').length >= 4") == .bool(true))
                // Nothing is fetched from anywhere else; the one script is ours.
                #expect(try await browser.run("""
                    return performance.getEntriesByType('resource').filter(e => !e.name.startsWith(location.origin)).length
                    """) == .int(0))
                #expect(try await browser.run("return Array.from(document.scripts).map(s => new URL(s.src).pathname).join()") == "/app/static/dashboard.js")
                // It refreshes itself without a reload: a ticket raised now shows in the count, and the page never navigated.
                _ = try await browser.run("window.stillHere = true; return true")
                let before = try await browser.run("return document.querySelector('.kpi b').textContent").string ?? ""
                try await refreshProbe()
                #expect(try await browser.waitUntil("return document.body.dataset.refreshedAt !== undefined && document.querySelector('.kpi b').textContent !== \(Value.string(before).canonicalJSON)",
                                                    timeout: .seconds(20)), "the ticket count moved from \(before) without a reload")
                #expect(try await browser.run("return window.stillHere === true") == .bool(true))
                try await browser.keepScreenshot("dashboard")
                let shot = try await browser.screenshot()
                #expect(shot.starts(with: [0x89, 0x50, 0x4E, 0x47]))
                let width = shot[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = shot[20..<24].reduce(0) { $0 << 8 | Int($1) }
                // The viewport is the window less Chromium's frame: at most 1366×768, and what the checks above measured.
                let viewport = try await browser.run("return [window.innerWidth, window.innerHeight]")
                #expect(viewport == .list([.int(Int64(width)), .int(Int64(height))]) && width == 1366 && height <= 768 && height > 600, "\(viewport)")
                // The drill-down link of the laggard table leads to the committee's screen.
                let href = try await browser.run("return document.querySelector('a[href^=\"/dashboard/committees/\"]').getAttribute('href')").string
                try await browser.open("http://127.0.0.1:\(port)\(try #require(href))")
                #expect(try await browser.run("return document.title").string?.hasPrefix("一屏观社区") == true)
                #expect(try await browser.run("return document.documentElement.scrollWidth <= window.innerWidth") == .bool(true))
            } catch {
                await browser.close()
                throw error
            }
            await browser.close()
        }
    }
}
