import Foundation
import Fuzzing
import Testing

/// The fuzzer's corpus and every crash it ever found (Tests/Fuzz), replayed through the same checks `make fuzz` runs:
/// each input is refused or survives a round trip, and none crashes.
@Suite struct FuzzCorpusTests {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ name: String) throws -> [URL] {
        let directory = fuzzDirectory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }.sorted { $0.path < $1.path }
    }

    @Test func theSeedsReachEveryDecoderAndTheCommittedOnesAreCurrent() throws {
        let seeds = SeedCorpus.inputs()
        #expect(Set(seeds.compactMap { DecoderChecks.target(of: $0.bytes) }) == Set(DecoderChecks.Target.allCases))
        for seed in seeds {
            #expect(throws: Never.self, "\(seed.name)") { try DecoderChecks.check(seed.bytes) }
            let committed = Self.fuzzDirectory.appendingPathComponent("corpus/seed-\(seed.name)")
            #expect((try? Data(contentsOf: committed)) == Data(seed.bytes), "regenerate with shequ-fuzz --write-seeds Tests/Fuzz/corpus")
        }
    }

    @Test func everyCorpusInputAndEveryCrashFoundReplaysCleanly() throws {
        let inputs = try Self.files("corpus") + Self.files("crashes")
        #expect(inputs.count >= SeedCorpus.inputs().count)
        for file in inputs {
            let bytes = [UInt8](try Data(contentsOf: file))
            #expect(throws: Never.self, "\(file.lastPathComponent)") { try DecoderChecks.check(bytes) }
        }
    }

    @Test func refusedAndEmptyInputsAreNotViolations() throws {
        // Only what a decoder accepts is checked; a refusal is the right answer to bad bytes.
        #expect(throws: Never.self) { try DecoderChecks.check([DecoderChecks.Target.json.rawValue] + Array("{\"a\":".utf8)) }
        #expect(throws: Never.self) { try DecoderChecks.check([DecoderChecks.Target.frameStream.rawValue, 0xFF, 0xFF, 0xFF, 0xFF, 1]) }
        #expect(throws: Never.self) { try DecoderChecks.check([]) }
    }
}
