import Governance
import Replication

/// Keeps some rollup tables as changes apply. At the end of every apply batch `ChangeApplier.finish` hands each keeper of
/// `RollupKeepers.all` the entities the batch touched of the kinds it `refreshes`; the keeper files their facts
/// (`RollupFact.replace`) and moves its tables through the batch's `RollupDelta`, which writes them once at the end.
/// Keepers are independent of one another: each files its own facts and moves its own tables.
protocol RollupKeeper {
    /// The kinds of entity whose touched ids it is handed (a ticket event touches its ticket).
    static var refreshes: Set<EntityKind> { get }
    static func refresh(_ touched: TouchedEntities, rollups: RollupDelta) throws
}

/// Every keeper, in the order `finish()` runs them.
enum RollupKeepers {
    static let all: [any RollupKeeper.Type] = [ParticipationRollups.self, TicketRollups.self, ActivityRollups.self, PollRollups.self]
    /// The kinds some keeper refreshes.
    static let refreshed: Set<EntityKind> = all.reduce(into: []) { $0.formUnion($1.refreshes) }
}

/// The entities one batch touched, by id, and what `finish()` reads of them more than once (a ticket and its events).
final class TouchedEntities {
    let view: ReadView
    /// Every touched entity and its kind, by id.
    let all: [(id: String, kind: EntityKind)]
    private var tickets: [String: Ticket?] = [:]

    init(_ touched: [String: EntityKind], view: ReadView) {
        self.view = view
        all = touched.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The touched entities of these kinds, by id.
    func of(_ kinds: Set<EntityKind>) -> [(id: String, kind: EntityKind)] { all.filter { kinds.contains($0.kind) } }

    /// The ids of the touched entities of this kind.
    func ids(_ kind: EntityKind) -> Set<String> { Set(all.lazy.filter { $0.kind == kind }.map(\.id)) }

    /// A touched ticket with its events folded, read once per batch.
    func ticket(_ id: String) throws -> Ticket? {
        if let known = tickets[id] { return known }
        let ticket = try view.ticket(id)
        tickets[id] = ticket
        return ticket
    }
}

extension ParticipationRollups: RollupKeeper {
    static let refreshes: Set<EntityKind> = [.member]

    static func refresh(_ touched: TouchedEntities, rollups: RollupDelta) throws {
        for (id, _) in touched.of(refreshes) { try update(member: id, view: touched.view, rollups: rollups) }
    }
}

extension TicketRollups: RollupKeeper {
    /// Tickets (a ticket event touches its ticket), and committees: where a committee sits moves its tickets' street rows.
    static let refreshes: Set<EntityKind> = [.ticket, .committee]

    static func refresh(_ touched: TouchedEntities, rollups: RollupDelta) throws {
        for (id, kind) in touched.of(refreshes) {
            if kind == .ticket, let ticket = try touched.ticket(id) { try update(ticket: ticket, rollups: rollups) }
            if kind == .committee, let committee = try touched.view.committee(id) { try update(committee: committee, rollups: rollups) }
        }
    }
}

extension ActivityRollups: RollupKeeper {
    static let refreshes: Set<EntityKind> = [.post, .comment, .like]

    static func refresh(_ touched: TouchedEntities, rollups: RollupDelta) throws {
        try refresh(posts: touched.ids(.post), items: touched.ids(.comment).union(touched.ids(.like)), view: touched.view, rollups: rollups)
    }
}

extension PollRollups: RollupKeeper {
    static let refreshes: Set<EntityKind> = [.poll, .ballot]

    static func refresh(_ touched: TouchedEntities, rollups: RollupDelta) throws {
        try refresh(polls: touched.ids(.poll), ballots: touched.ids(.ballot), view: touched.view, rollups: rollups)
    }
}
