import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import ShequTestSupport
import Testing

/// Schemathesis, from docs/openapi.yaml, against a live node that holds one of everything, as a cadre of its committee.
@Suite struct SchemathesisTests {
    @Test func generatedRequestsFindNoServerErrorAndNoAnswerOutsideTheSchema() async throws {
        let node = try TestNode(start: UInt64(Date().timeIntervalSince1970 * 1000))
        let (code, _, cadre) = try node.committee("c1", street: "s1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (_, resident) = try await api.joinAndApprove("c1", code: code, cadre: cadre)
            let joined = try await api.call(.post, "/v1/committees/c1/join", json: .object([
                "joinCode": .string(code), "realName": "李四", "phone": "13900000000", "building": "3号楼", "room": "202",
                "birthYear": .int(1990),
            ]))
            let pending = try #require(joined["memberId"].string, "\(joined)")
            let post = try await api.call(.post, "/v1/committees/c1/boards/around-me/posts", token: resident, json: .object([
                "title": "楼道灯坏了", "body": "三楼楼道灯不亮", "category": "facilities",
            ]))["id"].string!
            let poll = try await api.call(.post, "/v1/committees/c1/polls", token: cadre, json: .object([
                "title": "加装电梯意见征询", "kind": "consultation", "options": .strings(["同意", "不同意"]), "maxChoices": .int(1),
                "closesAt": "2030-12-30T18:00:00+08:00",
            ]))["id"].string!
            let ticket = try await api.call(.post, "/v1/committees/c1/tickets", token: resident, json: .object([
                "category": "facilities", "title": "路灯不亮", "description": "东门路灯坏了一周",
            ]))["id"].string!
            let topic = try await api.call(.post, "/v1/committees/c1/topics", token: resident, json: .object([
                "title": "文明养犬", "description": "遛狗不牵绳的问题", "category": "neighbours",
            ]))["id"].string!
            let campaign = try await api.call(.post, "/v1/committees/c1/campaigns", token: cadre, json: .object([
                "title": "周末清洁", "capacity": .int(20),
            ]))["id"].string!
            let queue = try await api.call(.post, "/v1/committees/c1/queues", token: cadre, json: .object([
                "title": "口罩预约", "slots": .list([.object(["label": "上午", "capacity": .int(25)])]),
            ]))["id"].string!
            let comment = try await api.call(.post, "/v1/posts/\(post)/comments", token: resident, json: .object(["body": "我家门口也是"]))["id"].string!
            for id in [pending, post, poll, ticket, topic, campaign, queue, comment] { #expect(id.count > 3) }

            let port = try #require(client.port)
            let config = """
            base-url = "http://127.0.0.1:\(port)"
            headers = { Authorization = "Bearer \(cadre)" }
            [generation]
            max-examples = 15
            [[operations]]
            include-path-regex = "^/v1/cluster/"
            enabled = false
            [[operations]]
            include-path-regex = "^/v1/me/events$"
            enabled = false
            [[operations]]
            include-path-regex = "^/app|^/join"
            enabled = false
            [parameters]
            cid = "c1"
            pid = "\(post)"
            mid = "\(pending)"
            code = "facilities"
            \(Schemathesis.operation("^/v1/polls/|^/v1/rollups/polls/", id: poll))
            \(Schemathesis.operation("^/v1/tickets/|^/open311/v2/requests/", id: ticket))
            \(Schemathesis.operation("^/v1/topics/", id: topic))
            \(Schemathesis.operation("^/v1/campaigns/", id: campaign))
            \(Schemathesis.operation("^/v1/queues/", id: queue))
            \(Schemathesis.operation("^/v1/comments/", id: comment))
            """
            let (status, report) = try await offPool { try Schemathesis.run(config: config, in: node.directory) }
            #expect(status == 0, "schemathesis found failures:\n\(report)")
            // Every operation but the four cluster ones, which need a replication service (FederationTests runs them), and
            // the event stream, which never ends by itself (EventStreamTests runs it), and the residents' app's pages, whose forms
            // need the CSRF cookie (ResidentAppTests drives them, with and without a browser).
            #expect(Schemathesis.tested(report) == 99, "\(report)")
            try node.expectIntegrity()
        }
    }
}
