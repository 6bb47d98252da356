/// Removes what a photo says about where and when it was taken — EXIF (with its GPS position: a resident's photo of a
/// broken lamp outside their door carries their home's coordinates), XMP, comments and text chunks — and keeps the
/// picture's own bytes untouched (no re-encoding, no loss).
///
/// JPEG: drops the APP1–APP15 segments (EXIF, XMP, makers' notes) and comments before the start of scan, keeping APP0
/// (JFIF) and the colour profile (an APP2 `ICC_PROFILE`); the entropy-coded data after it is copied as is.
/// PNG: drops `eXIf`, `tEXt`, `zTXt`, `iTXt` and `tIME` chunks. WebP: drops `EXIF` and `XMP ` chunks and clears their
/// flags in `VP8X`.
public enum MetadataStripper {
    public static func strip(_ bytes: [UInt8], format: PhotoFormat) throws(PhotoError) -> [UInt8] {
        switch format {
        case .jpeg: try jpeg(bytes)
        case .png: try png(bytes)
        case .webp: try webp(bytes)
        }
    }

    static func jpeg(_ bytes: [UInt8]) throws(PhotoError) -> [UInt8] {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { throw .notAnImage }
        var out: [UInt8] = [0xFF, 0xD8]
        out.reserveCapacity(bytes.count)
        var i = 2
        while i + 4 <= bytes.count {
            guard bytes[i] == 0xFF else { throw .unreadable("JPEG segment expected at byte \(i)") }
            let marker = bytes[i + 1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0xDA {  // start of scan: the rest is image data
                out.append(contentsOf: bytes[i...])
                return out
            }
            if (0xD0...0xD7).contains(marker) || marker == 0x01 { out.append(contentsOf: bytes[i..<i + 2]); i += 2; continue }
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length >= 2, i + 2 + length <= bytes.count else { throw .unreadable("JPEG segment runs past the end") }
            let colourProfile = marker == 0xE2 && length >= 14 && bytes[i + 4..<i + 15].elementsEqual(Array("ICC_PROFILE".utf8))
            let metadata = ((0xE1...0xEF).contains(marker) && !colourProfile) || marker == 0xFE
            if !metadata { out.append(contentsOf: bytes[i..<i + 2 + length]) }
            i += 2 + length
        }
        throw .unreadable("JPEG without image data")
    }

    static func png(_ bytes: [UInt8]) throws(PhotoError) -> [UInt8] {
        guard bytes.count >= 8 else { throw .notAnImage }
        let dropped: Set<String> = ["eXIf", "tEXt", "zTXt", "iTXt", "tIME"]
        var out = Array(bytes[0..<8])
        out.reserveCapacity(bytes.count)
        var i = 8
        while i + 12 <= bytes.count {
            let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length >= 0, i + 12 + length <= bytes.count else { throw .unreadable("PNG chunk runs past the end") }
            let type = String(decoding: bytes[i + 4..<i + 8], as: UTF8.self)
            if !dropped.contains(type) { out.append(contentsOf: bytes[i..<i + 12 + length]) }
            i += 12 + length
            if type == "IEND" { return out }
        }
        throw .unreadable("PNG without IEND")
    }

    static func webp(_ bytes: [UInt8]) throws(PhotoError) -> [UInt8] {
        guard bytes.count >= 12 else { throw .notAnImage }
        var chunks: [UInt8] = []
        var i = 12
        while i + 8 <= bytes.count {
            let size = Int(bytes[i + 4]) | Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]) << 16 | Int(bytes[i + 7]) << 24
            let padded = size + (size & 1)
            guard size >= 0, i + 8 + size <= bytes.count else { throw .unreadable("WebP chunk runs past the end") }
            let type = String(decoding: bytes[i..<i + 4], as: UTF8.self)
            if type != "EXIF" && type != "XMP " {
                var chunk = Array(bytes[i..<min(bytes.count, i + 8 + padded)])
                // VP8X's flags: bit 3 says EXIF follows, bit 2 XMP.
                if type == "VP8X", chunk.count > 8 { chunk[8] &= ~UInt8(0b0000_1100) }
                chunks.append(contentsOf: chunk)
            }
            i += 8 + padded
        }
        let total = UInt32(4 + chunks.count)
        return Array("RIFF".utf8) + [UInt8(total & 0xFF), UInt8(total >> 8 & 0xFF), UInt8(total >> 16 & 0xFF), UInt8(total >> 24)]
            + Array("WEBP".utf8) + chunks
    }
}
