import Foundation
import GRDB
import Governance
import Replication

/// What one pass of the ticket watch did.
public struct TicketWatchResult: Sendable, Hashable {
    /// Automatic escalation events written.
    public var escalated = 0
    /// Overdue alerts added to street officers' inboxes.
    public var alerted = 0
    /// A pass handled a full batch: more may be due at once.
    public var more = false

    public init() {}
}

/// The clock's part in ticket handling (`TicketWatch` in the node runs it every minute): automatic escalation by the
/// rules, on every node that may write a ticket's committee (its street, and its district while the street is cut off
/// — both write the same deterministic event); and overdue alerts to the street's officers, where inboxes are kept.
extension WriteTransaction {
    /// At most this many tickets are handled per pass, so that one pass is a short transaction (the next goes on).
    public static let watchBatch = 500

    public mutating func watchTickets(rules: [EscalationRule], nowMillis: Int64) throws -> TicketWatchResult {
        var result = TicketWatchResult()
        if !rules.isEmpty {
            // Only tickets some rule has come due for: below its level and older than its time (a ticket already raised
            // by a rule, or by hand, stands at that level and is not read again every minute).
            let due = rules.map { _ in "(level < ? AND created_ms <= ?)" }.joined(separator: " OR ")
            var arguments: StatementArguments = []
            for rule in rules { arguments += [rule.level.rawValue, nowMillis - rule.afterMillis] }
            let ids = try String.fetchAll(db, sql: """
                SELECT ticket FROM ticket_facts WHERE resolved = 0 AND stage IN ('submitted', 'acknowledged', 'in_progress')
                    AND (\(due)) ORDER BY created_ms, ticket LIMIT ?
                """, arguments: arguments + [Self.watchBatch])
            for id in ids {
                guard let ticket = try view.ticket(id) else { continue }
                let drafts = ticket.dueEscalations(rules: rules, nowMillis: nowMillis)
                guard !drafts.isEmpty else { continue }
                try append(drafts)
                result.escalated += drafts.count
            }
            result.more = ids.count == Self.watchBatch
        }
        if store.keepsInboxes {
            let (alerted, more) = try alertOverdue(nowMillis: nowMillis)
            result.alerted = alerted
            result.more = result.more || more
        }
        return result
    }

    /// Tells each officer of a ticket's street, once, that it waited past its 15 hours without a first response (only
    /// tickets overdue for less than a week: older ones were told of long ago). Tickets already told of are skipped, so
    /// a week with more overdue tickets than a batch is told of in full over the passes.
    private mutating func alertOverdue(nowMillis: Int64) throws -> (alerted: Int, more: Bool) {
        let due = nowMillis - Ticket.responseSLAMillis
        let rows = try Row.fetchAll(db, sql: """
            SELECT f.ticket, f.committee, f.created_ms, u.street FROM ticket_facts f JOIN committee_units u ON u.committee = f.committee
            WHERE f.waiting = 1 AND f.created_ms < ? AND f.created_ms >= ?
              AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.id >= 'overdue:' || f.ticket || ':' AND n.id < 'overdue:' || f.ticket || ';')
            ORDER BY f.created_ms LIMIT ?
            """, arguments: [due, due - 7 * 86_400_000, Self.watchBatch])
        let inbox = Inbox(db: db, webhook: store.sendsWebhooks, nowMillis: nowMillis)
        var officers: [String: [String]] = [:]
        var alerted = 0
        for row in rows {
            let ticket: String = row["ticket"], street: String = row["street"], created: Int64 = row["created_ms"]
            if officers[street] == nil { officers[street] = try view.officers(role: .streetOfficer, unit: street) }
            for officer in officers[street] ?? [] {
                let notification = InboxNotification(id: "overdue:\(ticket):\(officer)", audience: officer, reason: .overdue, entity: ticket,
                                                     subject: ticket, actor: Ticket.systemActor, committee: row["committee"], detail: nil,
                                                     createdMillis: created + Ticket.responseSLAMillis)
                if let inserted = try inbox.insert(notification) {
                    alerted += 1
                    alertedNow.append(inserted)
                }
            }
        }
        return (alerted, rows.count == Self.watchBatch)
    }

    /// Calls the next waiting number of a queue (the lowest not yet called, served, missed or cancelled); nil when none waits.
    public mutating func callNext(queue id: String, by actor: Actor) throws -> QueueBooking? {
        let (_, committee) = try view.requireOwned(id, kind: .queue)
        guard actor.isStaff(of: committee) else { throw GovernanceError.forbidden("only cadres call queue numbers") }
        guard let next = try view.bookings(queue: id).first(where: { !$0.cancelled && $0.state == nil }) else { return nil }
        return try markBooking(queue: id, number: next.number, .called, by: actor)
    }

    /// Marks a queue number called, served or a no-show; the member is told.
    public mutating func markBooking(queue id: String, number: Int, _ state: BookingState, by actor: Actor) throws -> QueueBooking {
        let (_, committee) = try view.requireOwned(id, kind: .queue)
        guard let booking = try view.bookings(queue: id).first(where: { $0.number == number }), !booking.cancelled,
              let record = try view.record(booking.id) else { throw GovernanceError.notFound("number \(number)") }
        try append(try Queue.mark(booking: record, state, in: committee, by: actor))
        return try view.bookings(queue: id).first { $0.number == number }!
    }
}

/// A number handed out by a queue, as its roster shows it.
public struct QueueBooking: Sendable, Hashable {
    public var id: String
    public var number: Int
    public var slot: String
    public var member: String
    public var state: BookingState?
    public var cancelled: Bool
}

extension ReadView {
    /// A queue's numbers in order, cancelled ones included (their numbers are not handed out again).
    public func bookings(queue: String) throws -> [QueueBooking] {
        try children(of: queue, kind: .booking, limit: 1_000_000).compactMap { record in
            guard let number = record["number"].int, let member = record["member"].string else { return nil }
            return QueueBooking(id: record.id, number: Int(number), slot: record["slot"].string ?? "", member: member,
                                state: record["state"].string.flatMap(BookingState.init), cancelled: record.isDeleted)
        }.sorted { $0.number < $1.number }
    }

    /// The members with an officer's role in a unit (a street's officers): members in the unit's own scope.
    public func officers(role: Role, unit: String) throws -> [String] {
        let scope: Scope = role == .districtOfficer ? .district(unit) : role == .cityOfficer ? .city : .street(unit)
        return try records(where: "kind = 'member' AND scope = ?", [scope.description], limit: 1_000, newestFirst: false)
            .compactMap(Member.init).filter { $0.role == role && $0.status == .approved }.map(\.id)
    }
}
