import Foundation
import GRDB
import Governance
import Replication

/// The one path by which changes reach the merged state, local and remote alike:
/// log the change (a duplicate is skipped), merge each cell by the rules of `Cell.merge`, then
/// refresh the entity index for every entity the batch touched.
struct ChangeApplier {
    let db: Database
    /// The rollup moves of the batch, summed per row and written at `finish()`.
    private let rollups: RollupDelta
    /// Entities whose derived columns or rollup facts need refreshing at `finish()`: those of the kinds a rollup keeper
    /// refreshes (`RollupKeepers`), members and tickets (their status), topics (search) and anything tombstoned. Other
    /// kinds cost nothing there.
    private var touched: [String: EntityKind] = [:]
    /// Whether posts, topics and tickets are kept in the full-text index (street nodes, where residents search).
    let indexesSearch: Bool
    /// Members' inboxes, where they are kept (street nodes); nil elsewhere.
    let inbox: Inbox?
    /// Entities a tombstone was written to in the batch: with members and tickets (which carry a status), the only ones
    /// whose row in the entity index `finish()` rewrites.
    private var tombstoned: Set<String> = []
    /// Campaigns whose sign-ups changed: their confirmations are derived at `finish()`.
    private var campaigns: Set<String> = []
    /// The notifications the applied changes caused, for the change feed.
    private(set) var notified: [InboxNotification] = []
    /// The records the batch wrote to, as merged after its last change to each (of the kinds `finish()` reads), which
    /// `finish()` then need not read back.
    private var merged = ReadView.RecordCache()
    /// The latest stamp of the changes the batch logged: `finish()` keeps the latest ever logged in `meta`, where the clock
    /// starts from after a restart (`Store.init`).
    private var latest: Int64 = 0
    /// What `finish()` will take as read, by id.
    var mergedRecords: [String: EntityRecord?] { merged.records }

    init(db: Database, indexesSearch: Bool, inbox: Bool = false, webhook: Bool = false, nowMillis: Int64 = 0) {
        self.db = db
        rollups = RollupDelta(db: db)
        self.indexesSearch = indexesSearch
        self.inbox = inbox ? Inbox(db: db, webhook: webhook, nowMillis: nowMillis) : nil
    }

    private var view: ReadView { ReadView(db: db, store: nil) }

    /// Hands over the notifications caused since the last call.
    mutating func takeNotified() -> [InboxNotification] {
        defer { notified.removeAll() }
        return notified
    }

    /// Applies one change; returns false when it was already in the log.
    mutating func apply(_ change: Change, receivedAt: Int64) throws -> Bool {
        guard let kind = EntityKind(rawValue: change.kind) else { throw StorageError.unknownKind(change.kind) }
        var log = try DirectStatement(db, sql: """
            INSERT OR IGNORE INTO changes(origin, seq, hlc, scope, kind, entity, op, fields, author, signature, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        log.bind(change.id.origin)
        log.bind(Int64(change.id.seq))
        log.bind(Int64(change.hlc.rawValue))
        log.bind(change.scope.description)
        log.bind(change.kind)
        log.bind(change.entity)
        log.bind(Int64(change.op.rawValue))
        log.bind(change.fieldsJSON)
        log.bind(change.author)
        log.bind(change.signature)
        log.bind(receivedAt)
        try log.run()
        guard db.changesCount > 0 else { return false }
        latest = max(latest, Int64(change.hlc.rawValue))

        let cells = Cell.cells(of: change)
        let parent = kind.parentField.flatMap { change.fields[$0]?.string }
        let indexedParent = kind.indexesParent ? parent : nil
        let hlc = Int64(change.hlc.rawValue)
        let fresh = Dictionary(cells.map { ($0.field, $0.cell) }, uniquingKeysWith: { $1 })
        var entity = try DirectStatement(db, sql: "INSERT OR IGNORE INTO entities(id, kind, scope, parent, created, cells) VALUES (?, ?, ?, ?, ?, ?)")
        entity.bind(change.entity)
        entity.bind(kind.rawValue)
        entity.bind(change.scope.description)
        entity.bind(indexedParent)
        entity.bind(hlc)
        entity.bind(CellsText.encode(fresh))
        try entity.run()
        let isNew = db.changesCount > 0
        let record = isNew ? EntityRecord(id: change.entity, kind: kind, scope: change.scope, cells: fresh)
                           : try merge(cells, into: change.entity, created: hlc, parent: indexedParent)
        if isNew { rollups.unfiled.insert(change.entity) }
        if kind.isReadWhenFinishing {
            // The record as merged so far in the batch: `finish()` reads it from here, not from its row.
            merged.records[change.entity] = record
            touched[change.entity] = kind
        } else if kind == .ticketEvent, let parent {
            touched[parent] = .ticket
        }
        if change.op == .remove || change.fields[Cell.tombstoneField] != nil {
            tombstoned.insert(change.entity)
            if touched[change.entity] == nil { touched[change.entity] = kind }
        }
        if kind == .post || kind == .comment || kind == .member { try ModerationLog.record(change, kind: kind, db: db) }
        if kind == .message || kind == .comment || kind == .post { try AnswerRollups.record(change, kind: kind, rollups: rollups) }
        if let inbox {
            if kind == .signup {
                if let campaign = try parent ?? view.cellValue(entity: change.entity, field: "campaign")?.string { campaigns.insert(campaign) }
            } else {
                notified += try inbox.derive(change, kind: kind)
            }
        }
        return true
    }

    /// Merges a change's cells into those of an entity that has a row already, by `Cell.merge`'s rules, and writes the row
    /// back if they changed — or if this change is older than any before it (`created`) or is the first to name the
    /// entity's parent. Returns the entity's record as merged.
    private func merge(_ cells: [(field: String, cell: Cell)], into id: String, created hlc: Int64, parent: String?) throws -> EntityRecord? {
        var read = try DirectStatement(db, sql: "SELECT kind, scope, cells, created, parent IS NULL FROM entities WHERE id = ?")
        read.bind(id)
        guard let (kindText, scopeText, text, older, firstParent) = try read.one({ row in
            (row.text(0), row.text(1), row.text(2), hlc < row.int64(3), row.int64(4) != 0 && parent != nil)
        }) else { return nil }
        var record = try ReadView.record(id: id, kind: kindText, scope: scopeText, cells: text)
        var changed = false
        for (field, cell) in cells {
            let before = record.cells[field]
            let after = Cell.merge(current: before, incoming: cell)
            if after != before {
                record.cells[field] = after
                changed = true
            }
        }
        if changed || older || firstParent {
            var write = try DirectStatement(db, sql: "UPDATE entities SET cells = ?, created = min(created, ?), parent = coalesce(parent, ?) WHERE id = ?")
            write.bind(changed ? CellsText.encode(record.cells) : text)
            write.bind(hlc)
            write.bind(parent)
            write.bind(id)
            try write.run()
        }
        return record
    }

    /// Refreshes the derived columns and rollup facts of every entity the batch touched.
    mutating func finish() throws {
        let view = ReadView(db: db, store: nil, cache: merged)
        defer {
            merged = ReadView.RecordCache()
            rollups.unfiled.removeAll()
        }
        let batch = TouchedEntities(touched, view: view)
        for keeper in RollupKeepers.all { try keeper.refresh(batch, rollups: rollups) }
        for (id, kind) in batch.all {
            if indexesSearch, kind == .post || kind == .topic || kind == .ticket { try SearchIndex.refresh(id, kind: kind, view: view, db: db) }
            guard kind == .member || kind == .ticket || tombstoned.contains(id) else { continue }
            let status = switch kind {
            case .member: try view.record(id)?["status"].string
            case .ticket: try batch.ticket(id)?.stage.rawValue
            default: String?.none
            }
            let deleted = try view.record(id)?.isDeleted ?? false
            // Unchanged (a ticket's comment leaves its stage), the row is not rewritten: its page stays clean for the commit.
            var update = try DirectStatement(db, sql: "UPDATE entities SET status = ?1, deleted = ?2 WHERE id = ?3 AND (status IS NOT ?1 OR deleted IS NOT ?2)")
            update.bind(status)
            update.bind(deleted)
            update.bind(id)
            try update.run()
        }
        try rollups.flush()
        if latest > 0 {
            try db.cachedStatement(sql: """
                INSERT INTO meta(key, value) VALUES ('latest_hlc', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1 WHERE CAST(value AS INTEGER) < ?1
                """).execute(arguments: [latest])
            latest = 0
        }
        touched.removeAll()
        tombstoned.removeAll()
        if let inbox {
            for campaign in campaigns.sorted() { notified += try inbox.confirmations(campaign: campaign) }
            campaigns.removeAll()
        }
    }
}

extension EntityKind {
    /// Whether the entity index keeps an entity's parent (its `parentField`), by which `ReadView.children(of:kind:)` finds
    /// it: for every kind with a parent but likes, whose ids name their post (`Like.ids(post:)`). A like is the most
    /// frequent change, and its entry sat at a random page of the parent index (12 % of the bytes `bench apply` wrote).
    var indexesParent: Bool { parentField != nil && self != .like }

    /// Whether `ChangeApplier.finish()` reads an entity of this kind: a rollup keeper refreshes it, or its status or search
    /// text is derived (members, tickets, topics).
    fileprivate var isReadWhenFinishing: Bool { Self.readWhenFinishing.contains(self) }
    private static let readWhenFinishing = RollupKeepers.refreshed.union([.member, .ticket, .topic])
}
