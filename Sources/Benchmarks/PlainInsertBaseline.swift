import Foundation
import GRDB
import Replication

/// The baseline for `shequ bench apply`: the same change rows inserted into a plain SQLite table
/// with one prepared statement, batched in transactions — the fastest obvious way to store them.
public enum PlainInsertBaseline {
    /// Inserts the changes into a fresh database at `path` in batches; returns the seconds taken.
    public static func insert(_ changes: [Change], batch: Int, path: String) throws -> Double {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
            try db.execute(sql: """
                CREATE TABLE changes (origin TEXT NOT NULL, seq INTEGER NOT NULL, hlc INTEGER NOT NULL, scope TEXT NOT NULL, kind TEXT NOT NULL,
                entity TEXT NOT NULL, op INTEGER NOT NULL, fields TEXT NOT NULL, author TEXT NOT NULL, signature BLOB NOT NULL,
                received_at INTEGER NOT NULL, PRIMARY KEY (origin, seq)) WITHOUT ROWID
                """)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        for slice in stride(from: 0, to: changes.count, by: batch).map({ changes[$0..<min($0 + batch, changes.count)] }) {
            try queue.write { db in
                let statement = try db.cachedStatement(sql: "INSERT INTO changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                for change in slice {
                    try statement.execute(arguments: [
                        change.id.origin, Int64(change.id.seq), Int64(change.hlc.rawValue), change.scope.description, change.kind, change.entity,
                        Int64(change.op.rawValue), change.fieldsJSON, change.author, Data(change.signature), Int64(0),
                    ])
                }
            }
        }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }
}
