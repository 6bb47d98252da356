import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Replication
import ShequTestSupport
import Testing

extension MultiProcess {
    /// SIGKILL at random moments while clients write: every write the node acknowledged is there after the restart, the
    /// database passes `PRAGMA integrity_check` each time, and what was acknowledged reaches the district.
    @Suite(.serialized) struct DurabilityTests {
        @Test(.timeLimit(.minutes(4)))
        func everyAcknowledgedWriteSurvivesSIGKILLAtRandomMoments() async throws {
            let federation = try await TestFederation.start(districts: 1, streets: [1])
            defer { federation.stop() }
            let (street, district, board) = (federation.street, federation.district, "/v1/committees/\(federation.committee)/boards/announcements/posts")
            var random = SplitMix64(seed: 20_200_101)
            var acknowledged: [String] = []
            let rounds = 6
            for round in 0..<rounds {
                // Four writers post as fast as the node answers; the node is killed 150–900 ms in.
                let killAfter = 150 + Int(random.next() % 750)
                let ids = try await withThrowingTaskGroup(of: [String].self) { group in
                    for writer in 0..<4 {
                        group.addTask {
                            var mine: [String] = []
                            for n in 0..<400 {
                                let body: [String: Any] = ["title": "第\(round)轮 写者\(writer) 第\(n)条", "body": "停电通知"]
                                guard let reply = try? await federation.request(street, "POST", board, token: federation.cadre, json: body) else { break }
                                if reply.0 == 201, let id = (reply.1 as? [String: Any])?["id"] as? String { mine.append(id) }
                            }
                            return mine
                        }
                    }
                    try await Task.sleep(for: .milliseconds(killAfter))
                    federation.kill(street)
                    return try await group.reduce(into: [String]()) { $0 += $1 }
                }
                #expect(!ids.isEmpty, "round \(round): nothing was acknowledged before the kill")
                acknowledged += ids
                #expect(try federation.integrity(street) == "ok", "round \(round)")
                try await federation.restart(street)
                for id in ids {
                    #expect(try await federation.status(street, "/v1/posts/\(id)", token: federation.cadre) == 200, "round \(round): \(id) lost")
                }
            }
            print("durability: \(rounds) SIGKILLs, \(acknowledged.count) acknowledged writes, none lost")
            // Everything acknowledged replicates once the street is back for good.
            try await federation.eventually("every acknowledged write at the district", seconds: 30) {
                for id in acknowledged.suffix(50) where try await federation.status(district, "/v1/posts/\(id)", token: federation.districtOfficer) != 200 {
                    return false
                }
                return try await federation.converged(federation.committee)
            }
            #expect(try federation.integrity(district) == "ok")
        }
    }
}
