import Foundation
import GRDB
import Governance
import Replication

/// Where a queue of tickets is read from: the tickets at one level in the committees of a unit.
public enum TicketQueueScope: Sendable, Equatable {
    case committee(String)
    case street(String)
    case district(String)
    case city
}

extension ReadView {
    /// The tickets at `level` within `scope`, due first (a ticket's answer is due a fixed time after its creation, so
    /// oldest first is overdue first), after `cursor`, at most `limit`; optionally only one stage, or only those
    /// still waiting for a first response past their due time (`overdue`).
    public func ticketQueue(level: TicketLevel, scope: TicketQueueScope, stage: TicketStage?, overdue: Bool?, nowMillis: Int64,
                            limit: Int, after cursor: PageCursor?) throws -> [Ticket] {
        var sql = "SELECT f.ticket FROM ticket_facts f JOIN committee_units u ON u.committee = f.committee WHERE f.level = ?"
        var arguments: StatementArguments = [level.rawValue]
        switch scope {
        case .committee(let id): sql += " AND f.committee = ?"; arguments += [id]
        case .street(let id): sql += " AND u.street = ?"; arguments += [id]
        case .district(let id): sql += " AND u.district = ?"; arguments += [id]
        case .city: break
        }
        if let stage { sql += " AND f.stage = ?"; arguments += [stage.rawValue] }
        let due = nowMillis - Ticket.responseSLAMillis
        switch overdue {
        case true?: sql += " AND f.waiting = 1 AND f.created_ms < ?"; arguments += [due]
        case false?: sql += " AND NOT (f.waiting = 1 AND f.created_ms < ?)"; arguments += [due]
        case nil: break
        }
        if let cursor { sql += " AND (f.created_ms > ? OR (f.created_ms = ? AND f.ticket > ?))"; arguments += [cursor.created, cursor.created, cursor.id] }
        sql += " ORDER BY f.created_ms, f.ticket LIMIT ?"
        arguments += [limit]
        return try String.fetchAll(db, sql: sql, arguments: arguments).compactMap { try ticket($0) }
    }
}
