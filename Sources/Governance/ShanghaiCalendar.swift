import Foundation

/// Dates as residents and officers count them: in Shanghai time (UTC+8, no daylight saving). Pure arithmetic,
/// so every replica puts a ticket on the same day whatever its own time zone.
public enum ShanghaiCalendar {
    /// Shanghai's offset from UTC, in seconds.
    public static let offsetSeconds: Int64 = 8 * 3600

    /// The calendar day in Shanghai, as YYYY-MM-DD.
    public static func day(ofMillis millis: Int64) -> String {
        let (y, m, d) = civil(millis)
        return String(format: "%04d-%02d-%02d", y, m, d)
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
}
