import Foundation
import GRDB
import Governance
import Replication

/// How a rollup groups committees.
public enum RollupGrouping: String, Sendable, CaseIterable {
    case committee, street, district, category, day
}

extension RollupGrouping {
    /// Whether the grouping is by a unit of the hierarchy (committee, street, district).
    public var isUnit: Bool { self == .committee || self == .street || self == .district }
}

/// Which committees a rollup covers: the reader's street, district, or the whole city.
public enum RollupScope: Sendable, Hashable {
    case committee(String)
    case street(String)
    case district(String)
    case city

    /// Whether the committee lies inside this scope.
    public func contains(_ committee: Committee) -> Bool {
        switch self {
        case .committee(let id): committee.id == id
        case .street(let id): committee.street == id
        case .district(let id): committee.district == id
        case .city: true
        }
    }

    /// The committee, when the scope is one.
    var committee: String? {
        if case .committee(let id) = self { return id }
        return nil
    }

    var predicate: (sql: String, arguments: StatementArguments) {
        switch self {
        case .committee(let id): ("u.committee = ?", [id])
        case .street(let id): ("u.street = ?", [id])
        case .district(let id): ("u.district = ?", [id])
        case .city: ("1 = 1", [])
        }
    }
}

/// One row of the ticket rollup: a unit and its tickets per stage.
public struct TicketRollupRow: Hashable, Sendable {
    public var key: String
    public var byStage: [String: Int]
    public var total: Int { byStage.values.reduce(0, +) }
}

/// One row of the SLA rollup.
public struct SLARollupRow: Hashable, Sendable {
    public var key: String
    public var tickets: Int
    public var responded: Int
    public var respondedInTime: Int
    public var resolved: Int
    public var resolvedInCommittee: Int
    /// Open tickets with no first response after 15 hours, at the time asked.
    public var overdue: Int
    /// Resolved tickets their reporters rated, and the ratings' sum (1–5 each).
    public var rated = 0
    public var ratingSum = 0
    /// The mean rating (satisfaction), nil with none.
    public var satisfaction: Double? { rated > 0 ? Double(ratingSum) / Double(rated) : nil }
    /// First-response time quantiles in minutes (upper bounds of power-of-two buckets); nil with no responses.
    public var firstResponseP50Minutes: Int?
    public var firstResponseP90Minutes: Int?
    /// Resolution time quantiles in minutes, the same way.
    public var resolutionP50Minutes: Int?
    public var resolutionP90Minutes: Int?
    /// The rows added up (quantiles are not additive and stay nil).
    public static func sum(_ rows: [SLARollupRow], key: String) -> SLARollupRow {
        rows.reduce(into: SLARollupRow(key: key, tickets: 0, responded: 0, respondedInTime: 0, resolved: 0, resolvedInCommittee: 0, overdue: 0)) {
            $0.tickets += $1.tickets; $0.responded += $1.responded; $0.respondedInTime += $1.respondedInTime
            $0.resolved += $1.resolved; $0.resolvedInCommittee += $1.resolvedInCommittee; $0.overdue += $1.overdue
            $0.rated += $1.rated; $0.ratingSum += $1.ratingSum
        }
    }

    /// Share of resolved tickets solved at the committee level (the seeds report 90%).
    public var solvedInCommitteeShare: Double? { resolved > 0 ? Double(resolvedInCommittee) / Double(resolved) : nil }
}

extension ReadView {
    /// Tickets per unit and stage, created on days in `since...until` (YYYY-MM-DD, Shanghai time), from the rollup table.
    public func ticketRollup(groupBy: RollupGrouping, scope: RollupScope, since: String? = nil, until: String? = nil) throws -> [TicketRollupRow] {
        if groupBy != .committee, scope.committee == nil, since != nil || until != nil || groupBy == .day {
            return try ticketRollupByStreet(groupBy: groupBy, scope: scope, since: since, until: until)
        }
        let key = switch groupBy {
        case .category: "r.category"
        case .day: "r.day"
        default: "u.\(groupBy.rawValue)"
        }
        let (predicate, scopeArguments) = scope.predicate
        var arguments = scopeArguments
        // Without a window (and not by day), the all-time table answers with far fewer rows.
        if since == nil && until == nil && groupBy != .day {
            return try Self.stageColumnRows(db, sql: """
                SELECT \(key) AS k, \(Self.stageSums) FROM rollup_tickets_all r JOIN committee_units u ON u.committee = r.committee
                WHERE \(predicate) GROUP BY k ORDER BY k
                """, arguments: arguments)
        }
        // A window of days reads a range of the day index; left to itself SQLite walks each committee's whole history.
        let table = since == nil && until == nil ? "rollup_tickets r" : "rollup_tickets r INDEXED BY rollup_tickets_by_day"
        var sql = """
            SELECT \(key) AS k, r.stage AS stage, SUM(r.count) AS n FROM \(table) JOIN committee_units u ON u.committee = r.committee
            WHERE \(predicate)
            """
        if let since { sql += " AND r.day >= ?"; arguments += [since] }
        if let until { sql += " AND r.day <= ?"; arguments += [until] }
        sql += " GROUP BY k, r.stage HAVING n != 0 ORDER BY k"
        return try Self.ticketRows(db, sql: sql, arguments: arguments)
    }

    /// The same counts from the per-street daily table, for every question above the committee: by street, district,
    /// category or day, within a street, a district or the city. Tickets of committees not defined here are left out,
    /// as the join with `committee_units` leaves them out above.
    private func ticketRollupByStreet(groupBy: RollupGrouping, scope: RollupScope, since: String?, until: String?) throws -> [TicketRollupRow] {
        var sql = "SELECT r.\(groupBy.rawValue) AS k, \(Self.stageSums) FROM rollup_tickets_street r WHERE NOT (r.district = '' AND r.street = '')"
        var arguments: StatementArguments = []
        switch scope {
        case .street(let id): sql += " AND r.street = ?"; arguments += [id]
        case .district(let id): sql += " AND r.district = ?"; arguments += [id]
        case .city, .committee: break
        }
        if let since { sql += " AND r.day >= ?"; arguments += [since] }
        if let until { sql += " AND r.day <= ?"; arguments += [until] }
        sql += " GROUP BY k ORDER BY k"
        return try Self.stageColumnRows(db, sql: sql, arguments: arguments)
    }

    /// The sums of a table that keeps a column per stage (`rollup_tickets_street`, `rollup_tickets_all`), aliased `r`.
    private static let stageSums = TicketStage.allCases.map { "SUM(r.\($0.rawValue)) AS \($0.rawValue)" }.joined(separator: ", ")

    /// Rows of `k` and a sum per stage, as ticket rollup rows: stages with none left out, keys with none at all too.
    private static func stageColumnRows(_ db: Database, sql: String, arguments: StatementArguments) throws -> [TicketRollupRow] {
        try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
            var byStage: [String: Int] = [:]
            for stage in TicketStage.allCases {
                let count: Int = row[stage.rawValue]
                if count != 0 { byStage[stage.rawValue] = count }
            }
            return byStage.isEmpty ? nil : TicketRollupRow(key: row["k"], byStage: byStage)
        }
    }

    private static func ticketRows(_ db: Database, sql: String, arguments: StatementArguments) throws -> [TicketRollupRow] {
        var rows: [String: [String: Int]] = [:]
        for row in try Row.fetchAll(db, sql: sql, arguments: arguments) {
            rows[row["k"], default: [:]][row["stage"]] = row["n"]
        }
        return rows.keys.sorted().map { TicketRollupRow(key: $0, byStage: rows[$0]!) }
    }

    /// First response, resolution and overdue figures per unit (committee, street or district), from the rollup tables.
    public func slaRollup(groupBy: RollupGrouping, scope: RollupScope, nowMillis: Int64) throws -> [SLARollupRow] {
        let key = "u.\(groupBy.isUnit ? groupBy.rawValue : "committee")"
        let (predicate, arguments) = scope.predicate
        var result: [String: SLARollupRow] = [:]
        // One row per committee, summed here (as the histograms below) rather than by GROUP BY.
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT \(key), s.tickets, s.responded, s.responded_in_time, s.resolved, s.resolved_in_committee, s.waiting, s.rated, s.rating_sum
            FROM rollup_sla s JOIN committee_units u ON u.committee = s.committee WHERE \(predicate)
            """), arguments: arguments)
        while let row = try rows.next() {
            let k: String = row[0]
            let one = SLARollupRow(key: k, tickets: row[1], responded: row[2], respondedInTime: row[3], resolved: row[4], resolvedInCommittee: row[5],
                                   overdue: row[6], rated: row[7], ratingSum: row[8])
            result[k] = result[k].map { SLARollupRow.sum([$0, one], key: k) } ?? one
        }
        // Overdue depends on the time asked: every waiting ticket less those still inside their 15 hours (a short index range).
        for row in try Row.fetchAll(db, sql: """
            SELECT \(key) AS k, COUNT(*) AS n FROM ticket_facts f JOIN committee_units u ON u.committee = f.committee
            WHERE f.waiting = 1 AND f.created_ms >= ? AND \(predicate) GROUP BY k
            """, arguments: [nowMillis - Ticket.responseSLAMillis] + arguments) {
            result[row["k"]]?.overdue -= row["n"]
        }
        for (k, histogram) in try histograms("rollup_first_response", key: key, predicate: predicate, arguments: arguments) {
            result[k]?.firstResponseP50Minutes = Self.quantile(0.5, histogram)
            result[k]?.firstResponseP90Minutes = Self.quantile(0.9, histogram)
        }
        for (k, histogram) in try histograms("rollup_resolution", key: key, predicate: predicate, arguments: arguments) {
            result[k]?.resolutionP50Minutes = Self.quantile(0.5, histogram)
            result[k]?.resolutionP90Minutes = Self.quantile(0.9, histogram)
        }
        return result.keys.sorted().map { result[$0]! }
    }

    /// Per unit, a histogram table's counts per bucket.
    private func histograms(_ table: String, key: String, predicate: String, arguments: StatementArguments) throws -> [String: [Int: Int]] {
        var buckets: [String: [Int: Int]] = [:]
        // Summed here rather than by GROUP BY: a committee's buckets are one row each, and SQLite's grouping cost five
        // times the scan (10 ms at 300 committees).
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT \(key), h.bucket, h.count FROM \(table) h JOIN committee_units u ON u.committee = h.committee WHERE \(predicate)
            """), arguments: arguments)
        while let row = try rows.next() {
            buckets[row[0] as String, default: [:]][row[1] as Int, default: 0] += row[2] as Int
        }
        return buckets
    }

    /// The upper bound (minutes) of the bucket holding the q-quantile.
    static func quantile(_ q: Double, _ histogram: [Int: Int]) -> Int? {
        let total = histogram.values.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = Int((q * Double(total)).rounded(.up))
        var seen = 0
        for bucket in histogram.keys.sorted() {
            seen += histogram[bucket]!
            if seen >= max(rank, 1) { return bucket == 0 ? 1 : (1 << bucket) - 1 }
        }
        return nil
    }
}

/// The quantile rule of the SLA rollup, exposed for tests.
public enum TicketRollupQuantile {
    public static func of(_ q: Double, _ histogram: [Int: Int]) -> Int? { ReadView.quantile(q, histogram) }
    /// The bucket a duration falls in.
    public static func bucket(millis: Int64) -> Int { Ticket.durationBucket(millis: millis) }
}
