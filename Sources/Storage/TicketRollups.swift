import Foundation
import GRDB
import Governance
import Replication

/// What one ticket contributes to the rollups. The rollup tables hold the sum of every ticket's facts;
/// when a ticket changes, its old facts are subtracted and its new ones added, in the same transaction.
struct TicketFacts: RollupFact {
    static let table = "ticket_facts", key = "ticket"

    var committee: String
    var category: String
    var day: String
    var stage: String
    var level: Int
    var createdMillis: Int64
    var firstResponseMillis: Int64?
    var resolvedMillis: Int64?
    var resolved: Bool
    /// `Ticket.isAwaitingResponse`: counts as overdue once 15 hours have passed.
    var waiting: Bool
    /// The reporter's rating (1–5) of the result, once closed.
    var rating: Int?

    init(_ ticket: Ticket) {
        committee = ticket.committee
        category = ticket.category.rawValue
        day = ShanghaiCalendar.day(ofMillis: ticket.createdMillis)
        stage = ticket.stage.rawValue
        level = ticket.level.rawValue
        createdMillis = ticket.createdMillis
        firstResponseMillis = ticket.firstResponseMillis
        resolvedMillis = ticket.resolvedMillis
        resolved = ticket.stage.isSolved
        waiting = ticket.isAwaitingResponse
        rating = ticket.rating
    }

    init(row: Row) {
        committee = row["committee"]
        category = row["category"]
        day = row["day"]
        stage = row["stage"]
        level = row["level"]
        createdMillis = row["created_ms"]
        firstResponseMillis = row["first_response_ms"]
        resolvedMillis = row["resolved_ms"]
        resolved = row["resolved"]
        waiting = row["waiting"]
        rating = row["rating"]
    }

    var columns: [(String, (any DatabaseValueConvertible)?)] {
        [("committee", committee), ("category", category), ("day", day), ("stage", stage), ("level", level), ("created_ms", createdMillis),
         ("first_response_ms", firstResponseMillis), ("resolved_ms", resolvedMillis), ("resolved", resolved), ("waiting", waiting), ("rating", rating)]
    }

    func add(sign: Int, to rollups: RollupDelta) throws {
        func count(_ condition: Bool) -> Int { condition ? sign : 0 }
        try rollups.add("rollup_tickets", keys: ["committee": committee, "category": category, "day": day, "stage": stage],
                            counts: ["count": sign])
        try TicketRollups.addByStreet(try TicketRollups.unit(of: committee, rollups: rollups), category: category, day: day, stage: stage,
                                      count: sign, rollups: rollups)
        try TicketRollups.addByStage("rollup_tickets_all", keys: ["committee": committee, "category": category], stage: stage, count: sign, rollups: rollups)
        try rollups.add("rollup_sla", keys: ["committee": committee], counts: [
            "tickets": sign, "responded": count(firstResponseMillis != nil), "responded_in_time": count(respondedInTime),
            "resolved": count(resolved), "resolved_in_committee": count(resolved && level == 0), "waiting": count(waiting),
            "rated": count(rating != nil), "rating_sum": sign * (rating ?? 0),
        ])
        if let bucket = firstResponseBucket {
            try rollups.add("rollup_first_response", keys: ["committee": committee, "bucket": bucket], counts: ["count": sign])
        }
        if let bucket = resolutionBucket {
            try rollups.add("rollup_resolution", keys: ["committee": committee, "bucket": bucket], counts: ["count": sign])
        }
    }

    var firstResponseBucket: Int? { firstResponseMillis.map { Ticket.durationBucket(millis: $0 - createdMillis) } }
    var resolutionBucket: Int? { resolvedMillis.map { Ticket.durationBucket(millis: $0 - createdMillis) } }
    var respondedInTime: Bool { Ticket.respondedInTime(createdMillis: createdMillis, firstResponseMillis: firstResponseMillis) }
}

enum TicketRollups {
    /// Replaces a ticket's facts and moves the rollups by the difference.
    static func update(ticket: Ticket, rollups: RollupDelta) throws {
        try TicketFacts.replace(ticket.id, with: TicketFacts(ticket), rollups: rollups)
    }

    /// Records where a committee sits. A committee defined here for the first time, or moved to another street, takes its
    /// tickets' daily counts with it in `rollup_tickets_street` (tickets that arrived before their committee count
    /// under the unknown unit until then).
    static func update(committee: Committee, rollups: RollupDelta) throws {
        let db = rollups.db
        let old = try unit(of: committee.id, rollups: rollups)
        let new = Unit(district: committee.district, street: committee.street)
        if old != new {
            try rollups.flush("rollup_tickets")
            for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT category, day, stage, count FROM rollup_tickets WHERE committee = ?"),
                                        arguments: [committee.id]) {
                let count: Int = row["count"]
                try addByStreet(old, category: row["category"], day: row["day"], stage: row["stage"], count: -count, rollups: rollups)
                try addByStreet(new, category: row["category"], day: row["day"], stage: row["stage"], count: count, rollups: rollups)
            }
        }
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO committee_units(committee, street, district) VALUES (?, ?, ?)")
            .execute(arguments: [committee.id, committee.street, committee.district])
        rollups.units[committee.id] = new
    }

    /// A committee's district and street; both empty while the committee is not defined on this node.
    struct Unit: Hashable {
        var district: String
        var street: String
        static let unknown = Unit(district: "", street: "")
    }

    /// Where `committee` sits, read once per apply batch.
    static func unit(of committee: String, rollups: RollupDelta) throws -> Unit {
        if let unit = rollups.units[committee] { return unit }
        let row = try Row.fetchOne(rollups.db.cachedStatement(sql: "SELECT district, street FROM committee_units WHERE committee = ?"),
                                   arguments: [committee])
        let unit = row.map { Unit(district: $0["district"], street: $0["street"]) } ?? .unknown
        rollups.units[committee] = unit
        return unit
    }

    /// Tickets per day, street and category, a column per stage: a district's 30 days are streets × days × categories
    /// rows, not one row per committee, day and stage.
    static func addByStreet(_ unit: Unit, category: String, day: String, stage: String, count: Int, rollups: RollupDelta) throws {
        try addByStage("rollup_tickets_street", keys: ["day": day, "district": unit.district, "street": unit.street, "category": category],
                       stage: stage, count: count, rollups: rollups)
    }

    /// Moves the column of `stage` in a table that keeps a column per stage.
    static func addByStage(_ table: String, keys: KeyValuePairs<String, any DatabaseValueConvertible>, stage: String, count: Int,
                           rollups: RollupDelta) throws {
        func at(_ column: TicketStage) -> Int { stage == column.rawValue ? count : 0 }
        try rollups.add(table, keys: keys, counts: ["submitted": at(.submitted), "acknowledged": at(.acknowledged), "in_progress": at(.inProgress),
                                                    "resolved": at(.resolved), "closed": at(.closed)])
    }
}
