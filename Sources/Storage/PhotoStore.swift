import Foundation
import Photos

/// Photos on the node's disk, named by the SHA-256 of their bytes (`photos/ab/abcdef….jpeg` and `….thumb.jpeg`): the
/// same photo twice is one file, a file is written whole (to a temporary name, then renamed) or not at all, and a name
/// is 256 bits nobody can guess, so a photo's address is its capability.
public final class PhotoStore: Sendable {
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// A store in a fresh temporary directory (tests, and nodes without a data directory).
    public static func temporary() throws -> PhotoStore {
        try PhotoStore(directory: (NSTemporaryDirectory() as NSString).appendingPathComponent("shequ-photos-\(UUID().uuidString)"))
    }

    /// What the store knows of a photo.
    public struct Stored: Sendable, Equatable {
        public var id: String
        public var format: PhotoFormat
    }

    /// Whether `id` has the form of a photo id (64 lower-case hex digits): anything else is never a path.
    public static func isID(_ id: String) -> Bool { id.utf8.count == 64 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } }

    private func path(_ id: String, _ suffix: String) -> String {
        (directory as NSString).appendingPathComponent("\(id.prefix(2))/\(id).\(suffix)")
    }

    /// Keeps a prepared photo and its thumbnail.
    public func save(_ photo: PreparedPhoto) throws {
        try write(Data(photo.bytes), to: path(photo.id, photo.format.rawValue))
        try write(Data(photo.thumbnail), to: path(photo.id, "thumb.jpeg"))
    }

    private func write(_ data: Data, to target: String) throws {
        guard !FileManager.default.fileExists(atPath: target) else { return }
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let temporary = target + ".\(UUID().uuidString).part"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, target) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CocoaError(.fileWriteUnknown)
        }
    }

    /// The photo with this id, if this node holds it.
    public func find(_ id: String) -> Stored? {
        guard Self.isID(id) else { return nil }
        return PhotoFormat.allCases.first { FileManager.default.fileExists(atPath: path(id, $0.rawValue)) }.map { Stored(id: id, format: $0) }
    }

    /// The photo's bytes, or its thumbnail's (a JPEG).
    public func bytes(_ stored: Stored, thumbnail: Bool = false) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path(stored.id, thumbnail ? "thumb.jpeg" : stored.format.rawValue)))
    }
}
