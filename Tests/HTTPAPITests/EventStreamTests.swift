import Foundation
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import ShequTestSupport
import Testing

/// `GET /v1/me/events`: a member's open page hears, within a second, of what changed that they may see, and of nothing
/// else; a reconnect with `Last-Event-ID` loses nothing.
@Suite struct EventStreamTests {
    @Test func aMemberHearsOfTheirApprovalTheirTicketAndTheirBoardButNotOfOthersTickets() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let (otherCode, _, otherCadre) = try node.committee("c2")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let port = try #require(client.port)
            func stream(_ token: String, lastEventID: String? = nil) async throws -> EventStreamClient {
                var headers = [("Authorization", "Bearer \(token)")]
                if let lastEventID { headers.append(("Last-Event-ID", lastEventID)) }
                return try await EventStreamClient.connect(port: port, path: "/v1/me/events", headers: headers)
            }
            func data(_ event: EventStreamClient.Event?) -> Value { (try? Value(json: event?.data ?? "null")) ?? .null }

            // A pending resident hears of their own approval.
            let joined = try await api.call(.post, "/v1/committees/c1/join", json: .object([
                "joinCode": .string(code), "realName": "王小明", "phone": "13812345678", "building": "12号楼", "room": "101", "birthYear": .int(1980),
            ]))
            let alice = try #require(joined["token"].string), aliceID = try #require(joined["memberId"].string)
            let aliceStream = try await stream(alice)
            #expect(aliceStream.status == 200)
            #expect(try await api.call(.post, "/v1/committees/c1/members/\(aliceID)/approve", token: cadre).status == .ok)
            let approval = await aliceStream.first(within: .seconds(1)) { data($0)["kind"] == "member" }
            #expect(data(approval)["entity"].string == aliceID, "approval within a second: \(String(describing: approval))")

            // Bob, in the same committee, and Carol, in another, listen too.
            let (_, bob) = try await api.joinAndApprove("c1", code: code, cadre: cadre, name: "李四", room: "202")
            let bobStream = try await stream(bob)
            let (_, carolToken) = try await api.joinAndApprove("c2", code: otherCode, cadre: otherCadre, name: "赵六", room: "9")
            let carolStream = try await stream(carolToken)

            let ticket = try #require(try await api.call(.post, "/v1/committees/c1/tickets", token: alice, json: .object([
                "category": "facilities", "title": "路灯不亮", "description": "东门",
            ]))["id"].string)
            #expect(try await api.call(.post, "/v1/tickets/\(ticket)/events", token: cadre, json: .object(["type": "acknowledge", "note": "明早修"])).status == .created)
            let acknowledged = await aliceStream.first(within: .seconds(1)) { data($0)["kind"] == "ticket_event" }
            #expect(data(acknowledged)["parent"].string == ticket, "the reporter hears of the cadre's answer")
            let ackID = try #require(acknowledged?.id)

            // A post on the board: Bob hears of it; the ticket he never heard of; Carol, of neither.
            let post = try #require(try await api.call(.post, "/v1/committees/c1/boards/around-me/posts", token: alice,
                                                        json: .object(["title": "周末义诊", "body": "活动室"]))["id"].string)
            var bobHeard: [Value] = []
            while let event = await bobStream.next(within: .milliseconds(700)) { bobHeard.append(data(event)) }
            #expect(bobHeard.contains { $0["kind"] == "post" && $0["entity"].string == post })
            #expect(!bobHeard.contains { $0["kind"] == "ticket" || $0["kind"] == "ticket_event" }, "another resident's ticket: \(bobHeard)")
            #expect(await carolStream.next(within: .milliseconds(300)) == nil, "another committee hears nothing")

            // Alice goes away; the cadre resolves the ticket meanwhile; back with her last id, she gets what she missed.
            await aliceStream.close()
            #expect(try await api.call(.post, "/v1/tickets/\(ticket)/events", token: cadre, json: .object(["type": "resolve", "note": "已修好"])).status == .created)
            let back = try await stream(alice, lastEventID: ackID)
            let missed = await back.first(within: .seconds(1)) { data($0)["kind"] == "ticket_event" }
            #expect(data(missed)["parent"].string == ticket && missed?.id != ackID, "the resolution, missed while away")
            // An id from before a restart (or not this node's) cannot be resumed: the page is told to reload.
            let stale = try await stream(alice, lastEventID: "zzzz-3")
            #expect(await stale.next(within: .seconds(1))?.name == "reset")

            // Streams per member are bounded; without a token there is none.
            var extra: [EventStreamClient] = []
            for _ in 0..<(APIServer.maxStreamsPerMember - 1) { extra.append(try await stream(bob)) }
            let refused = try await stream(bob)
            #expect(extra.allSatisfy { $0.status == 200 } && refused.status == 429)
            #expect(try await EventStreamClient.connect(port: port, path: "/v1/me/events", headers: []).status == 401)
            for open in extra + [refused, back, stale, bobStream, carolStream] { await open.close() }
        }
    }
}
