import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Replication
import ShequTestSupport
import Testing

extension MultiProcess {
    /// The cadre's desk in the app, on a phone in headless Chromium, at a street of a real federation: approve a member,
    /// acknowledge and escalate a ticket, answer an @, call a queue number, hide a flagged post — and the post is hidden at
    /// the district and the city too.
    @Suite(.serialized) struct CadreDeskTests {
        @Test(.timeLimit(.minutes(4)))
        func aCadreWorksTheDeskAndAHiddenPostIsHiddenAtTheDistrictAndTheCity() async throws {
            let federation = try await TestFederation.start(districts: 1, streets: [1])
            defer { federation.stop() }
            let (street, district, city, x) = (federation.street, federation.district, federation.city, federation.committee)
            let cadreID = try #require(try await federation.call(street, "GET", "/v1/me", token: federation.cadre)["id"] as? String)

            // Alice waits for approval; Bob is in: he @s the cadre, reports a problem and books a number; Carol flags his advert.
            let code = try await federation.call(street, "GET", "/v1/committees/\(x)/join-code", token: federation.cadre)["joinCode"] as! String
            let joined = try await federation.call(street, "POST", "/v1/committees/\(x)/join", token: nil, json: [
                "joinCode": code, "realName": "钱小红", "phone": "13900001111", "building": "7号楼", "room": "502",
            ])
            let alice = try #require(joined["memberId"] as? String), aliceToken = try #require(joined["token"] as? String)
            let (_, bob) = try await NotificationDeliveryTests.resident(federation, name: "孙大伟", room: "101")
            let (_, carol) = try await NotificationDeliveryTests.resident(federation, name: "李芳", room: "102")
            let mention = try #require(try await federation.call(street, "POST", "/v1/committees/\(x)/boards/around-me/posts", token: bob, json: [
                "title": "电梯什么时候修好", "body": "停了三天了", "mentions": [cadreID],
            ])["id"] as? String)
            let advert = try #require(try await federation.call(street, "POST", "/v1/committees/\(x)/boards/neighbours/posts", token: bob, json: [
                "title": "低价出售保健品", "body": "加微信",
            ])["id"] as? String)
            _ = try await federation.request(street, "PUT", "/v1/posts/\(advert)/flag", token: carol, json: ["reason": "广告"])
            let ticket = try #require(try await federation.call(street, "POST", "/v1/committees/\(x)/tickets", token: bob, json: [
                "category": "facilities", "title": "电梯停运", "description": "3号楼",
            ])["id"] as? String)
            let queue = try #require(try await federation.call(street, "POST", "/v1/committees/\(x)/queues", token: federation.cadre, json: [
                "title": "居住证办理", "slots": [["label": "周三上午", "capacity": 20]],
            ])["id"] as? String)
            _ = try await federation.call(street, "POST", "/v1/queues/\(queue)/book", token: bob)

            // The cadre signs in on a phone with a one-time code from the street office.
            let signIn = try #require(try await federation.call(street, "POST", "/v1/committees/\(x)/members/\(cadreID)/sign-in-code",
                                                                token: federation.streetOfficer)["code"] as? String)
            guard let browser = try await Browser.start(phone: (width: 390, height: 844)) else {
                Issue.record("chromedriver is not installed (make deps installs chromium and chromium-driver)")
                return
            }
            defer { Task { await browser.close() } }
            func desk() async throws {
                try await browser.open("\(street.http)/app/work")
                #expect(try await browser.waitUntil("return document.getElementById('tickets') !== null"))
            }
            /// Clicks, then waits for the next page to have loaded (the form's answer is a redirect to a page).
            func click(_ selector: String) async throws {
                _ = try await browser.run("window.__previous = true; document.querySelector('\(selector)').click(); return true")
                #expect(try await browser.waitUntil("return window.__previous === undefined && document.readyState === 'complete'"), "after clicking \(selector)")
            }
            try await browser.open("\(street.http)/app/sign-in?code=\(signIn)")
            try await click("form[action=\"/app/sign-in\"] button")
            #expect(try await browser.run("return location.pathname") == "/app")

            // Approve Alice, with her building and room in view.
            try await desk()
            #expect(try await browser.run("return document.getElementById('members').textContent.includes('7号楼')") == .bool(true))
            try await browser.keepScreenshot("desk")
            try await click("[data-approve=\"\(alice)\"]")
            try await federation.eventually("Alice approved") {
                (try await federation.call(street, "GET", "/v1/me", token: aliceToken)["status"] as? String) == "approved"
            }

            // Acknowledge Bob's ticket, then escalate it to the street grid centre.
            try await desk()
            try await click("[data-acknowledge=\"\(ticket)\"]")
            #expect(try await browser.run("return document.querySelector('[data-acknowledge=\"\(ticket)\"]') === null") == .bool(true))
            try await click("[data-escalate=\"\(ticket)\"]")
            try await federation.eventually("the ticket at the street grid centre") {
                // (The cadre's bearer token ended when the code signed them in: the street officer reads.)
                let t = try await federation.call(street, "GET", "/v1/tickets/\(ticket)", token: federation.streetOfficer)
                return t["stage"] as? String == "acknowledged" && t["level"] as? String == "street"
            }

            // Answer the @: the mention leaves the list once answered on its thread.
            try await desk()
            try await click("[data-mention=\"\(mention)\"]")
            #expect(try await browser.waitUntil("return location.pathname === '/app/posts/\(mention)'"))
            _ = try await browser.run("document.querySelector('textarea[name=body]').value = '已联系电梯公司，明天修好'; return true")
            try await click("form[action$=\"/comments\"] button[type=submit]")
            #expect(try await browser.waitUntil("return document.body.textContent.includes('已联系电梯公司')"))
            try await desk()
            #expect(try await browser.run("return document.querySelector('[data-mention=\"\(mention)\"]') === null") == .bool(true))

            // Call the next number: Bob's, and he is told.
            try await click("[data-call=\"\(queue)\"]")
            #expect(try await browser.run("return document.getElementById('called-1') !== null") == .bool(true))
            let told = try await federation.call(street, "GET", "/v1/me/notifications", token: bob)["items"] as? [[String: Any]] ?? []
            #expect(told.contains { $0["reason"] as? String == "queue" && $0["detail"] as? String == "called" })

            // Hide the flagged advert with a reason: gone for residents, hidden with its reason at the district and the city.
            _ = try await browser.run("document.getElementById('reason-\(advert)').value = '商业广告'; return true")
            try await click("[data-hide=\"\(advert)\"]")
            try await federation.eventually("the advert hidden at the street") {
                try await federation.status(street, "/v1/posts/\(advert)", token: carol) == 404
            }
            for node in [district, city] {
                try await federation.eventually("the advert hidden at \(node.id)") {
                    let post = try await federation.call(node, "GET", "/v1/posts/\(advert)", token: federation.token(for: node))
                    return (post["hidden"] as? [String: Any])?["reason"] as? String == "商业广告"
                }
                let acts = try await federation.call(node, "GET", "/v1/moderation", token: federation.token(for: node))["items"] as? [[String: Any]] ?? []
                #expect(acts.contains { $0["action"] as? String == "hide" && $0["entity"] as? String == advert }, "\(node.id)'s audit list")
            }

            // The cadre's inbox has the @ and the flag-free desk, at 1366×768 too.
            try await browser.open("\(street.http)/app/inbox")
            #expect(try await browser.run("return document.getElementById('notifications').textContent.includes('电梯什么时候修好')") == .bool(true))
            try await browser.keepScreenshot("inbox")
        }
    }
}
