@preconcurrency import Crypto
import Foundation
import Gossip
import NIOCore
import Replication
import Wire

/// `shequ bench compress`: LZ4 frame compression of real change batches — signed changes from a street's mix, cut into
/// `changes` messages as anti-entropy sends them — beside Debian's `lz4` tool on the same bytes in the same run, and
/// what the wire would carry with no compression.
public enum CompressionBenchmark {
    public struct Result: Sendable {
        public var changes = 0
        public var messages = 0
        public var payloadBytes = 0
        /// Each message compressed on its own, as frames are.
        public var frameCompressedBytes = 0
        public var frameCompressMBps = 0.0
        public var frameDecompressMBps = 0.0
        /// The messages as one file, compressed as one frame (like for like with the tool).
        public var wholeCompressedBytes = 0
        public var wholeCompressMBps = 0.0
        public var wholeDecompressMBps = 0.0
        /// The same, each call with a fresh context and a fresh output array (`LZ4Frame.decompress`, as before the
        /// reused `Decompressor`).
        public var frameDecompressFreshMBps = 0.0
        /// The whole file with the LZ4 content checksum verified (reused context and buffer).
        public var wholeDecompressVerifiedMBps = 0.0
        public var wholeDecompressFreshMBps = 0.0
        /// `lz4 -b1` on the same file: nil when the tool is missing.
        public var tool: (compressedBytes: Int, compressMBps: Double, decompressMBps: Double)?
        /// Frame bytes on the wire with compression as shipped, and with none.
        public var wireBytes = 0
        public var uncompressedWireBytes = 0

        public var report: String {
            func mb(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_000_000) }
            func ratio(_ compressed: Int) -> String { String(format: "%.2f", Double(payloadBytes) / Double(max(compressed, 1))) }
            var lines = [
                "bench compress: \(changes) signed changes in \(messages) messages, \(mb(payloadBytes)) of payload",
                String(format: "  shequ, per message (as on the wire): ratio %@, compress %.0f MB/s, decompress %.0f MB/s",
                       ratio(frameCompressedBytes), frameCompressMBps, frameDecompressMBps),
                String(format: "  shequ, one frame for the whole file : ratio %@, compress %.0f MB/s, decompress %.0f MB/s",
                       ratio(wholeCompressedBytes), wholeCompressMBps, wholeDecompressMBps),
                "  (decompress as a connection does: context and buffer reused; the LZ4 content checksum not recomputed, as the",
                "   frame's CRC-32 covers the bytes. Verifying it: " + String(format: "%.0f MB/s whole; a fresh context and output each call, as before: %.0f MB/s per message, %.0f MB/s whole)",
                       wholeDecompressVerifiedMBps, frameDecompressFreshMBps, wholeDecompressFreshMBps),
            ]
            if let tool {
                lines.append(String(format: "  lz4 tool (-b1), the same file       : ratio %@, compress %.0f MB/s, decompress %.0f MB/s",
                                    ratio(tool.compressedBytes), tool.compressMBps, tool.decompressMBps))
                lines.append(String(format: "  shequ / lz4 tool                    : compress %.2f×, decompress %.2f×, ratio %.2f×",
                                    wholeCompressMBps / max(tool.compressMBps, 0.001), wholeDecompressMBps / max(tool.decompressMBps, 0.001),
                                    Double(tool.compressedBytes) / Double(max(wholeCompressedBytes, 1))))
            } else {
                lines.append("  lz4 tool: not installed (apt-get install lz4)")
            }
            lines.append(String(format: "  wire bytes: %@ compressed as shipped, %@ with no compression (%.2f× more); target >= 300 MB/s compressing",
                                mb(wireBytes), mb(uncompressedWireBytes), Double(uncompressedWireBytes) / Double(max(wireBytes, 1))))
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// Signed changes in messages of `perMessage`, as payload bytes.
    public static func payloads(changes count: Int, perMessage: Int = GossipMessage.maxChangesPerMessage) throws -> (changes: Int, payloads: [[UInt8]]) {
        let key = Curve25519.Signing.PrivateKey()
        let changes = try ApplyBenchmark.makeChanges(count: count).map { change in
            var signed = change
            signed.signature = ChangeSignature.sign(change.signedBytes, with: key)
            return signed
        }
        return (changes.count, GossipMessage.batches(changes, perMessage: perMessage, claimed: true).map(\.payload))
    }

    public static func run(changes count: Int, minimumSeconds: Double, directory: String) throws -> Result {
        let (changes, payloads) = try payloads(changes: count)
        var result = Result()
        result.changes = changes
        result.messages = payloads.count
        result.payloadBytes = payloads.reduce(0) { $0 + $1.count }

        // Per message, repeated until `minimumSeconds` has passed, so that timer resolution does not matter.
        var compressed: [[UInt8]] = []
        let frameCompress = try timed(minimumSeconds) { compressed = try payloads.map { try LZ4Frame.compress($0) } }
        result.frameCompressedBytes = compressed.reduce(0) { $0 + $1.count }
        result.frameCompressMBps = Double(result.payloadBytes) / frameCompress / 1_000_000
        // Decompression as a connection does it: one `Decompressor`, its context and buffer reused; each message's
        // content read once (summed) so that nothing is optimized away.
        let decompressor = try LZ4Frame.Decompressor(maxOutput: Frame.maxPayloadBytes)
        func readAll(_ bytes: UnsafeRawBufferPointer) -> Int { Int(bytes.first ?? 0) &+ bytes.count }
        let frameDecompress = try timed(minimumSeconds) {
            for frame in compressed { _ = try frame.withUnsafeBytes { try decompressor.withDecompressed($0, verifyingChecksum: false, readAll) } }
        }
        result.frameDecompressMBps = Double(result.payloadBytes) / frameDecompress / 1_000_000
        let frameFresh = try timed(minimumSeconds) {
            for frame in compressed { _ = try LZ4Frame.decompress(frame, maxOutput: Frame.maxPayloadBytes) }
        }
        result.frameDecompressFreshMBps = Double(result.payloadBytes) / frameFresh / 1_000_000

        let whole = payloads.flatMap { $0 }
        var one: [UInt8] = []
        let wholeCompress = try timed(minimumSeconds) { one = try LZ4Frame.compress(whole) }
        result.wholeCompressedBytes = one.count
        result.wholeCompressMBps = Double(whole.count) / wholeCompress / 1_000_000
        let wholeDecompressor = try LZ4Frame.Decompressor(maxOutput: whole.count)
        let wholeDecompress = try timed(minimumSeconds) {
            _ = try one.withUnsafeBytes { try wholeDecompressor.withDecompressed($0, verifyingChecksum: false, readAll) }
        }
        result.wholeDecompressMBps = Double(whole.count) / wholeDecompress / 1_000_000
        let wholeVerified = try timed(minimumSeconds) { _ = try one.withUnsafeBytes { try wholeDecompressor.withDecompressed($0, readAll) } }
        result.wholeDecompressVerifiedMBps = Double(whole.count) / wholeVerified / 1_000_000
        let wholeFresh = try timed(minimumSeconds) { _ = try LZ4Frame.decompress(one, maxOutput: whole.count) }
        result.wholeDecompressFreshMBps = Double(whole.count) / wholeFresh / 1_000_000

        for payload in payloads {
            var buffer = ByteBuffer()
            try Frame.write(payload, into: &buffer)
            result.wireBytes += buffer.readableBytes
            result.uncompressedWireBytes += payload.count + 9
        }

        let file = (directory as NSString).appendingPathComponent("changes.bin")
        try Data(whole).write(to: URL(fileURLWithPath: file))
        result.tool = try lz4Tool(file: file, seconds: max(1, Int(minimumSeconds.rounded(.up))))
        return result
    }

    /// Seconds per run of `body`, repeated until `minimum` seconds have passed (at least twice).
    static func timed(_ minimum: Double, _ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        var runs = 0
        let start = clock.now
        repeat {
            try body()
            runs += 1
        } while runs < 2 || (clock.now - start) < .milliseconds(Int64(minimum * 1000))
        let elapsed = clock.now - start
        return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) / Double(runs)
    }

    /// `lz4 -b1 -iN FILE`: the tool's own benchmark (in memory, no I/O), parsed from its summary line
    /// ` =-changes.bin : 1234 -> 567 (2.176),612.3 MB/s ,2900.1 MB/s`.
    static func lz4Tool(file: String, seconds: Int) throws -> (compressedBytes: Int, compressMBps: Double, decompressMBps: Double)? {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/lz4") else { return nil }
        let text = try ProcessProbe.output(of: "/usr/bin/lz4", ["-b1", "-i\(seconds)", file])
        // The last summary line (the tool rewrites its progress with carriage returns).
        guard let line = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).last(where: { $0.contains("->") && $0.contains("MB/s") }) else { return nil }
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let numbers = line[line.index(after: colon)...].split(whereSeparator: { !"0123456789.".contains($0) }).compactMap { Double($0) }
        // [size, compressed, ratio, compress MB/s, decompress MB/s]
        guard numbers.count >= 5 else { return nil }
        return (Int(numbers[1]), numbers[3], numbers[4])
    }
}
