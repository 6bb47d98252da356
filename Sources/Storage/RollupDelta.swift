import GRDB
import Synchronization

/// The one way rollup tables move: add signed counts to the row with the given key, creating it if needed.
/// Facts tables remember what each entity contributes; when an entity changes, its old contribution is
/// added with sign -1 and its new one with sign +1, in the transaction that applied the change.
enum RollupDelta {
    /// The upsert of each table, built on first use: a table is always moved by the same key and count columns.
    private static let statements = Mutex<[String: String]>([:])

    static func add(_ table: String, keys: KeyValuePairs<String, any DatabaseValueConvertible>, counts: KeyValuePairs<String, Int>,
                    db: Database) throws {
        let sql = statements.withLock { cache in
            if let sql = cache[table] { return sql }
            let keyNames = keys.map(\.key), countNames = counts.map(\.key)
            let columns = (keyNames + countNames).joined(separator: ", ")
            let placeholders = Array(repeating: "?", count: keyNames.count + countNames.count).joined(separator: ", ")
            let updates = countNames.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", ")
            let sql = "INSERT INTO \(table)(\(columns)) VALUES (\(placeholders)) ON CONFLICT(\(keyNames.joined(separator: ", "))) DO UPDATE SET \(updates)"
            cache[table] = sql
            return sql
        }
        var values: [(any DatabaseValueConvertible)?] = []
        values.reserveCapacity(keys.count + counts.count)
        for (_, value) in keys { values.append(value) }
        for (_, count) in counts { values.append(count) }
        try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(values))
    }
}

/// What one entity contributes to some rollups, remembered in a facts table under the entity's id, so that
/// a later change can take the old contribution back before adding the new one.
protocol RollupFact: Equatable {
    /// The facts table and its key column.
    static var table: String { get }
    static var key: String { get }
    init?(row: Row)
    /// The stored columns besides the key.
    var columns: [(String, (any DatabaseValueConvertible)?)] { get }
    /// Moves the rollups by this fact, times `sign` (+1 or -1).
    func add(sign: Int, db: Database) throws
}

extension RollupFact {
    /// Replaces what `id` contributes (nil: nothing any more) and moves the rollups by the difference. Returns what it
    /// contributed before.
    @discardableResult
    static func replace(_ id: String, with new: Self?, db: Database) throws -> Self? {
        let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM \(table) WHERE \(key) = ?"), arguments: [id]).flatMap(Self.init(row:))
        guard old != new else { return old }
        try old?.add(sign: -1, db: db)
        guard let new else {
            try db.cachedStatement(sql: "DELETE FROM \(table) WHERE \(key) = ?").execute(arguments: [id])
            return old
        }
        try new.add(sign: 1, db: db)
        let columns = new.columns
        let names = ([key] + columns.map(\.0)).joined(separator: ", ")
        let placeholders = Array(repeating: "?", count: columns.count + 1).joined(separator: ", ")
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO \(table)(\(names)) VALUES (\(placeholders))")
            .execute(arguments: StatementArguments([id] + columns.map(\.1)))
        return old
    }
}
