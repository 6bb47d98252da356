import Replication

/// A rule by which an unresolved ticket escalates itself: still open `afterMillis` after it was reported and below
/// `level`, it goes up to `level`, by `system`.
public struct EscalationRule: Hashable, Sendable {
    public var level: TicketLevel
    public var afterMillis: Int64

    public init(level: TicketLevel, afterMillis: Int64) {
        self.level = level
        self.afterMillis = afterMillis
    }

    /// Two days at the committee, then the street grid centre; five days, then the district platform.
    public static let standard = [
        EscalationRule(level: .street, afterMillis: 48 * 3_600_000),
        EscalationRule(level: .district, afterMillis: 120 * 3_600_000),
    ]
}

/// What a ticket's clock does by itself: automatic escalation, written by whichever node holding the ticket sees the
/// time pass first — the owning street, or its district while the street is cut off.
extension Ticket {
    /// The actor of automatic events.
    public static let systemActor = "system"

    /// The one id of a rule's automatic escalation of a ticket. Every node that sees the deadline pass writes the same
    /// entity, so the merged history holds it once however many wrote it (a partition healing brings two writes of one
    /// event, never two events).
    public static func automaticEscalationID(ticket: String, level: TicketLevel) -> String { "te:auto:\(ticket):\(level.name)" }

    /// The escalations due at `nowMillis`: one per rule whose time has passed while the ticket is still open below the
    /// rule's level (a cadre's own escalation first makes the rule moot), each not yet written.
    public func dueEscalations(rules: [EscalationRule], nowMillis: Int64) -> [ChangeDraft] {
        guard stage.isOpen else { return [] }
        let written = Set(history.map(\.id))
        var reached = level
        var drafts: [ChangeDraft] = []
        for rule in rules.sorted(by: { $0.level < $1.level }) where rule.level > reached && nowMillis >= createdMillis + rule.afterMillis {
            let id = Self.automaticEscalationID(ticket: self.id, level: rule.level)
            reached = rule.level
            guard !written.contains(id) else { continue }
            let hours = rule.afterMillis / 3_600_000
            drafts.append(ChangeDraft(
                scope: .committee(committee), kind: EntityKind.ticketEvent.rawValue, entity: id, op: .add,
                fields: [
                    "ticket": .string(self.id), "type": .string(TicketEventType.escalate.rawValue), "actor": .string(Self.systemActor),
                    "byStaff": .bool(false), "note": .string("超过\(hours)小时未办结，自动升级至\(rule.level.agency)"),
                    "level": .string(rule.level.name), "automatic": .bool(true),
                ],
                author: Self.systemActor))
        }
        return drafts
    }
}

/// Calling an appointment queue's numbers (叫号): each booking is called, then served or marked a no-show.
public enum BookingState: String, Sendable, CaseIterable, Codable {
    case called, served, noShow = "no_show"
}

extension Queue {
    /// Staff call a booking, or mark it served or a no-show: a last-writer-wins field of the booking.
    public static func mark(booking: EntityRecord, _ state: BookingState, in committee: Committee, by actor: Actor) throws(GovernanceError) -> ChangeDraft {
        guard actor.isStaff(of: committee) else { throw .forbidden("only cadres call queue numbers") }
        guard booking.kind == .booking, !booking.isDeleted else { throw .notFound("booking") }
        return ChangeDraft(scope: .committee(committee.id), kind: EntityKind.booking.rawValue, entity: booking.id, op: .assign,
                           fields: ["state": .string(state.rawValue), "markedBy": .string(actor.memberID)], author: actor.memberID)
    }
}
