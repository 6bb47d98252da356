import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ShequTestSupport
import Testing
@testable import shequ

extension MultiProcess {
    /// A street node's disk is lost: it is put back from its backup (made while it served), fetches from its district and
    /// the city everything else — including its own writes made after the backup — and takes writes only once it has them,
    /// so that no sequence number is used twice. Afterwards every committee digest is equal on street, district and city.
    @Suite(.serialized) struct RebuildTests {
        @Test(.timeLimit(.minutes(3)))
        func aLostStreetIsRebuiltFromItsBackupAndItsDistrict() async throws {
            let federation = try await TestFederation.start(districts: 1, streets: [1])
            defer { federation.stop() }
            let (street, district, city, x) = (federation.street, federation.district, federation.city, federation.committee)
            let data = "\(federation.directory)/data/\(street.id)"
            func admin(_ arguments: [String]) throws {
                var command = try Shequ.parseAsRoot(["admin"] + arguments)
                try command.run()
            }
            func post(_ title: String) async throws -> String {
                let reply = try await federation.call(street, "POST", "/v1/committees/\(x)/boards/announcements/posts", token: federation.cadre,
                                                      json: ["title": title, "body": "正文"])
                return try #require(reply["id"] as? String)
            }
            let code = try await federation.call(street, "GET", "/v1/committees/\(x)/join-code", token: federation.cadre)["joinCode"] as! String
            let joined = try await federation.call(street, "POST", "/v1/committees/\(x)/join", token: nil, json: [
                "joinCode": code, "realName": "孙丽华", "phone": "13511112222", "building": "8号楼", "room": "801", "birthYear": 1972,
            ])
            let resident = joined["memberId"] as! String
            _ = try await federation.call(street, "POST", "/v1/committees/\(x)/members/\(resident)/approve", token: federation.cadre)
            let before = try await post("备份之前")
            // A secret poll, open through both losses, in which the resident votes now.
            let closes = ISO8601DateFormatter().string(from: Date().addingTimeInterval(7 * 86_400))
            let poll = try await federation.call(street, "POST", "/v1/committees/\(x)/polls", token: federation.cadre, json: [
                "title": "年终考核", "kind": "evaluation", "options": ["满意", "不满意"], "secret": true, "closesAt": closes,
            ])["id"] as! String
            _ = try await federation.call(street, "PUT", "/v1/polls/\(poll)/ballot", token: joined["token"] as? String, json: ["choices": ["满意"]])

            // The backup, taken while the node serves.
            let backup = federation.directory + "/street-backup.sqlite"
            try admin(["backup", "--data", data, "--node", street.id, "--out", backup])
            var after: [String] = []
            for i in 0..<5 { after.append(try await post("备份之后 \(i)")) }
            try await federation.eventually("replicated before the loss") { try await federation.converged(x) }
            let digest = try #require(try await federation.digest(district, x))

            // The disk is lost.
            federation.kill(street)
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: "\(data)/node.sqlite\(suffix)") }
            try admin(["restore", "--data", data, "--node", street.id, "--from", backup])
            try await federation.restart(street)
            // While it recovers, a write is refused with 503 rather than given a sequence number it already used (it may
            // have recovered by now: the HTTP test of recovery checks the refusal deterministically).
            let early = try await federation.request(street, "POST", "/v1/committees/\(x)/boards/announcements/posts", token: federation.cadre,
                                                     json: ["title": "太早", "body": "正文"])
            #expect(early.0 == 503 || early.0 == 201, "a write while recovering: \(early.0)")
            print("rebuild: a write right after the restart answered \(early.0)")

            // It recovers on its own, then takes writes again; nothing it wrote after the backup is lost or shadowed.
            try await federation.eventually("recovered", seconds: 30) {
                let health = try await federation.request(street, "GET", "/healthz", token: nil, json: nil).1 as? [String: Any]
                return health?["status"] as? String == "ok"
            }
            if early.0 == 503 { #expect(try await federation.digest(street, x) == digest) }
            for id in [before] + after { #expect(try await federation.status(street, "/v1/posts/\(id)", token: federation.cadre) == 200, "\(id)") }
            #expect(try federation.residentRows(street) == 1, "personal data came back from the backup")
            let fresh = try await post("恢复之后")
            try await federation.eventually("the new post at the district and the city") {
                let atDistrict = try await federation.status(district, "/v1/posts/\(fresh)", token: federation.districtOfficer)
                let atCity = try await federation.status(city, "/v1/posts/\(fresh)", token: federation.cityOfficer)
                return atDistrict == 200 && atCity == 200
            }
            try await federation.eventually("converged again") { try await federation.converged(x) }
            for id in after { #expect(try await federation.status(district, "/v1/posts/\(id)", token: federation.districtOfficer) == 200) }
            #expect(try federation.integrity(street) == "ok")

            // Without a backup: everything but residents' personal data comes back.
            federation.kill(street)
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: "\(data)/node.sqlite\(suffix)") }
            try admin(["restore", "--data", data, "--node", street.id, "--empty", "--key", "\(federation.directory)/keys/\(street.id).key"])
            try await federation.restart(street)
            // Its tokens were local too, so the digests are read from the databases.
            func digests() throws -> [String?] {
                try [street, district, city].map { node in try federation.store(node.id).readNow { try $0.digest(committee: x) } }
            }
            try await federation.eventually("recovered from nothing, with equal digests", seconds: 30) {
                let health = try await federation.request(street, "GET", "/healthz", token: nil, json: nil).1 as? [String: Any]
                let all = try digests()
                return health?["status"] as? String == "ok" && Set(all).count == 1
            }
            #expect(try federation.residentRows(street) == 0, "personal data comes back only from a backup")
            // The resident gets a new sign-in for the same member (their id replicated back) and votes again in the open
            // secret poll: the ballot replaces theirs, because the rebuilt node kept its ballot secret.
            let token = try federation.store(street.id).writeNow { try $0.issueToken(member: resident) }
            let again = try await federation.request(street, "PUT", "/v1/polls/\(poll)/ballot", token: token, json: ["choices": ["不满意"]])
            #expect(again.0 == 200, "\(again)")
            let tally = try federation.store(street.id).readNow { view in try view.poll(poll)!.tally(try view.ballots(poll: poll)) }
            #expect(tally.ballots == 1 && tally.counts["不满意"] == 1 && tally.counts["满意"] == 0, "one voter, the new choice: \(tally)")
            #expect(try federation.integrity(street) == "ok")
        }
    }
}
