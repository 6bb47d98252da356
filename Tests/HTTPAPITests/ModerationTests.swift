import Foundation
import Governance
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import ShequTestSupport
import Storage
import Testing

/// Moderation: flags, hiding (staff still see it, with the reason), locked threads, suspensions, and the audit list —
/// on the street, and on a replica that applied the street's changes.
@Suite struct ModerationTests {
    @Test func flagsHideLockSuspendAndEveryActInTheAuditList() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let officer = try node.staffToken(role: .streetOfficer, unit: "s1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (aliceID, alice) = try await api.joinAndApprove("c1", code: code, cadre: cadre, name: "王小明", room: "101")
            let (_, bob) = try await api.joinAndApprove("c1", code: code, cadre: cadre, name: "李四", room: "202")
            let board = "/v1/committees/c1/boards/around-me/posts"
            let post = try #require(try await api.call(.post, board, token: alice, json: .object(["title": "卖保健品", "body": "加微信购买"]))["id"].string)
            let comment = try #require(try await api.call(.post, "/v1/posts/\(post)/comments", token: alice, json: .object(["body": "便宜卖"]))["id"].string)

            // Bob flags both; Alice may not flag her own words; a flag needs a reason.
            #expect(try await api.call(.put, "/v1/posts/\(post)/flag", token: bob, json: .object(["reason": "广告"])).status == .noContent)
            #expect(try await api.call(.put, "/v1/comments/\(comment)/flag", token: bob, json: .object(["reason": "广告"])).status == .noContent)
            #expect(try await api.call(.put, "/v1/posts/\(post)/flag", token: alice, json: .object(["reason": "x"])).status == .unprocessableContent)
            #expect(try await api.call(.put, "/v1/posts/\(post)/flag", token: bob, json: .object([:])).status == .unprocessableContent)
            var flags = try await api.call(.get, "/v1/committees/c1/flags", token: cadre)["items"].list ?? []
            #expect(Set(flags.compactMap { $0["entity"].string }) == [post, comment])
            #expect(try await api.call(.get, "/v1/committees/c1/flags", token: bob).status == .forbidden)

            // The cadre hides the post: residents no longer see it (list, page, search); staff do, with the reason.
            #expect(try await api.call(.put, "/v1/posts/\(post)/hidden", token: alice, json: .object(["reason": "x"])).status == .forbidden)
            #expect(try await api.call(.put, "/v1/posts/\(post)/hidden", token: cadre, json: .object(["reason": "商业广告"])).status == .noContent)
            #expect(try await api.call(.get, "/v1/posts/\(post)", token: bob).status == .notFound)
            #expect(try await api.call(.get, board, token: bob)["items"].list?.isEmpty == true)
            #expect(try await api.call(.get, "/v1/committees/c1/search?q=" + "保健品".addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!, token: bob)["items"].list?.isEmpty == true)
            let seen = try await api.call(.get, "/v1/posts/\(post)", token: cadre)
            #expect(seen["hidden"]["reason"] == "商业广告" && seen["flags"] == .int(1))
            flags = try await api.call(.get, "/v1/committees/c1/flags", token: cadre)["items"].list ?? []
            #expect(flags.compactMap { $0["entity"].string } == [comment], "a hidden post leaves the flag queue")
            // Shown again, then the comment hidden alone.
            #expect(try await api.call(.delete, "/v1/posts/\(post)/hidden", token: cadre).status == .noContent)
            #expect(try await api.call(.put, "/v1/comments/\(comment)/hidden", token: officer, json: .object(["reason": "广告"])).status == .noContent)
            let thread = try await api.call(.get, "/v1/posts/\(post)", token: bob)
            #expect(thread.status == .ok && thread["comments"].list?.isEmpty == true)

            // A locked thread takes comments from staff only.
            #expect(try await api.call(.put, "/v1/posts/\(post)/lock", token: cadre)["locked"] == .bool(true))
            let refused = try await api.call(.post, "/v1/posts/\(post)/comments", token: bob, json: .object(["body": "还卖吗"]))
            #expect(refused.status == .conflict && refused["error"]["code"] == "thread_locked")
            #expect(try await api.call(.post, "/v1/posts/\(post)/comments", token: cadre, json: .object(["body": "本帖已锁定"])).status == .created)
            #expect(try await api.call(.delete, "/v1/posts/\(post)/lock", token: cadre)["locked"] == .bool(false))

            // Alice is suspended for a week: she may not post or comment; lifted, she may.
            let until = Time.format(Int64(node.clock.millis) + 7 * 86_400_000)
            #expect(try await api.call(.put, "/v1/committees/c1/members/\(aliceID)/suspension", token: bob,
                                       json: .object(["until": .string(until), "reason": "广告"])).status == .forbidden)
            #expect(try await api.call(.put, "/v1/committees/c1/members/\(aliceID)/suspension", token: cadre,
                                       json: .object(["until": .string(until), "reason": "多次发广告"]))["suspendedUntil"].string == until)
            #expect(try await api.call(.post, board, token: alice, json: .object(["title": "再卖", "body": "..."])).status == .forbidden)
            #expect(try await api.call(.post, "/v1/posts/\(post)/comments", token: alice, json: .object(["body": "..."])).status == .forbidden)
            #expect(try await api.call(.delete, "/v1/committees/c1/members/\(aliceID)/suspension", token: cadre).status == .ok)
            #expect(try await api.call(.post, "/v1/posts/\(post)/comments", token: alice, json: .object(["body": "知道了"])).status == .created)

            // The audit list, newest first: for the cadre, the street officer; not for residents.
            let acts = try await api.call(.get, "/v1/moderation", token: officer)["items"].list ?? []
            #expect(acts.compactMap { $0["action"].string } == ["lift", "suspend", "unlock", "lock", "hide", "show", "hide"])
            #expect(acts.last?["reason"] == "商业广告" && acts.last?["entity"].string == post)
            #expect(try await api.call(.get, "/v1/moderation", token: cadre)["items"].list?.count == 7)
            #expect(try await api.call(.get, "/v1/moderation", token: bob).status == .forbidden)
        }

        // A replica (the district) that applied the street's changes holds the same: hidden comment, the audit list.
        let district = try Store(path: nil, nodeID: "district.d1", wallMillis: { node.clock.millis })
        let changes = try node.store.readNow { try $0.changes(origin: "street.test", afterSeq: 0, limit: 100_000) }
        _ = try district.writeNow { tx in try tx.applyRemote(changes) }
        let (streetActs, districtActs) = try (node.store.readNow { try $0.moderationActs(scope: .city, beforeMillis: nil, limit: 100) },
                                              district.readNow { try $0.moderationActs(scope: .city, beforeMillis: nil, limit: 100) })
        #expect(districtActs.count == 7 && districtActs == streetActs)
        let hiddenComments = try district.readNow { view in
            try view.records(where: "kind = 'comment'", [], limit: 100).filter(HiddenMark.isHidden).count
        }
        #expect(hiddenComments == 1)
    }
}
