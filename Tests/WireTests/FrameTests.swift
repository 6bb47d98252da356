import NIOCore
import NIOTestUtils
import Replication
import Testing
import Wire

@Suite struct FrameTests {
    static let payloads: [[UInt8]] = [Array("{\"t\":\"ping\",\"n\":1}".utf8), Array(String(repeating: "社区变更", count: 400).utf8), []]

    @Test func decoderHandlesEveryWayTheBytesCanBeSplit() throws {
        var pairs: [(ByteBuffer, [[UInt8]])] = []
        for payload in Self.payloads where !payload.isEmpty {
            var buffer = ByteBuffer()
            try Frame.write(payload, into: &buffer)
            pairs.append((buffer, [payload]))
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder() }
    }

    @Test func largePayloadsAreCompressedAndStillRoundTrip() throws {
        var buffer = ByteBuffer()
        try Frame.write(Self.payloads[1], into: &buffer)
        #expect(buffer.readableBytes < Self.payloads[1].count / 4)
        #expect(buffer.getInteger(at: 4, as: UInt8.self) == 1)
        #expect(try Frame.read(from: &buffer) == Self.payloads[1])
    }

    @Test func corruptOversizedAndRandomFramesAreRefusedNeverCrash() throws {
        var good = ByteBuffer()
        try Frame.write(Self.payloads[0], into: &good)
        var flipped = good
        flipped.setInteger(flipped.getInteger(at: 12, as: UInt8.self)! ^ 0x40, at: 12)
        #expect(throws: Frame.Failure.self) { try Frame.read(from: &flipped) }
        var huge = ByteBuffer()
        huge.writeInteger(UInt32(Frame.maxFrameBytes + 1))
        #expect(throws: Frame.Failure.self) { try Frame.read(from: &huge) }
        var rng = SplitMix64(seed: 5)
        for _ in 0..<2_000 {
            var junk = ByteBuffer(bytes: (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            _ = try? Frame.read(from: &junk)
        }
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}
