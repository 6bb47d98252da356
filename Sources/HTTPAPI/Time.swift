import Governance
import Replication

/// Times in the API: RFC 3339 with an offset, read strictly and written in Shanghai time (+08:00), both directions
/// by `ShanghaiCalendar`.
enum Time {
    /// Parses a time (`ShanghaiCalendar.millis(rfc3339:)`), or refuses the field with 422.
    static func parse(_ text: String, field: String) throws -> Int64 {
        guard let millis = ShanghaiCalendar.millis(rfc3339: text) else {
            throw APIError.invalid(field, "must be an RFC 3339 time with an offset, e.g. 2026-05-01T09:00:00+08:00")
        }
        return millis
    }

    /// `2026-05-01T09:00:00+08:00`: whole seconds, Shanghai time.
    static func format(_ millis: Int64) -> String { ShanghaiCalendar.dateTime(ofMillis: millis) }

    static func value(_ millis: Int64?) -> Value { millis.map { .string(format($0)) } ?? .null }
}
