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
    /// Entities the batch wrote to, and the records of those among them it created with a single change: such a record is
    /// that change's cells (`record(createdBy:)`), which `finish()` then need not read back.
    private var written: Set<String> = []
    private var created = ReadView.RecordCache()

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

        let cells = Cell.cells(of: change)
        try merge(entity: change.entity, cells: cells)
        let parent = kind.parentField.flatMap { change.fields[$0]?.string }
        let hlc = Int64(change.hlc.rawValue)
        var entity = try DirectStatement(db, sql: "INSERT OR IGNORE INTO entities(id, kind, scope, parent, created) VALUES (?, ?, ?, ?, ?)")
        entity.bind(change.entity)
        entity.bind(kind.rawValue)
        entity.bind(change.scope.description)
        entity.bind(parent)
        entity.bind(hlc)
        try entity.run()
        let isNew = db.changesCount > 0
        if !isNew {
            // Known already: it was made no later than this change, and its parent is the first one any change named.
            var known = try DirectStatement(db, sql: """
                UPDATE entities SET created = min(created, ?1), parent = coalesce(parent, ?2)
                WHERE id = ?3 AND (?1 < created OR (parent IS NULL AND ?2 IS NOT NULL))
                """)
            known.bind(hlc)
            known.bind(parent)
            known.bind(change.entity)
            try known.run()
        }
        if isNew { rollups.unfiled.insert(change.entity) }
        if written.insert(change.entity).inserted {
            if isNew, kind.isReadWhenFinishing { created.records[change.entity] = Self.record(createdBy: change, kind: kind, cells: cells) }
        } else {
            created.records[change.entity] = nil
        }
        if kind.isReadWhenFinishing {
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

    /// Merges a change's cells by `Cell.merge`'s rules (every cell of a change has the same stamp and op). Last-writer-wins
    /// and write-once cells merge inside SQLite, all of a change's cells in one multi-row upsert; max-registers and
    /// tombstones read, merge with `Cell.merge`, and write back.
    private func merge(entity: String, cells: [(field: String, cell: Cell)]) throws {
        guard let op = cells.first?.cell.op else { return }
        switch op {
        case .assign, .add:
            let sql = (op == .assign ? Self.assignUpserts : Self.addUpserts).dropFirst(cells.count).first ?? Self.upsert(op: op, rows: cells.count)
            var upsert = try DirectStatement(db, sql: sql)
            for (field, cell) in cells {
                upsert.bind(entity)
                upsert.bind(field)
                upsert.bind(cell.value.canonicalJSON)
                upsert.bind(Int64(cell.stamp.hlc.rawValue))
                upsert.bind(cell.stamp.origin)
                upsert.bind(Int64(cell.op.rawValue))
            }
            try upsert.run()
        case .raise, .remove:
            for (field, cell) in cells {
                let current = try Row.fetchOne(db.cachedStatement(sql: "SELECT value, hlc, origin, op FROM cells WHERE entity = ? AND field = ?"),
                                               arguments: [entity, field]).map(ReadView.cell(from:))
                let merged = Cell.merge(current: current, incoming: cell)
                guard merged != current else { continue }
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO cells(entity, field, value, hlc, origin, op) VALUES (?, ?, ?, ?, ?, ?)")
                    .execute(arguments: [entity, field, merged.value.canonicalJSON, Int64(merged.stamp.hlc.rawValue), merged.stamp.origin,
                                         Int64(merged.op.rawValue)])
            }
        }
    }

    /// The record of an entity whose first change this is: its cells as they merge into no cells at all.
    static func record(createdBy change: Change, kind: EntityKind, cells: [(field: String, cell: Cell)]) -> EntityRecord {
        EntityRecord(id: change.entity, kind: kind, scope: change.scope, cells: Dictionary(cells.map { ($0.field, $0.cell) }, uniquingKeysWith: { $1 }))
    }

    private static let assignUpserts = (0...16).map { upsert(op: .assign, rows: $0) }
    private static let addUpserts = (0...16).map { upsert(op: .add, rows: $0) }

    /// The upsert of `rows` cells of one op: last writer wins (`assign`), first writer wins (`add`, which also yields
    /// to any cell of a higher op, as `Cell.merge` does).
    private static func upsert(op: FieldOp, rows: Int) -> String {
        let values = Array(repeating: "(?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
        let wins = op == .assign
            ? """
              cells.op = excluded.op AND (excluded.hlc > cells.hlc OR (excluded.hlc = cells.hlc AND excluded.origin > cells.origin)
                  OR (excluded.hlc = cells.hlc AND excluded.origin = cells.origin AND excluded.value > cells.value))
              """
            : """
              cells.op < excluded.op
                  OR (cells.op = excluded.op AND (excluded.hlc < cells.hlc OR (excluded.hlc = cells.hlc AND excluded.origin < cells.origin)
                  OR (excluded.hlc = cells.hlc AND excluded.origin = cells.origin AND excluded.value < cells.value)))
              """
        return """
            INSERT INTO cells(entity, field, value, hlc, origin, op) VALUES \(values)
            ON CONFLICT(entity, field) DO UPDATE SET value = excluded.value, hlc = excluded.hlc, origin = excluded.origin, op = excluded.op
            WHERE \(wins)
            """
    }

    /// Refreshes the derived columns and rollup facts of every entity the batch touched.
    mutating func finish() throws {
        let view = ReadView(db: db, store: nil, cache: created)
        defer {
            created = ReadView.RecordCache()
            written.removeAll()
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
            try db.cachedStatement(sql: "UPDATE entities SET status = ?1, deleted = ?2 WHERE id = ?3 AND (status IS NOT ?1 OR deleted IS NOT ?2)")
                .execute(arguments: [status, deleted, id])
        }
        try rollups.flush()
        touched.removeAll()
        tombstoned.removeAll()
        if let inbox {
            for campaign in campaigns.sorted() { notified += try inbox.confirmations(campaign: campaign) }
            campaigns.removeAll()
        }
    }
}

extension EntityKind {
    /// Whether `ChangeApplier.finish()` reads an entity of this kind: a rollup keeper refreshes it, or its status or search
    /// text is derived (members, tickets, topics).
    fileprivate var isReadWhenFinishing: Bool { Self.readWhenFinishing.contains(self) }
    private static let readWhenFinishing = RollupKeepers.refreshed.union([.member, .ticket, .topic])
}
