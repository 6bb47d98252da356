import Foundation
import ShequTestSupport
import Testing

extension MultiProcess {
    /// A short round of cluster/chaos.sh, the real-process chaos check: 7 processes, SIGKILLs and restarts and streets cut
    /// off for 10 s while posts are written, then equal digests everywhere, every acknowledged post in every database that
    /// should hold it and served there, and SQLite's integrity check. Every token gets 2 requests a second here, so that
    /// the HTTP check certainly meets 429s: before it honoured Retry-After it reported each of them as a missing post.
    @Suite(.serialized) struct ChaosRoundTests {
        @Test(.timeLimit(.minutes(5)))
        func aShortChaosRoundLosesNothingAndTellsBusyFromMissing() async throws {
            let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-chaos-\(UUID().uuidString.prefix(8))").path
            let (status, output) = try await offPool {
                try Command.run("/usr/bin/timeout", ["280", repo.appendingPathComponent("cluster/chaos.sh").path, TestFederation.executable, "10", work],
                                environment: ["HTTP_RATE_LIMIT_TOKEN_BURST": "5", "HTTP_RATE_LIMIT_TOKEN_PER_MINUTE": "120"])
            }
            #expect(status == 0, "chaos failed:\n\(output.suffix(4_000))")
            #expect(output.contains("chaos: ok"))
            #expect(output.contains("0 acknowledged posts missing from a database; 0 databases failed"))
            let waited = output.split(separator: "\n").first { $0.contains("waited out a 429") }.flatMap { line in
                Int(line.split(separator: " ").drop { !$0.hasPrefix("reads:") }.dropFirst().first ?? "")
            }
            #expect((waited ?? 0) > 0, "the small rate limit made the check wait out 429s: \(output.suffix(1_000))")
            print(output.split(separator: "\n").filter { $0.hasPrefix("chaos:") }.joined(separator: "\n"))
            if status == 0 { try? FileManager.default.removeItem(atPath: work) }
        }
    }
}
