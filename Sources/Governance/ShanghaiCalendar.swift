import Foundation

/// Dates as residents and officers count them: in Shanghai time (UTC+8, no daylight saving). Pure arithmetic,
/// so every replica puts a ticket on the same day whatever its own time zone.
public enum ShanghaiCalendar {
    /// Shanghai's offset from UTC, in seconds.
    public static let offsetSeconds: Int64 = 8 * 3600

    /// The calendar day in Shanghai, as YYYY-MM-DD.
    public static func day(ofMillis millis: Int64) -> String {
        let (y, m, d) = civil(millis)
        return "\(padded(y, 4))-\(padded(m, 2))-\(padded(d, 2))"
    }

    /// The time in Shanghai as RFC 3339 with its offset, whole seconds: `2026-05-01T09:00:00+08:00`. (A Foundation
    /// date formatter costs ~0.2 ms of ICU set-up per instance, most of a board read's time when made per post.)
    public static func dateTime(ofMillis millis: Int64) -> String {
        let seconds = millis / 1000 + offsetSeconds
        let second = Int(((seconds % 86_400) + 86_400) % 86_400)
        return "\(day(ofMillis: millis))T\(padded(second / 3_600, 2)):\(padded(second / 60 % 60, 2)):\(padded(second % 60, 2))+08:00"
    }

    /// A non-negative number with leading zeros to `width` digits (`String(format:)` is slow on Linux).
    static func padded(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// The calendar year in Shanghai.
    public static func year(ofMillis millis: Int64) -> Int { civil(millis).year }

    /// Year, month and day in Shanghai of a time in ms since the epoch.
    static func civil(_ millis: Int64) -> (year: Int, month: Int, day: Int) {
        let seconds = millis / 1000 + offsetSeconds
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        // Civil-from-days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil; `civil` is its inverse).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = y / 400, yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        return era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` strictly: every field in range, 30 February refused (Foundation's
    /// ISO 8601 formatter rolls it over into March), years 1970–9999. Nil when it is not such a time.
    public static func millis(rfc3339 text: String) -> Int64? {
        let b = Array(text.utf8)
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
        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offsetMinutes * 60
        return Int64(seconds) * 1_000 + Int64(fractionMillis)
    }
}
