import Foundation
import GRDB
import Governance
import Replication

/// What one ticket contributes to the rollups. The rollup tables hold the sum of every ticket's facts;
/// when a ticket changes, its old facts are subtracted and its new ones added, in the same transaction.
struct TicketFacts: Equatable {
    var committee: String
    var category: String
    var day: String
    var stage: String
    var level: Int
    var createdMillis: Int64
    var firstResponseMillis: Int64?
    var resolved: Bool
    /// Open with no first response yet: counts as overdue once 15 hours have passed.
    var waiting: Bool

    init(_ ticket: Ticket) {
        committee = ticket.committee
        category = ticket.category.rawValue
        day = ShanghaiCalendar.day(ofMillis: ticket.createdMillis)
        stage = ticket.stage.rawValue
        level = ticket.level.rawValue
        createdMillis = ticket.createdMillis
        firstResponseMillis = ticket.firstResponseMillis
        resolved = ticket.stage == .resolved || ticket.stage == .closed
        waiting = ticket.firstResponseMillis == nil && ticket.stage.isOpen
    }

    init(row: Row) {
        committee = row["committee"]
        category = row["category"]
        day = row["day"]
        stage = row["stage"]
        level = row["level"]
        createdMillis = row["created_ms"]
        firstResponseMillis = row["first_response_ms"]
        resolved = row["resolved"]
        waiting = row["waiting"]
    }

    /// The power-of-two bucket of a first-response time in minutes: 0 for under a minute, then ⌊log2(minutes)⌋ + 1.
    static func bucket(minutes: Int64) -> Int {
        minutes < 1 ? 0 : Int(64 - UInt64(minutes).leadingZeroBitCount)
    }

    var firstResponseBucket: Int? { firstResponseMillis.map { Self.bucket(minutes: max(0, $0 - createdMillis) / 60_000) } }
    var respondedInTime: Bool { firstResponseMillis.map { $0 - createdMillis <= Ticket.responseSLAMillis } ?? false }
}

enum TicketRollups {
    /// Replaces a ticket's facts and moves the rollups by the difference.
    static func update(ticket: Ticket, db: Database) throws {
        let new = TicketFacts(ticket)
        let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM ticket_facts WHERE ticket = ?"), arguments: [ticket.id]).map(TicketFacts.init(row:))
        guard old != new else { return }
        if let old { try add(old, sign: -1, db: db) }
        try add(new, sign: 1, db: db)
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO ticket_facts(ticket, committee, category, day, stage, level, created_ms, first_response_ms, resolved, waiting)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [ticket.id, new.committee, new.category, new.day, new.stage, new.level, new.createdMillis,
                                     new.firstResponseMillis, new.resolved, new.waiting])
    }

    private static func add(_ facts: TicketFacts, sign: Int, db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO rollup_tickets(committee, category, day, stage, count) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(committee, category, day, stage) DO UPDATE SET count = count + excluded.count
            """).execute(arguments: [facts.committee, facts.category, facts.day, facts.stage, sign])
        try db.cachedStatement(sql: """
            INSERT INTO rollup_sla(committee, tickets, responded, responded_in_time, resolved, resolved_in_committee) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(committee) DO UPDATE SET tickets = tickets + excluded.tickets, responded = responded + excluded.responded,
                responded_in_time = responded_in_time + excluded.responded_in_time, resolved = resolved + excluded.resolved,
                resolved_in_committee = resolved_in_committee + excluded.resolved_in_committee
            """).execute(arguments: [facts.committee, sign, facts.firstResponseMillis == nil ? 0 : sign, facts.respondedInTime ? sign : 0,
                                     facts.resolved ? sign : 0, facts.resolved && facts.level == 0 ? sign : 0])
        if let bucket = facts.firstResponseBucket {
            try db.cachedStatement(sql: """
                INSERT INTO rollup_first_response(committee, bucket, count) VALUES (?, ?, ?)
                ON CONFLICT(committee, bucket) DO UPDATE SET count = count + excluded.count
                """).execute(arguments: [facts.committee, bucket, sign])
        }
    }

    /// Records where a committee sits.
    static func update(committee: Committee, db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO committee_units(committee, street, district) VALUES (?, ?, ?)")
            .execute(arguments: [committee.id, committee.street, committee.district])
    }
}
