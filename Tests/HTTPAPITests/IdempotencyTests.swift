import Foundation
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import Testing

/// A write sent twice with one `Idempotency-Key` — a phone that lost the answer, an offline draft sent again — is one
/// write, answered alike both times.
@Suite struct IdempotencyTests {
    @Test func theSameKeyIsTheSameWriteAndAnotherRequestUnderItIsRefused() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (_, alice) = try await api.joinAndApprove("c1", code: code, cadre: cadre)
            let (_, bob) = try await api.joinAndApprove("c1", code: code, cadre: cadre, name: "李四", room: "202")
            let posts = "/v1/committees/c1/boards/around-me/posts"
            let key: HTTPFields = [IdempotencyMiddleware.header: "draft-7f3a"]
            let post: Value = .object(["title": "楼道灯坏了", "body": "三楼"])

            let first = try await api.call(.post, posts, token: alice, json: post, headers: key)
            let again = try await api.call(.post, posts, token: alice, json: post, headers: key)
            #expect(first.status == .created && again.status == .created)
            #expect(first["id"] == again["id"] && first.body == again.body, "the repeat gets the first answer")
            #expect(first.headers[IdempotencyMiddleware.replayed] == nil && again.headers[IdempotencyMiddleware.replayed] == "true")
            let listed = try await api.call(.get, posts, token: alice)
            #expect(listed["items"].list?.count == 1, "one post, not two: \(listed.body)")

            // The same key with another body is the client's mistake; another member's key is their own.
            let other = try await api.call(.post, posts, token: alice, json: .object(["title": "别的", "body": "x"]), headers: key)
            #expect(other.status == .unprocessableContent && other["error"]["code"] == "idempotency_key_reused")
            let bobs = try await api.call(.post, posts, token: bob, json: post, headers: key)
            #expect(bobs.status == .created && bobs["id"] != first["id"] && bobs.headers[IdempotencyMiddleware.replayed] == nil)

            // A refusal is an answer too: kept and replayed, not run again.
            let bad: Value = .object(["title": "", "body": "x"])
            let refused = try await api.call(.post, posts, token: alice, json: bad, headers: [IdempotencyMiddleware.header: "bad-1"])
            let refusedAgain = try await api.call(.post, posts, token: alice, json: bad, headers: [IdempotencyMiddleware.header: "bad-1"])
            #expect(refused.status == .unprocessableContent && refusedAgain.status == .unprocessableContent)
            #expect(refusedAgain.headers[IdempotencyMiddleware.replayed] == "true")

            // Ten copies at once: exactly one post; each copy is the first answer, a replay or "in progress, retry".
            let burst: HTTPFields = [IdempotencyMiddleware.header: "burst-1"]
            let burstPost: Value = .object(["title": "一起发", "body": "十次"])
            let replies = try await withThrowingTaskGroup(of: API.Reply.self) { group in
                for _ in 0..<10 { group.addTask { try await api.call(.post, posts, token: alice, json: burstPost, headers: burst) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(replies.allSatisfy { $0.status == .created || ($0.status == .conflict && $0["error"]["code"] == "idempotency_in_progress") })
            let made = Set(replies.compactMap { $0.status == .created ? $0["id"].string : nil })
            #expect(made.count == 1, "\(made)")
            let titled = try await api.call(.get, posts, token: alice)["items"].list?.filter { $0["title"] == "一起发" }.count
            #expect(titled == 1)

            // Keys are bounded and visible ASCII; reads ignore them.
            let long = try await api.call(.post, posts, token: alice, json: post, headers: [IdempotencyMiddleware.header: String(repeating: "k", count: 256)])
            #expect(long.status == .badRequest && long["error"]["code"] == "invalid_idempotency_key")
            #expect(try await api.call(.get, posts, token: alice, headers: key).status == .ok)

            // Kept for a day, then the key is free again.
            node.advance(hours: 25)
            let later = try await api.call(.post, posts, token: alice, json: post, headers: key)
            #expect(later.status == .created && later["id"] != first["id"])
            try node.expectIntegrity()
        }
    }
}
