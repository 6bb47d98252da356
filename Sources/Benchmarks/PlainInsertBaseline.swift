import Foundation
import GRDB
import Governance
import Replication

/// The baselines for `shequ bench apply`, each the same changes written to a fresh plain SQLite database with prepared
/// statements, batched in transactions as the apply path batches them.
public enum PlainInsertBaseline {
    /// The change rows inserted into one table: the fastest obvious way to store them. Returns the seconds taken.
    public static func insert(_ changes: [Change], batch: Int, path: String) throws -> Double {
        let queue = try open(path, schema: logTable)
        return try timed(changes, batch: batch, queue: queue) { db, change in try insertLogRow(change, db: db) }
    }

    /// The floor under any replica's apply path: for each change the log row above and the row of the entity it writes,
    /// upserted at the entity's id with the change's fields as its state, and the entity table's index by parent (which
    /// lists a post's comments): the rows a node must write to hold a change and the state it leads to, with no merge, no
    /// rollup and none of our code. Returns the seconds taken.
    public static func insertWithState(_ changes: [Change], batch: Int, path: String) throws -> Double {
        let queue = try open(path, schema: logTable + """
            ;
            CREATE TABLE entities (id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, scope TEXT NOT NULL, parent TEXT,
            created INTEGER NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;
            CREATE INDEX entities_by_parent ON entities(parent, kind, created) WHERE parent IS NOT NULL
            """)
        return try timed(changes, batch: batch, queue: queue) { db, change in
            try insertLogRow(change, db: db)
            let parent = EntityKind(rawValue: change.kind)?.parentField.flatMap { change.fields[$0]?.string }
            try db.cachedStatement(sql: "INSERT INTO entities VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state")
                .execute(arguments: [change.entity, change.kind, change.scope.description, parent, Int64(change.hlc.rawValue), change.fieldsJSON])
        }
    }

    private static let logTable = """
        CREATE TABLE changes (origin TEXT NOT NULL, seq INTEGER NOT NULL, hlc INTEGER NOT NULL, scope TEXT NOT NULL, kind TEXT NOT NULL,
        entity TEXT NOT NULL, op INTEGER NOT NULL, fields TEXT NOT NULL, author TEXT NOT NULL, signature BLOB NOT NULL,
        received_at INTEGER NOT NULL, PRIMARY KEY (origin, seq)) WITHOUT ROWID
        """

    private static func open(_ path: String, schema: String) throws -> DatabaseQueue {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
            try db.execute(sql: schema)
        }
        return queue
    }

    private static func insertLogRow(_ change: Change, db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").execute(arguments: [
            change.id.origin, Int64(change.id.seq), Int64(change.hlc.rawValue), change.scope.description, change.kind, change.entity,
            Int64(change.op.rawValue), change.fieldsJSON, change.author, Data(change.signature), Int64(0),
        ])
    }

    /// Writes the changes in transactions of `batch`, `write` for each; returns the seconds taken.
    private static func timed(_ changes: [Change], batch: Int, queue: DatabaseQueue, write: (Database, Change) throws -> Void) throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        for offset in stride(from: 0, to: changes.count, by: batch) {
            try queue.write { db in
                for change in changes[offset..<min(offset + batch, changes.count)] { try write(db, change) }
            }
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
