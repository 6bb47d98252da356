import Foundation
import Replication
import Testing
import Wire

@Suite struct LZ4FrameTests {
    static let sample: [UInt8] = Array(String(repeating: "{\"board\":\"around-me\",\"title\":\"树胶滴在车上\"}", count: 200).utf8)

    @Test func roundTripsAndShrinksRepetitiveChanges() throws {
        let frame = try LZ4Frame.compress(Self.sample)
        #expect(frame.count < Self.sample.count / 5)
        #expect(Array(frame.prefix(4)) == [0x04, 0x22, 0x4D, 0x18])  // the LZ4 frame magic number
        #expect(try LZ4Frame.decompress(frame, maxOutput: Self.sample.count) == Self.sample)
    }

    /// One decompressor for frame after frame, its buffer growing and then reused for smaller ones: each content
    /// exactly as the one-shot path gives it, with and without the content checksum, and every refusal of the one-shot
    /// path kept (over the limit, truncated, trailing bytes, a corrupt block).
    @Test func aReusedDecompressorGivesEachFrameExactlyAndRefusesWhatTheOneShotRefuses() throws {
        let decompressor = try LZ4Frame.Decompressor(maxOutput: 1 << 20)
        var rng = SplitMix64(seed: 5)
        for (index, size) in [1, 100, 70_000, 5, 300_000, 10, 65_536, 2].enumerated() {
            let content = (0..<size).map { i in UInt8(truncatingIfNeeded: i % 7 == 0 ? rng.next() : UInt64(i / 13)) }
            let frame = try LZ4Frame.compress(content)
            #expect(try decompressor.decompress(frame, verifyingChecksum: index % 2 == 0) == content, "size \(size)")
            #expect(try decompressor.decompress(frame) == LZ4Frame.decompress(frame, maxOutput: 1 << 20))
        }
        let frame = try LZ4Frame.compress(Self.sample)
        let small = try LZ4Frame.Decompressor(maxOutput: Self.sample.count - 1)
        #expect(throws: LZ4Frame.Failure.self) { try small.decompress(frame) }
        #expect(throws: LZ4Frame.Failure.self) { try decompressor.decompress(Array(frame.dropLast(3))) }
        #expect(throws: LZ4Frame.Failure.self) { try decompressor.decompress(frame + [0]) }
        var corrupt = frame
        corrupt[corrupt.count / 2] ^= 0xFF
        #expect(throws: LZ4Frame.Failure.self) { try decompressor.decompress(corrupt) }
        // Still good for the next frame after each refusal.
        #expect(try decompressor.decompress(frame, verifyingChecksum: false) == Self.sample)
        for _ in 0..<300 {
            let junk = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? decompressor.decompress([0x04, 0x22, 0x4D, 0x18] + junk, verifyingChecksum: false)
        }
        #expect(try decompressor.decompress(frame) == Self.sample)
    }

    @Test func refusesToInflatePastTheLimit() throws {
        let frame = try LZ4Frame.compress(Self.sample)
        #expect(throws: LZ4Frame.Failure.self) { try LZ4Frame.decompress(frame, maxOutput: Self.sample.count - 1) }
    }

    @Test func refusesTruncatedCorruptAndRandomInput() throws {
        let frame = try LZ4Frame.compress(Self.sample)
        #expect(throws: LZ4Frame.Failure.self) { try LZ4Frame.decompress(Array(frame.dropLast(3)), maxOutput: 1 << 20) }
        var corrupt = frame
        corrupt[corrupt.count / 2] ^= 0xFF
        #expect(throws: LZ4Frame.Failure.self) { try LZ4Frame.decompress(corrupt, maxOutput: 1 << 20) }
        var rng = SplitMix64(seed: 11)
        for _ in 0..<500 {
            let junk = (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? LZ4Frame.decompress([0x04, 0x22, 0x4D, 0x18] + junk, maxOutput: 1 << 16)
        }
    }

    @Test func theLZ4ToolDecodesOurFrames() throws {
        let tool = "/usr/bin/lz4"
        guard FileManager.default.isExecutableFile(atPath: tool) else { return }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-lz4-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("frame.lz4"), output = directory.appendingPathComponent("frame.out")
        try Data(LZ4Frame.compress(Self.sample)).write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-d", "-f", "-q", input.path, output.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try Array(Data(contentsOf: output)) == Self.sample)
    }
}
