import Foundation
import Governance
import Hummingbird
import NIOCore
import Replication

/// Building JSON responses from `Value`s.
enum JSONResponse {
    static func make(_ value: Value, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.canonicalJSON)))
    }
}

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
        do { value = try Value(jsonBytes: buffer.readableBytesView) } catch { throw APIError.badRequest("malformed JSON: \(error)") }
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

/// RFC 3339 times with an offset. Output is in Shanghai time (+08:00).
enum Time {
    static func parse(_ text: String, field: String) throws -> Int64 {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        throw APIError.invalid(field, "must be an RFC 3339 time with an offset, e.g. 2026-05-01T09:00:00+08:00")
    }

    static func format(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    static func value(_ millis: Int64?) -> Value { millis.map { .string(format($0)) } ?? .null }
}

/// Pagination: `limit` (1–200, default 50) and an opaque `cursor` returned as `nextCursor`.
struct Page: Sendable {
    static let maxLimit = 200
    let limit: Int
    let before: Int64?

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        self.limit = try Self.limit(query.get("limit"), default: 50, max: Self.maxLimit)
        if let cursor = query.get("cursor") {
            guard let before = Int64(cursor, radix: 36), before > 0 else { throw APIError.invalid("cursor", "not a cursor this server issued") }
            self.before = before
        } else {
            self.before = nil
        }
    }

    /// A `limit` parameter: between 1 and `max`, `fallback` when absent.
    static func limit(_ text: String?, default fallback: Int, max: Int) throws -> Int {
        guard let text else { return fallback }
        guard let limit = Int(text), (1...max).contains(limit) else { throw APIError.invalid("limit", "between 1 and \(max)") }
        return limit
    }

    /// The response envelope: the items and, when the page is full, the cursor for the next one.
    func envelope(_ items: [Value], lastCreated: Int64?) -> Value {
        let next: Value = (items.count == limit && lastCreated != nil) ? .string(String(lastCreated!, radix: 36)) : .null
        return .object(["items": .list(items), "nextCursor": next])
    }
}
