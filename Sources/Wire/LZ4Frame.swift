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

    /// Decompresses one LZ4 frame, refusing more than `maxOutput` bytes of content.
    public static func decompress(_ frame: [UInt8], maxOutput: Int) throws(Failure) -> [UInt8] {
        var context: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let context else { throw Failure(description: "lz4: no decompression context") }
        defer { LZ4F_freeDecompressionContext(context) }

        // The header first: when it declares the content size (ours always do), decompress straight into an array of
        // exactly that size instead of copying through a chunk.
        var info = LZ4F_frameInfo_t()
        var headerBytes = frame.count
        let header = frame.withUnsafeBytes { LZ4F_getFrameInfo(context, &info, $0.baseAddress, &headerBytes) }
        if LZ4F_isError(header) != 0 { throw Failure(description: "lz4 decompress: \(String(cString: LZ4F_getErrorName(header)))") }
        if info.contentSize > 0 {
            guard info.contentSize <= UInt64(maxOutput) else { throw Failure(description: "lz4 frame declares \(info.contentSize) bytes, over \(maxOutput)") }
            return try decompress(frame, from: headerBytes, size: Int(info.contentSize), context: context)
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

    /// The rest of a frame whose header declared `size` bytes of content, into an array of that size.
    static func decompress(_ frame: [UInt8], from start: Int, size: Int, context: OpaquePointer) throws(Failure) -> [UInt8] {
        var failure: Failure?
        var offset = start
        var finished = false
        let output = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var written = 0
            while offset < frame.count {
                var consumed = frame.count - offset
                var produced = size - written
                let hint = frame.withUnsafeBytes { inp in
                    LZ4F_decompress(context, buffer.baseAddress! + written, &produced, inp.baseAddress! + offset, &consumed, nil)
                }
                if LZ4F_isError(hint) != 0 {
                    failure = Failure(description: "lz4 decompress: \(String(cString: LZ4F_getErrorName(hint)))")
                    break
                }
                written += produced
                offset += consumed
                if hint == 0 { finished = true; break }
                if consumed == 0 && produced == 0 { break }
            }
            count = written
        }
        if let failure { throw failure }
        guard finished else { throw Failure(description: "lz4 frame is truncated or longer than it declares") }
        guard output.count == size else { throw Failure(description: "lz4 frame is shorter than it declares") }
        guard offset == frame.count else { throw Failure(description: "bytes after the end of the lz4 frame") }
        return output
    }
}
