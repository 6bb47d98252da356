/// The formats a resident's photo may be: what phones' cameras and galleries make.
public enum PhotoFormat: String, Sendable, CaseIterable, Codable {
    case jpeg, png, webp

    public var contentType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .webp: "image/webp"
        }
    }

    /// The format the bytes are, read from their first bytes (the magic numbers), never from a name or a declared type.
    public init?(sniffing bytes: [UInt8]) {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
            self = .jpeg
        } else if bytes.count >= 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if bytes.count >= 12, bytes[0..<4].elementsEqual(Array("RIFF".utf8)), bytes[8..<12].elementsEqual(Array("WEBP".utf8)) {
            self = .webp
        } else {
            return nil
        }
    }
}

/// Why a photo was refused.
public enum PhotoError: Error, Equatable, CustomStringConvertible {
    case tooLarge(bytes: Int, limit: Int)
    case notAnImage
    case unreadable(String)
    case tooManyPixels(width: Int, height: Int, limit: Int)

    public var description: String {
        switch self {
        case .tooLarge(let bytes, let limit): "the photo is \(bytes) bytes; at most \(limit)"
        case .notAnImage: "not a JPEG, PNG or WebP image"
        case .unreadable(let why): "the image cannot be read: \(why)"
        case .tooManyPixels(let width, let height, let limit): "the image is \(width)×\(height); at most \(limit / 1_000_000) megapixels"
        }
    }
}
