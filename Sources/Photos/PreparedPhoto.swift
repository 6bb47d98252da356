import CImage
import Crypto
import Foundation

/// A resident's upload made safe to keep and to send on: its real format (sniffed), within the limits, without its
/// metadata, with a thumbnail for lists, named by the SHA-256 of the kept bytes (content addressing: the same photo
/// twice is one file, and the name says nothing but what it is).
public struct PreparedPhoto: Sendable, Equatable {
    public static let maxBytes = 5 * 1024 * 1024
    /// Decompression bombs: a small file that claims a huge picture is refused from its header, before decoding.
    public static let maxPixels = 40_000_000
    /// The thumbnail's longer side, in pixels.
    public static let thumbnailSide = 320

    public var id: String
    public var format: PhotoFormat
    public var bytes: [UInt8]
    public var width: Int
    public var height: Int
    /// A JPEG of at most `thumbnailSide` on its longer side.
    public var thumbnail: [UInt8]

    /// Checks, strips and thumbnails an upload.
    public init(upload: [UInt8]) throws(PhotoError) {
        guard upload.count <= Self.maxBytes else { throw .tooLarge(bytes: upload.count, limit: Self.maxBytes) }
        guard let format = PhotoFormat(sniffing: upload) else { throw .notAnImage }
        let (width, height) = try Self.dimensions(upload, format: format)
        guard width > 0, height > 0 else { throw .unreadable("no size") }
        guard width * height <= Self.maxPixels else { throw .tooManyPixels(width: width, height: height, limit: Self.maxPixels) }
        let stripped = try MetadataStripper.strip(upload, format: format)
        self.format = format
        self.bytes = stripped
        self.width = width
        self.height = height
        self.thumbnail = try Self.thumbnail(stripped, format: format, side: Self.thumbnailSide)
        self.id = SHA256.hash(data: stripped).map { String(format: "%02x", $0) }.joined()
    }

    /// The picture's size from its header alone.
    static func dimensions(_ bytes: [UInt8], format: PhotoFormat) throws(PhotoError) -> (Int, Int) {
        var width: Int32 = 0, height: Int32 = 0, components: Int32 = 0
        let ok: Bool = bytes.withUnsafeBufferPointer { buffer in
            switch format {
            case .webp: WebPGetInfo(buffer.baseAddress, buffer.count, &width, &height) != 0
            case .jpeg, .png: stbi_info_from_memory(buffer.baseAddress, Int32(buffer.count), &width, &height, &components) != 0
            }
        }
        guard ok else { throw .unreadable("the \(format.rawValue) header is not valid") }
        return (Int(width), Int(height))
    }

    /// Decodes, scales down to `side` on the longer side (never up) and encodes as JPEG (quality 80).
    static func thumbnail(_ bytes: [UInt8], format: PhotoFormat, side: Int) throws(PhotoError) -> [UInt8] {
        var width: Int32 = 0, height: Int32 = 0, components: Int32 = 0
        let decoded: UnsafeMutablePointer<UInt8>? = bytes.withUnsafeBufferPointer { buffer in
            switch format {
            case .webp:
                // RGB, 3 bytes a pixel, freed with WebPFree.
                return WebPDecodeRGB(buffer.baseAddress, buffer.count, &width, &height)
            case .jpeg, .png:
                return stbi_load_from_memory(buffer.baseAddress, Int32(buffer.count), &width, &height, &components, 3)
            }
        }
        guard let decoded else { throw .unreadable(stbi_failure_reason().map { String(cString: $0) } ?? "decoding failed") }
        defer { if format == .webp { WebPFree(decoded) } else { stbi_image_free(decoded) } }
        let scale = min(1, Double(side) / Double(max(width, height)))
        let outWidth = max(1, Int32((Double(width) * scale).rounded())), outHeight = max(1, Int32((Double(height) * scale).rounded()))
        var resized = [UInt8](repeating: 0, count: Int(outWidth) * Int(outHeight) * 3)
        let ok = resized.withUnsafeMutableBufferPointer { out in
            stbir_resize_uint8(decoded, width, height, 0, out.baseAddress, outWidth, outHeight, 0, 3) != 0
        }
        guard ok else { throw .unreadable("the thumbnail could not be made") }
        final class Sink { var bytes: [UInt8] = [] }
        let sink = Sink()
        let written = resized.withUnsafeBufferPointer { pixels in
            stbi_write_jpg_to_func({ context, data, size in
                guard let context, let data else { return }
                let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: data, count: Int(size)))
            }, Unmanaged.passUnretained(sink).toOpaque(), outWidth, outHeight, 3, pixels.baseAddress, 80)
        }
        guard written != 0 else { throw .unreadable("the thumbnail could not be written") }
        return sink.bytes
    }
}

extension PreparedPhoto {
    /// A photo another node prepared, taken as it is after checks that need no decoding: its bytes hash to `id`, are a
    /// photo within the limits by their header, and have nothing left to strip; its thumbnail is a JPEG within the
    /// thumbnail's size. What a replica does with a fetched photo, at a fraction of the cost of preparing it again.
    public init(fetched bytes: [UInt8], thumbnail: [UInt8], id: String) throws(PhotoError) {
        guard bytes.count <= Self.maxBytes else { throw .tooLarge(bytes: bytes.count, limit: Self.maxBytes) }
        guard let format = PhotoFormat(sniffing: bytes) else { throw .notAnImage }
        let (width, height) = try Self.dimensions(bytes, format: format)
        guard width > 0, height > 0, width * height <= Self.maxPixels else { throw .tooManyPixels(width: width, height: height, limit: Self.maxPixels) }
        guard try MetadataStripper.strip(bytes, format: format) == bytes else { throw .unreadable("metadata left in a fetched photo") }
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        guard digest == id else { throw .unreadable("the bytes do not hash to the photo's name") }
        guard PhotoFormat(sniffing: thumbnail) == .jpeg, let (side1, side2) = try? Self.dimensions(thumbnail, format: .jpeg),
              max(side1, side2) <= Self.thumbnailSide else { throw .unreadable("not a thumbnail") }
        self.id = id
        self.format = format
        self.bytes = bytes
        self.width = width
        self.height = height
        self.thumbnail = thumbnail
    }
}

/// Where photos are prepared: one thread of its own at a lower CPU priority (nice 10), so that decoding a resident's
/// 40-megapixel photo for its thumbnail never takes the CPU from the node's requests and replication.
public final class PhotoWorker: @unchecked Sendable {
    public static let shared = PhotoWorker()
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []

    private init() {
        let thread = Thread { [unowned self] in
            _ = shequ_lower_this_thread_priority(10)
            while true {
                condition.lock()
                while jobs.isEmpty { condition.wait() }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
        }
        thread.name = "shequ-photos"
        thread.start()
    }

    /// Runs `work` on the photo thread and returns what it returns.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(with: Result { try work() }) }
            condition.signal()
            condition.unlock()
        }
    }
}
