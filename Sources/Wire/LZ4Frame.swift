import CLZ4

/// Standard LZ4 frames (the format of the `lz4` command-line tool) through liblz4's frame API.
/// Decompression is bounded: a frame that declares or produces more than `maxOutput` bytes is an
/// error, and nothing larger than that is ever allocated.
public enum LZ4Frame {
    /// Why a frame could not be made or read.
    public struct Failure: Error, Hashable, CustomStringConvertible {
        public let description: String
    }

    /// Compresses `input` into one LZ4 frame with its content size and a content checksum.
    public static func compress(_ input: [UInt8]) throws(Failure) -> [UInt8] {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.contentSize = UInt64(input.count)
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { inp in LZ4F_compressFrame(out.baseAddress, bound, inp.baseAddress, input.count, &preferences) }
        }
        if LZ4F_isError(written) != 0 { throw Failure(description: "lz4 compress: \(String(cString: LZ4F_getErrorName(written)))") }
        output.removeSubrange(written...)
        return output
    }

    /// Decompresses one LZ4 frame, refusing more than `maxOutput` bytes of content. Each call makes its own context and
    /// output; a connection or a loop uses a `Decompressor`, which reuses both.
    public static func decompress(_ frame: [UInt8], maxOutput: Int) throws(Failure) -> [UInt8] {
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else { throw Failure(description: "lz4: no decompression context") }
        defer { LZ4F_freeDecompressionContext(context) }

        // The header first: when it declares the content size (ours always do), decompress straight into an array of
        // exactly that size instead of copying through a chunk.
        let (declared, headerBytes) = try frame.withUnsafeBytes { bytes in
            Result { () throws(Failure) in try header(bytes, context: context, maxOutput: maxOutput) }
        }.get()
        if let size = declared {
            var outcome: Result<Void, Failure> = .success(())
            let output = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                var options = LZ4F_decompressOptions_t()
                outcome = frame.withUnsafeBytes { bytes in
                    Result { () throws(Failure) in
                        try decode(bytes, from: headerBytes, into: buffer.baseAddress!, size: size, context: context, options: &options)
                    }
                }
                count = (try? outcome.get()) == nil ? 0 : size
            }
            try outcome.get()
            return output
        }

        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(64 * 1024, max(maxOutput, 1)))
        var offset = headerBytes
        var finished = false
        while offset < frame.count {
            var consumed = frame.count - offset
            var produced = chunk.count
            let hint = chunk.withUnsafeMutableBytes { out in
                frame.withUnsafeBytes { inp in
                    LZ4F_decompress(context, out.baseAddress, &produced, inp.baseAddress! + offset, &consumed, nil)
                }
            }
            if LZ4F_isError(hint) != 0 { throw Failure(description: "lz4 decompress: \(String(cString: LZ4F_getErrorName(hint)))") }
            guard output.count + produced <= maxOutput else { throw Failure(description: "lz4 frame decompresses past \(maxOutput) bytes") }
            output.append(contentsOf: chunk[0..<produced])
            offset += consumed
            if hint == 0 { finished = true; break }
            if consumed == 0 && produced == 0 { break }
        }
        guard finished else { throw Failure(description: "lz4 frame is truncated") }
        guard offset == frame.count else { throw Failure(description: "bytes after the end of the lz4 frame") }
        return output
    }

    /// Reads a frame's header: the content size it declares (nil when it declares none), checked against `maxOutput`,
    /// and where the blocks start.
    static func header(_ frame: UnsafeRawBufferPointer, context: OpaquePointer, maxOutput: Int) throws(Failure) -> (size: Int?, blocksAt: Int) {
        var info = LZ4F_frameInfo_t()
        var headerBytes = frame.count
        let header = LZ4F_getFrameInfo(context, &info, frame.baseAddress, &headerBytes)
        if LZ4F_isError(header) != 0 { throw Failure(description: "lz4 decompress: \(String(cString: LZ4F_getErrorName(header)))") }
        guard info.contentSize > 0 else { return (nil, headerBytes) }
        guard info.contentSize <= UInt64(maxOutput) else { throw Failure(description: "lz4 frame declares \(info.contentSize) bytes, over \(maxOutput)") }
        return (Int(info.contentSize), headerBytes)
    }

    /// Decodes the blocks of a frame, from `start`, into the `size` bytes its header declared at `destination`:
    /// refused unless they fill exactly that many and the frame ends with them.
    static func decode(_ frame: UnsafeRawBufferPointer, from start: Int, into destination: UnsafeMutableRawPointer, size: Int,
                       context: OpaquePointer, options: inout LZ4F_decompressOptions_t) throws(Failure) {
        var offset = start, written = 0, finished = false
        while offset < frame.count {
            var consumed = frame.count - offset
            var produced = size - written
            let hint = LZ4F_decompress(context, destination + written, &produced, frame.baseAddress! + offset, &consumed, &options)
            if LZ4F_isError(hint) != 0 { throw Failure(description: "lz4 decompress: \(String(cString: LZ4F_getErrorName(hint)))") }
            written += produced
            offset += consumed
            if hint == 0 { finished = true; break }
            if consumed == 0 && produced == 0 { break }
        }
        guard finished else { throw Failure(description: "lz4 frame is truncated or longer than it declares") }
        guard written == size else { throw Failure(description: "lz4 frame is shorter than it declares") }
        guard offset == frame.count else { throw Failure(description: "bytes after the end of the lz4 frame") }
    }
}

extension LZ4Frame {
    /// Decompresses frame after frame with one liblz4 context and one output buffer, both reused: no allocation per
    /// frame once the buffer has grown to the largest content seen (at most `maxOutput`), and liblz4 writes straight
    /// into it (`stableDst`: the whole content is in one buffer, so no copying through its window). One per
    /// connection; not for use from two threads at once.
    public final class Decompressor {
        private let context: OpaquePointer
        private var buffer: UnsafeMutableRawBufferPointer
        public let maxOutput: Int

        public init(maxOutput: Int) throws(Failure) {
            var context: OpaquePointer?
            let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
            guard LZ4F_isError(created) == 0, let context else { throw Failure(description: "lz4: no decompression context") }
            self.context = context
            self.maxOutput = maxOutput
            buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        }

        deinit {
            LZ4F_freeDecompressionContext(context)
            buffer.deallocate()
        }

        /// Decompresses one frame whose header declares its content size (every frame `compress` makes does) and
        /// hands the content to `body`; the bytes are valid only during the call. `verifyingChecksum: false` skips
        /// the frame's content checksum (XXH32 over the content, half the time of decompressing): for bytes already
        /// covered by a checksum of their own, as a replication frame's CRC-32 covers its compressed body. The
        /// decoding itself stays bounds-checked either way.
        public func withDecompressed<T>(_ frame: UnsafeRawBufferPointer, verifyingChecksum: Bool = true,
                                        _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
            LZ4F_resetDecompressionContext(context)
            let (declared, blocksAt) = try LZ4Frame.header(frame, context: context, maxOutput: maxOutput)
            guard let size = declared else { throw Failure(description: "lz4 frame does not declare its content size") }
            if buffer.count < size {
                buffer.deallocate()
                buffer = .allocate(byteCount: max(size, min(maxOutput, buffer.count * 2)), alignment: 16)
            }
            var options = LZ4F_decompressOptions_t()
            options.stableDst = 1
            options.skipChecksums = verifyingChecksum ? 0 : 1
            try LZ4Frame.decode(frame, from: blocksAt, into: buffer.baseAddress!, size: size, context: context, options: &options)
            return try body(UnsafeRawBufferPointer(start: buffer.baseAddress, count: size))
        }

        /// The content of one frame, as a new array (one copy out of the reused buffer).
        public func decompress(_ frame: [UInt8], verifyingChecksum: Bool = true) throws -> [UInt8] {
            try frame.withUnsafeBytes { bytes in try withDecompressed(bytes, verifyingChecksum: verifyingChecksum) { Array($0) } }
        }
    }
}
