import Foundation
import Governance
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import Testing

/// The authorization matrix over real HTTP: for each request, everyone who must be refused is refused with the right
/// status before the one who may do it does it (so a refusal is never hidden by an earlier success).
@Suite struct AuthorizationOverHTTPTests {
    enum Who: String, CaseIterable, CustomStringConvertible {
        case anonymous, pendingA, residentA, neighbourA, cadreA, secretaryA, streetOfficer, residentB, cadreB
        var description: String { rawValue }
    }

    struct Rule {
        let method: HTTPRequest.Method
        let path: String
        var body: Value? = nil
        /// Who is refused, and with which status.
        let refused: [Who: HTTPResponse.Status]
        /// Who may; each one is tried after every refusal (a mutation lists only one).
        let allowed: [Who]
    }

    @Test func everyRoleIsHeldToItsRightsAndNobodyReadsASecretBallot() async throws {
        let node = try TestNode(start: UInt64(Date().timeIntervalSince1970 * 1000))
        let (codeA, secretaryA, cadreA) = try node.committee("c-a", street: "s1")
        let (codeB, _, cadreB) = try node.committee("c-b", street: "s1")
        let streetOfficer = try node.staffToken(role: .streetOfficer, unit: "s1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (residentAID, residentA) = try await api.joinAndApprove("c-a", code: codeA, cadre: cadreA, name: "王小明", room: "101")
            let (neighbourAID, neighbourA) = try await api.joinAndApprove("c-a", code: codeA, cadre: cadreA, name: "李华", room: "102")
            let (_, residentB) = try await api.joinAndApprove("c-b", code: codeB, cadre: cadreB, name: "张三", room: "201")
            func join(_ room: String) async throws -> (id: String, token: String) {
                let joined = try await api.call(.post, "/v1/committees/c-a/join", json: .object([
                    "joinCode": .string(codeA), "realName": "赵六", "phone": "13700000000", "building": "5号楼", "room": .string(room),
                    "birthYear": .int(1975),
                ]))
                return (try #require(joined["memberId"].string), try #require(joined["token"].string))
            }
            let pending = try await join("501"), toApprove = try await join("502"), toReject = try await join("503")
            let tokens: [Who: String?] = [
                .anonymous: nil, .pendingA: pending.token, .residentA: residentA, .neighbourA: neighbourA, .cadreA: cadreA,
                .secretaryA: secretaryA, .streetOfficer: streetOfficer, .residentB: residentB, .cadreB: cadreB,
            ]
            func create(_ path: String, _ token: String, _ body: Value) async throws -> String {
                let reply = try await api.call(.post, path, token: token, json: body)
                return try #require(reply["id"].string, "\(path): \(reply.status) \(reply.body)")
            }
            let post = try await create("/v1/committees/c-a/boards/around-me/posts", residentA, .object(["title": "楼道灯坏了", "body": "三楼"]))
            let doomed = try await create("/v1/committees/c-a/boards/around-me/posts", residentA, .object(["title": "闲置婴儿车", "body": "免费送"]))
            let ticket = try await create("/v1/committees/c-a/tickets", residentA, .object(["category": "facilities", "title": "路灯不亮", "description": "东门"]))
            let ticketB = try await create("/v1/committees/c-b/tickets", residentB, .object(["category": "environment", "title": "垃圾未清", "description": "北门"]))
            let closes = Value.string("2030-12-30T18:00:00+08:00")
            let poll = try await create("/v1/committees/c-a/polls", cadreA, .object([
                "title": "加装电梯", "kind": "consultation", "options": .strings(["同意", "不同意"]), "closesAt": closes,
            ]))
            let pollB = try await create("/v1/committees/c-b/polls", cadreB, .object([
                "title": "停车收费", "kind": "consultation", "options": .strings(["同意", "不同意"]), "closesAt": closes,
            ]))
            let secret = try await create("/v1/committees/c-a/polls", cadreA, .object([
                "title": "年终考核", "kind": "evaluation", "options": .strings(["满意", "不满意"]), "secret": .bool(true), "closesAt": closes,
            ]))
            let outsiders: [Who: HTTPResponse.Status] = [.anonymous: .unauthorized, .pendingA: .forbidden, .residentB: .forbidden, .cadreB: .forbidden]
            func with(_ base: [Who: HTTPResponse.Status], _ more: [Who: HTTPResponse.Status]) -> [Who: HTTPResponse.Status] {
                base.merging(more) { $1 }
            }
            let residentsRefused = with(outsiders, [.residentA: .forbidden, .neighbourA: .forbidden])
            // By id, what a member may not read does not exist for them: 404, so ids cannot be probed.
            let hidden: [Who: HTTPResponse.Status] = [.anonymous: .unauthorized, .pendingA: .notFound, .residentB: .notFound, .cadreB: .notFound]
            let rules: [Rule] = [
                // Reading a committee: its approved members and its staff; not a pending member, not another committee.
                Rule(method: .get, path: "/v1/committees/c-a/boards/around-me/posts", refused: outsiders,
                     allowed: [.residentA, .neighbourA, .cadreA, .secretaryA, .streetOfficer]),
                Rule(method: .get, path: "/v1/posts/\(post)", refused: hidden, allowed: [.neighbourA, .cadreA, .streetOfficer]),
                // A ticket is its reporter's and the staff's: not the neighbours'.
                Rule(method: .get, path: "/v1/tickets/\(ticketB)", refused: [.anonymous: .unauthorized, .residentA: .notFound, .cadreA: .notFound],
                     allowed: [.residentB, .cadreB, .streetOfficer]),
                Rule(method: .get, path: "/v1/polls/\(pollB)", refused: [.anonymous: .unauthorized, .residentA: .forbidden, .cadreA: .forbidden],
                     allowed: [.residentB]),
                // The staff's lists and codes.
                Rule(method: .get, path: "/v1/committees/c-a/members?status=pending", refused: residentsRefused,
                     allowed: [.cadreA, .secretaryA, .streetOfficer]),
                Rule(method: .get, path: "/v1/committees/c-a/join-code", refused: residentsRefused, allowed: [.cadreA]),
                Rule(method: .get, path: "/v1/rollups/tickets", refused: [.anonymous: .unauthorized, .residentA: .forbidden, .pendingA: .forbidden],
                     allowed: [.streetOfficer]),
                // Only staff approve or reject members, acknowledge and resolve tickets, open and close polls.
                Rule(method: .post, path: "/v1/committees/c-a/members/\(toApprove.id)/approve", refused: residentsRefused, allowed: [.cadreA]),
                Rule(method: .post, path: "/v1/committees/c-a/members/\(toReject.id)/reject", refused: residentsRefused, allowed: [.secretaryA]),
                Rule(method: .post, path: "/v1/tickets/\(ticket)/events", body: .object(["type": "acknowledge"]),
                     refused: with(hidden, [.residentA: .forbidden, .neighbourA: .notFound]), allowed: [.cadreA]),
                Rule(method: .post, path: "/v1/tickets/\(ticket)/events", body: .object(["type": "resolve", "note": "已修好"]),
                     refused: with(hidden, [.residentA: .forbidden, .neighbourA: .notFound]), allowed: [.streetOfficer]),
                Rule(method: .post, path: "/v1/committees/c-a/polls", body: .object([
                    "title": "x", "kind": "consultation", "options": .strings(["a", "b"]), "closesAt": closes,
                ]), refused: residentsRefused, allowed: [.cadreA]),
                Rule(method: .post, path: "/v1/polls/\(poll)/close", refused: residentsRefused, allowed: [.cadreA]),
                // Voting is for the poll's own committee.
                Rule(method: .put, path: "/v1/polls/\(pollB)/ballot", body: .object(["choices": .strings(["同意"])]),
                     refused: [.anonymous: .unauthorized, .residentA: .forbidden, .cadreA: .forbidden], allowed: [.residentB]),
                // Only the author edits a post (a cadre moderates by deleting, never by putting words in a resident's
                // mouth); the author or the committee's staff delete it.
                Rule(method: .patch, path: "/v1/posts/\(post)", body: .object(["body": "三楼东侧"]),
                     refused: with(hidden, [.neighbourA: .forbidden, .cadreA: .forbidden]), allowed: [.residentA]),
                Rule(method: .delete, path: "/v1/posts/\(doomed)", refused: with(hidden, [.neighbourA: .forbidden]), allowed: [.cadreA]),
            ]
            for rule in rules {
                for (who, status) in rule.refused.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                    let reply = try await api.call(rule.method, rule.path, token: tokens[who]!, json: rule.body)
                    #expect(reply.status == status, "\(rule.method) \(rule.path) as \(who): \(reply.status) \(reply.body)")
                    #expect(reply["error"]["code"].string != nil, "\(rule.method) \(rule.path) as \(who): an error body")
                }
                for who in rule.allowed {
                    let reply = try await api.call(rule.method, rule.path, token: tokens[who]!, json: rule.body)
                    #expect((200..<300).contains(reply.status.code), "\(rule.method) \(rule.path) as \(who): \(reply.status) \(reply.body)")
                }
            }
            // What the refusals left: the approved member is approved, the rejected one rejected, the post edited once.
            let members = try await api.call(.get, "/v1/committees/c-a/members", token: cadreA)
            let statuses = Dictionary(uniqueKeysWithValues: (members["items"].list ?? []).compactMap { m in
                m["id"].string.map { ($0, m["status"].string ?? "") }
            })
            #expect(statuses[toApprove.id] == "approved" && statuses[toReject.id] == "rejected" && statuses[pending.id] == "pending")
            #expect(try await api.call(.get, "/v1/posts/\(doomed)", token: cadreA).status == .notFound)

            // A secret ballot: nobody — not the voter, not the cadre — sees a choice or a count before the close, and
            // after it only the counts, never who chose what.
            try await api.call(.put, "/v1/polls/\(secret)/ballot", token: residentA, json: .object(["choices": .strings(["不满意"])]))
            try await api.call(.put, "/v1/polls/\(secret)/ballot", token: neighbourA, json: .object(["choices": .strings(["满意"])]))
            // What replicates names nobody: the pseudonym is keyed with the street's secret, so knowing every member id
            // (as every replica does) does not let anyone recompute it.
            let ballots = try node.store.readNow { try $0.changes(origin: "street.test", afterSeq: 0, limit: 10_000) }
                .filter { $0.kind == "ballot" && $0.fields["poll"] == .string(secret) }
            #expect(ballots.count == 2)
            for ballot in ballots {
                let replicated = ballot.fields.values.map(\.canonicalJSON).joined() + ballot.author
                for member in [residentAID, neighbourAID] {
                    #expect(!replicated.contains(member))
                    #expect(!replicated.contains(String(Digest.hex(of: "\(secret)|\(member)").prefix(24))), "an unkeyed hash is recomputable")
                }
            }
            for who in [Who.residentA, .neighbourA, .cadreA, .streetOfficer] {
                let seen = try await api.call(.get, "/v1/polls/\(secret)", token: tokens[who]!)
                #expect(seen["tally"] == .null && seen["myChoices"] == .null, "\(who) before the close: \(seen.body)")
            }
            try await api.call(.post, "/v1/polls/\(secret)/close", token: cadreA)
            for who in [Who.residentA, .cadreA, .streetOfficer] {
                let seen = try await api.call(.get, "/v1/polls/\(secret)", token: tokens[who]!)
                #expect(seen["tally"]["满意"] == .int(1) && seen["tally"]["不满意"] == .int(1) && seen["myChoices"] == .null, "\(who): \(seen.body)")
                #expect(!seen.body.canonicalJSON.contains("王小明") && !seen.body.canonicalJSON.contains("m_"), "\(who): no voter named")
            }
        }
    }
}
