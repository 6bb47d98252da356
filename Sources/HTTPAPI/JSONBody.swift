import Foundation
import Governance
import Hummingbird
import NIOCore
import Replication

/// A parsed JSON request body, with typed accessors that fail with the right 4xx.
struct JSONBody: Sendable {
    /// The largest JSON body accepted (photos are references, never inline).
    static let maxBytes = 256 * 1024

    let object: [String: Value]

    /// Reads and parses the request body: 413 past the limit, 400 if it is not a JSON object.
    static func read(_ request: Request, limit: Int = maxBytes) async throws -> JSONBody {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "payload_too_large", "request body exceeds \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("a JSON object body is required") }
        let value: Value
        do { value = try Value(jsonBytes: buffer.readableBytesView, decimalsAsText: true) } catch { throw APIError.badRequest("malformed JSON: \(error)") }
        guard let object = value.object else { throw APIError.badRequest("the body must be a JSON object") }
        return JSONBody(object: object)
    }

    func string(_ key: String) throws -> String {
        guard let value = object[key], value != .null else { throw APIError.invalid(key, "required") }
        guard let s = value.string else { throw APIError.invalid(key, "must be a string") }
        return s
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let s = value.string else { throw APIError.invalid(key, "must be a string") }
        return s
    }

    func int(_ key: String) throws -> Int {
        guard let value = object[key], value != .null else { throw APIError.invalid(key, "required") }
        guard let i = value.int, let int = Int(exactly: i) else { throw APIError.invalid(key, "must be an integer") }
        return int
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let value = object[key], value != .null else { return nil }
        return try int(key)
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = object[key], value != .null else { return fallback }
        guard let b = value.bool else { throw APIError.invalid(key, "must be true or false") }
        return b
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        guard let b = value.bool else { throw APIError.invalid(key, "must be true or false") }
        return b
    }

    func strings(_ key: String) throws -> [String] {
        guard let value = object[key], value != .null else { return [] }
        guard let list = value.list else { throw APIError.invalid(key, "must be an array of strings") }
        return try list.map { item in
            guard let s = item.string else { throw APIError.invalid(key, "must be an array of strings") }
            return s
        }
    }

    /// An array of positive integers (absent: empty).
    func optionalNumbers(_ key: String) throws -> [Int64] {
        guard let value = object[key], value != .null else { return [] }
        guard let list = value.list else { throw APIError.invalid(key, "must be an array of positive integers") }
        return try list.map { item in
            guard let n = item.int, n > 0 else { throw APIError.invalid(key, "must be an array of positive integers") }
            return n
        }
    }

    func optionalStrings(_ key: String) throws -> [String]? {
        guard object[key] != nil, object[key] != .null else { return nil }
        return try strings(key)
    }

    func time(_ key: String) throws -> Int64 {
        try Time.parse(try string(key), field: key)
    }

    func optionalTime(_ key: String) throws -> Int64? {
        try optionalString(key).map { try Time.parse($0, field: key) }
    }
}
