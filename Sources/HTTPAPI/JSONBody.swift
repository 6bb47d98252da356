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
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` strictly: every field in range, 30 February refused (Foundation's
    /// ISO 8601 formatter rolls it over into March), years 1970–9999.
    static func parse(_ text: String, field: String) throws -> Int64 {
        guard let millis = epochMillis(Array(text.utf8)) else {
            throw APIError.invalid(field, "must be an RFC 3339 time with an offset, e.g. 2026-05-01T09:00:00+08:00")
        }
        return millis
    }

    static func epochMillis(_ b: [UInt8]) -> Int64? {
        func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= b.count else { return nil }
            var n = 0
            for byte in b[at..<(at + count)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                n = n * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return n
        }
        func at(_ i: Int, _ c: Character) -> Bool { i < b.count && b[i] == c.asciiValue! }
        guard b.count >= 20, let year = digits(0, 4), at(4, "-"), let month = digits(5, 2), at(7, "-"), let day = digits(8, 2),
              at(10, "T") || at(10, "t"), let hour = digits(11, 2), at(13, ":"), let minute = digits(14, 2), at(16, ":"),
              let second = digits(17, 2) else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1970...9999).contains(year), (1...12).contains(month), (1...monthDays[month - 1]).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        var i = 19
        var fractionMillis = 0
        if at(i, ".") {
            i += 1
            var scale = 100, count = 0
            while i < b.count, let d = digits(i, 1) {
                fractionMillis += d * scale
                scale /= 10
                i += 1
                count += 1
            }
            guard (1...9).contains(count) else { return nil }
        }
        var offsetMinutes = 0
        if at(i, "Z") || at(i, "z") {
            i += 1
        } else if at(i, "+") || at(i, "-"), let oh = digits(i + 1, 2), at(i + 3, ":"), let om = digits(i + 4, 2), oh < 24, om < 60 {
            offsetMinutes = (oh * 60 + om) * (at(i, "-") ? -1 : 1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = y / 400, yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offsetMinutes * 60
        return Int64(seconds) * 1_000 + Int64(fractionMillis)
    }

    /// `2026-05-01T09:00:00+08:00`: whole seconds, Shanghai time.
    static func format(_ millis: Int64) -> String { ShanghaiCalendar.dateTime(ofMillis: millis) }

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
