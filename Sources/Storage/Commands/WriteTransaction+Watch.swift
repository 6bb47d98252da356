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

    public init() {}
}

/// The clock's part in ticket handling (`TicketWatch` in the node runs it every minute): automatic escalation by the
/// rules, on every node that may write a ticket's committee (its street, and its district while the street is cut off
/// — both write the same deterministic event); and overdue alerts to the street's officers, where inboxes are kept.
extension WriteTransaction {
    /// At most this many tickets are handled per pass, so that one pass is a short transaction (the next goes on).
    static let watchBatch = 500

    public mutating func watchTickets(rules: [EscalationRule], nowMillis: Int64) throws -> TicketWatchResult {
        var result = TicketWatchResult()
        if let earliest = rules.map(\.afterMillis).min(), let top = rules.map(\.level).max() {
            let ids = try String.fetchAll(db, sql: """
                SELECT ticket FROM ticket_facts WHERE resolved = 0 AND stage IN ('submitted', 'acknowledged', 'in_progress')
                    AND level < ? AND created_ms <= ? ORDER BY created_ms, ticket
                """, arguments: [top.rawValue, nowMillis - earliest])
            var written = 0
            for id in ids where written < Self.watchBatch {
                guard let ticket = try view.ticket(id) else { continue }
                let drafts = ticket.dueEscalations(rules: rules, nowMillis: nowMillis)
                guard !drafts.isEmpty else { continue }
                try append(drafts)
                written += 1
                result.escalated += drafts.count
            }
        }
        if store.keepsInboxes { result.alerted = try alertOverdue(nowMillis: nowMillis) }
        return result
    }

    /// Tells each officer of a ticket's street, once, that it waited past its 15 hours without a first response (only
    /// tickets overdue for less than a week: older ones were told of long ago).
    private mutating func alertOverdue(nowMillis: Int64) throws -> Int {
        let due = nowMillis - Ticket.responseSLAMillis
        let rows = try Row.fetchAll(db, sql: """
            SELECT f.ticket, f.committee, f.created_ms, u.street FROM ticket_facts f JOIN committee_units u ON u.committee = f.committee
            WHERE f.waiting = 1 AND f.created_ms < ? AND f.created_ms >= ? ORDER BY f.created_ms LIMIT ?
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
        return alerted
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
