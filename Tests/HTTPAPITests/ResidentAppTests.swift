import Foundation
import Governance
@testable import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Replication
import ShequTestSupport
import Storage
import Testing

/// The residents' app, as a browser without script sees it (every page works so) and as a phone in headless Chromium
/// walks it: from the committee's QR code to a rated ticket.
@Suite struct ResidentAppTests {
    /// A form body as a browser encodes it.
    static func form(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }

    @Test func pagesAreEscapedProtectedAgainstForgeryAndWorkWithoutScript() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let formType = "application/x-www-form-urlencoded"

            // The QR code's link opens the join form; a wrong code does not.
            #expect(try await api.call(.get, "/join?committee=c1&code=WRONG").status == .notFound)
            let joinPage = try await api.call(.get, "/join?committee=c1&code=\(code)")
            let html = try #require(joinPage.body.string)
            #expect(joinPage.status == .ok && html.contains("<h1>c1居委会</h1>"))
            for field in ["realName", "phone", "building", "room", "birthYear", "partyMember"] {
                #expect(html.contains("name=\"\(field)\"") && html.contains("for=\"\(field)\""), "\(field) has a field and a label")
            }
            let csp = try #require(joinPage.headers[HTTPField.Name("Content-Security-Policy")!])
            #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"))
            #expect(!html.contains("<script>") && !html.contains("http://") && !html.contains("https://"), "no inline script, nothing from elsewhere")
            let csrfCookie = try #require(joinPage.headers[.setCookie])
            #expect(csrfCookie.contains("SameSite=Strict") && csrfCookie.contains("HttpOnly"))
            let csrf = try #require(csrfCookie.split(separator: ";").first?.split(separator: "=").last.map(String.init))

            // Without the form token: refused. With it: pending, signed in, sent to wait for approval.
            let application = [("committee", "c1"), ("joinCode", code), ("realName", "王小明"), ("phone", "13812345678"),
                               ("building", "12号楼"), ("room", "301"), ("birthYear", "")]
            let forged = try await api.call(.post, "/join", raw: Self.form(application), contentType: formType)
            #expect(forged.status == .forbidden)
            let invalid = try await api.call(.post, "/join", raw: Self.form(application.map { $0.0 == "phone" ? ("phone", "12") : $0 } + [("csrf", csrf)]),
                                             cookie: "shequ_csrf=\(csrf)", contentType: formType)
            #expect(invalid.status == .unprocessableContent && invalid.body.string?.contains("value=\"王小明\"") == true, "the form comes back filled in")
            let joined = try await api.call(.post, "/join", raw: Self.form(application + [("csrf", csrf)]), cookie: "shequ_csrf=\(csrf)", contentType: formType)
            #expect(joined.status == .seeOther && joined.headers[.location] == "/app/waiting")
            let sessionCookie = try #require(joined.headers[.setCookie])
            #expect(sessionCookie.hasPrefix("shequ_session=") && sessionCookie.contains("HttpOnly") && sessionCookie.contains("SameSite=Lax"))
            let session = try #require(sessionCookie.split(separator: ";").first.map(String.init))
            let cookies = "\(session); shequ_csrf=\(csrf)"
            #expect(try await api.call(.get, "/app", cookie: cookies).headers[.location] == "/app/waiting")
            #expect(try await api.call(.get, "/app/waiting", cookie: cookies).body.string?.contains("data-live=\"member:") == true)

            // The cadre approves; the app opens.
            let pending = try await api.call(.get, "/v1/committees/c1/members?status=pending", token: cadre)
            let member = try #require(pending["items"].list?.first?["id"].string)
            #expect(try await api.call(.post, "/v1/committees/c1/members/\(member)/approve", token: cadre).status == .ok)
            #expect(try await api.call(.get, "/app/waiting", cookie: cookies).headers[.location] == "/app")
            let home = try await api.call(.get, "/app", cookie: cookies)
            #expect(home.status == .ok && home.body.string?.contains("/app/boards/around-me") == true)

            // A hostile title is shown as text; the same form sent twice (one idempotencyKey) is one post.
            let hostile = "<img src=x onerror=alert(1)>"
            let post = Self.form([("title", hostile), ("body", "<script>alert(2)</script>"), ("csrf", csrf), ("idempotencyKey", "form-1")])
            let created = try await api.call(.post, "/app/boards/around-me/posts", raw: post, cookie: cookies, contentType: formType)
            let again = try await api.call(.post, "/app/boards/around-me/posts", raw: post, cookie: cookies, contentType: formType)
            let location = try #require(created.headers[.location])
            #expect(created.status == .seeOther && location.hasPrefix("/app/posts/") && again.headers[.location] == location)
            let page = try #require(try await api.call(.get, location, cookie: cookies).body.string)
            #expect(page.contains("&lt;img src=x onerror=alert(1)&gt;") && !page.contains("<img") && !page.contains("<script>alert"))
            let listed = try await api.call(.get, "/v1/committees/c1/boards/around-me/posts", token: cadre)
            #expect(listed["items"].list?.count == 1)

            // The session cookie opens the app, never the JSON API's writes.
            let viaCookie = try await api.call(.post, "/v1/committees/c1/boards/around-me/posts", json: .object(["title": "x", "body": "y"]), cookie: cookies)
            #expect(viaCookie.status == .unauthorized)

            // English, kept per member.
            #expect(home.body.string?.contains("版块") == true)
            let switched = try await api.call(.post, "/app/me/language", raw: Self.form([("language", "en"), ("csrf", csrf)]), cookie: cookies, contentType: formType)
            #expect(switched.status == .seeOther)
            #expect(try await api.call(.get, "/app", cookie: cookies).body.string?.contains("Boards") == true)
            #expect(try await node.store.language(member: member) == "en")

            // Signing out ends the session.
            #expect(try await api.call(.post, "/app/sign-out", raw: Self.form([("csrf", csrf)]), cookie: cookies, contentType: formType).status == .seeOther)
            #expect(try await api.call(.get, "/app", cookie: cookies).headers[.location] == "/app/sign-in")
            try node.expectIntegrity()
        }
    }
}
