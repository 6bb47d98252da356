import NIOCore

/// The frame of the replication protocol (docs/protocol.md):
///
///     [u32 length][u8 flags][u32 crc32][payload]
///
/// `length` counts flags, checksum and payload (big-endian). Flag bit 0 says the payload is an LZ4
/// frame; the CRC-32 (IEEE) covers the payload as sent. Frames and decompressed payloads are bounded.
public enum Frame {
    /// The largest frame accepted on the wire (4 MiB).
    public static let maxFrameBytes = 4 * 1024 * 1024
    /// The largest payload after decompression (16 MiB).
    public static let maxPayloadBytes = 16 * 1024 * 1024
    /// Payloads this large or larger are compressed.
    public static let compressionThreshold = 512
    static let compressedFlag: UInt8 = 1
    static let headerBytes = 4 + 1 + 4

    /// Why a frame was refused. The connection is closed after any of them.
    public struct Failure: Error, Hashable, CustomStringConvertible {
        public let description: String
    }

    /// Writes one frame, compressing the payload when it is large enough and compression helps.
    public static func write(_ payload: [UInt8], into buffer: inout ByteBuffer) throws {
        var body = payload
        var flags: UInt8 = 0
        if payload.count >= compressionThreshold, let compressed = try? LZ4Frame.compress(payload), compressed.count < payload.count {
            body = compressed
            flags |= compressedFlag
        }
        guard body.count + 5 <= maxFrameBytes, payload.count <= maxPayloadBytes else {
            throw Failure(description: "payload of \(payload.count) bytes is over the frame limit")
        }
        buffer.writeInteger(UInt32(body.count + 5))
        buffer.writeInteger(flags)
        buffer.writeInteger(CRC32.checksum(body))
        buffer.writeBytes(body)
    }

    /// Reads one frame if the buffer holds a whole one; nil if more bytes are needed. With a `decompressor` (one per
    /// connection), a compressed payload is decompressed with its context and buffer reused, and without recomputing
    /// the LZ4 content checksum: the frame's CRC-32 has just covered those bytes.
    public static func read(from buffer: inout ByteBuffer, decompressor: LZ4Frame.Decompressor? = nil) throws -> [UInt8]? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length >= 5, Int(length) <= maxFrameBytes else { throw Failure(description: "frame length \(length) out of bounds") }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        let flags: UInt8 = buffer.readInteger()!
        let checksum: UInt32 = buffer.readInteger()!
        let bodyLength = Int(length) - 5
        defer { buffer.moveReaderIndex(forwardBy: bodyLength) }
        return try buffer.withUnsafeReadableBytes { readable -> [UInt8] in
            let body = UnsafeRawBufferPointer(rebasing: readable[..<bodyLength])
            guard CRC32.checksum(body) == checksum else { throw Failure(description: "frame checksum mismatch") }
            guard flags & ~compressedFlag == 0 else { throw Failure(description: "unknown frame flags \(flags)") }
            guard flags & compressedFlag != 0 else { return Array(body) }
            do {
                if let decompressor { return try decompressor.withDecompressed(body, verifyingChecksum: false) { Array($0) } }
                return try LZ4Frame.decompress(Array(body), maxOutput: maxPayloadBytes)
            } catch {
                throw Failure(description: "\(error)")
            }
        }
    }
}

/// Splits a byte stream into frame payloads.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = [UInt8]
    /// The connection's own: payloads are decompressed with one context and buffer.
    let decompressor = try? LZ4Frame.Decompressor(maxOutput: Frame.maxPayloadBytes)
    public init() {}

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let payload = try Frame.read(from: &buffer, decompressor: decompressor) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(payload))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try decode(context: context, buffer: &buffer)
    }
}

/// CRC-32 (IEEE 802.3, as zlib computes it).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var c = UInt32(index)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
