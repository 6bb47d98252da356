import Foundation
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import Storage
import Testing

/// A restored node serves reads but refuses writes with 503 `recovering` (and Retry-After) until recovery ends, and
/// says so in /healthz; nothing is written under its origin meanwhile.
@Suite struct RecoveryTests {
    @Test func aRecoveringNodeServesReadsAndRefusesWritesUntilItHasItsChangesBack() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let app = Application(router: node.server.router())
        try await app.test(.router) { client in
            let api = API(client: client)
            let (_, resident) = try await api.joinAndApprove("c1", code: code, cadre: cadre)
            let post = try await api.call(.post, "/v1/committees/c1/boards/around-me/posts", token: resident, json: .object(["title": "a", "body": "b"]))
            let logged = try node.store.readNow { try $0.highestSequence(of: "street.test") }

            try node.store.beginRecovery()
            #expect(try await api.call(.get, "/healthz")["status"] == "recovering")
            #expect(try await api.call(.get, "/v1/posts/\(post["id"].string!)", token: resident).status == .ok)
            let refused = try await api.call(.post, "/v1/committees/c1/boards/around-me/posts", token: resident, json: .object(["title": "c", "body": "d"]))
            #expect(refused.status == .serviceUnavailable && refused["error"]["code"] == "recovering")
            #expect(refused.headers[.retryAfter] == "5")
            #expect(try await api.call(.put, "/v1/posts/\(post["id"].string!)/like", token: cadre).status == .serviceUnavailable)
            #expect(try node.store.readNow { try $0.highestSequence(of: "street.test") } == logged, "nothing written meanwhile")

            // Recovery survives a restart of the process (it is kept in the database), and ends by itself.
            #expect(try Store(path: node.directory + "/node.sqlite", nodeID: "street.test").isRecovering)
            try node.store.finishRecovery()
            let health = try await api.call(.get, "/healthz")
            #expect(health["status"] == "ok" && health["version"] == .string(Release.version))
            #expect(health["wire"].object?["newest"] == .int(Int64(Release.wireVersion)))
            #expect(try await api.call(.post, "/v1/committees/c1/boards/around-me/posts", token: resident, json: .object(["title": "c", "body": "d"])).status == .created)
        }
    }
}
