import Foundation
import ShequTestSupport
import Testing

extension MultiProcess {
    /// docs/operations.md, word for word: every `sh` block run in order by Tests/Scripts/operations_walkthrough.sh —
    /// keys, topology, configuration, three nodes on loopback, accounts, a post from the street read at the city, metrics,
    /// a backup, a lost disk restored, a street office added and retired by SIGHUP (no restart), a key rotated and the
    /// street rebuilt from nothing under its new key, the versions of a rolling upgrade, a clean stop.
    @Suite(.serialized) struct OperationsWalkthroughTests {
        @Test(.timeLimit(.minutes(4)))
        func theOperatorsGuideDeploysAFederationAsWritten() async throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Scripts/operations_walkthrough.sh").path
            let work = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-ops-\(UUID().uuidString.prefix(8))").path
            let (status, output) = try await offPool { try Command.run("/usr/bin/timeout", ["200", script, TestFederation.executable, work]) }
            #expect(status == 0, "the walkthrough stopped:\n\(output.suffix(4_000))")
            #expect(output.contains("operations walkthrough: every block ran"))
            // What the guide promises along the way, as the commands printed it.
            for promise in ["停水通知", "\"state\":\"alive\"", "integrity ok", "zhangjiang-01", "retired street.zhangjiang",
                            "old-public-key", "换钥之后", "shequ_build_info{", "(wire "] {
                #expect(output.contains(promise), "\(promise)")
            }
            if status == 0 { try? FileManager.default.removeItem(atPath: work) }
        }
    }
}
