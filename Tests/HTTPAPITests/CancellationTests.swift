import Foundation
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import Testing

/// A volunteer who cannot come cancels and the waiting list moves up; a booked number cancelled is never handed out
/// again; only the member or a cadre cancels.
@Suite struct CancellationTests {
    @Test func aCancelledSignupLetsTheWaitingListMoveUpAndACancelledNumberIsNeverReused() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (alice, aliceToken) = try await api.joinAndApprove("c1", code: code, cadre: cadre, name: "王小明", room: "101")
            let (_, bob) = try await api.joinAndApprove("c1", code: code, cadre: cadre, name: "李四", room: "102")
            let (_, carol) = try await api.joinAndApprove("c1", code: code, cadre: cadre, name: "赵六", room: "103")

            let campaign = try #require(try await api.call(.post, "/v1/committees/c1/campaigns", token: cadre, json: .object([
                "title": "周末清扫楼道", "description": "", "capacity": .int(1),
            ]))["id"].string)
            let signup = "/v1/campaigns/\(campaign)/signup"
            #expect(try await api.call(.post, signup, token: aliceToken)["status"] == "confirmed")
            #expect(try await api.call(.post, signup, token: bob)["status"] == "waitlisted")
            #expect(try await api.call(.delete, signup, token: carol).status == .notFound, "nothing to cancel")
            #expect(try await api.call(.delete, signup, token: aliceToken).status == .noContent)
            let moved = try await api.call(.post, signup, token: bob)
            #expect(moved["status"] == "confirmed" && moved["position"] == .int(1), "bob moved up: \(moved.body)")
            let back = try await api.call(.post, signup, token: aliceToken)
            #expect(back["status"] == "waitlisted" && back["position"] == .int(2), "signing up again goes to the back: \(back.body)")
            #expect(try await api.call(.get, "/v1/campaigns/\(campaign)", token: cadre)["signups"] == .int(2))

            let queue = try #require(try await api.call(.post, "/v1/committees/c1/queues", token: cadre, json: .object([
                "title": "口罩预约", "slots": .list([.object(["label": "上午", "capacity": .int(25)])]),
            ]))["id"].string)
            let book = "/v1/queues/\(queue)/book"
            #expect(try await api.call(.post, book, token: aliceToken)["number"] == .int(1))
            #expect(try await api.call(.post, book, token: bob)["number"] == .int(2))
            #expect(try await api.call(.delete, book + "?member=\(alice)", token: bob).status == .forbidden, "not bob's to cancel")
            #expect(try await api.call(.delete, book, token: aliceToken).status == .noContent)
            #expect(try await api.call(.post, book, token: carol)["number"] == .int(3), "number 1 is not handed out again")
            #expect(try await api.call(.post, book, token: aliceToken)["number"] == .int(4))
            #expect(try await api.call(.get, "/v1/queues/\(queue)", token: aliceToken)["myBooking"]["number"] == .int(4))
            // A cadre cleans up the list.
            #expect(try await api.call(.delete, book + "?member=\(alice)", token: cadre).status == .noContent)
            #expect(try await api.call(.get, "/v1/queues/\(queue)", token: aliceToken)["myBooking"] == .null)
            try node.expectIntegrity()
        }
    }
}
