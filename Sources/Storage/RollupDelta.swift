import GRDB
import Synchronization

/// The one way rollup tables move: add signed counts to the row with the given key, creating it if needed.
/// Facts tables remember what each entity contributes; when an entity changes, its old contribution is
/// added with sign -1 and its new one with sign +1, in the transaction that applied the change.
///
/// The moves of one apply batch are summed in memory per row and written at `flush()`, once per row touched: a ticket
/// event takes its ticket's old facts back and adds the new ones (ten upserts, most of them cancelling), a thousand
/// likes on one day's posts move one `rollup_activity` row. A row whose moves sum to nothing is still written (with
/// nothing added), so the tables hold the same rows as if every move were written at once. A table read back while the
/// batch applies is moved at once with `now: true` (`household_members`, read after each move) or flushed before it is
/// read (`poll_votes`, read once per poll per batch).
final class RollupDelta {
    let db: Database
    private var pending: [String: Table] = [:]
    /// Where each committee sits (district, street), as read or changed during this batch (`TicketRollups.unit(of:)`).
    var units: [String: TicketRollups.Unit] = [:]
    /// Entities the batch created: no fact is filed under them until `RollupFact.replace` files the first, which then need
    /// not look for an old one.
    var unfiled: Set<String> = []

    private struct Table {
        var sql: String
        var rows: [[DatabaseValue]: [Int]] = [:]
    }

    init(db: Database) { self.db = db }

    /// The upsert of each table, built on first use: a table is always moved by the same key and count columns.
    private static let statements = Mutex<[String: String]>([:])

    func add(_ table: String, keys: KeyValuePairs<String, any DatabaseValueConvertible>, counts: KeyValuePairs<String, Int>,
             now: Bool = false) throws {
        let key = keys.map { $0.value.databaseValue }
        if now {
            try db.cachedStatement(sql: Self.upsert(table, keys: keys, counts: counts))
                .execute(arguments: StatementArguments(key + counts.map { $0.value.databaseValue }))
            return
        }
        if pending[table] == nil { pending[table] = Table(sql: Self.upsert(table, keys: keys, counts: counts)) }
        pending[table]!.rows[key, default: Array(repeating: 0, count: counts.count)].withUnsafeMutableBufferPointer { sums in
            for (index, (_, count)) in counts.enumerated() { sums[index] += count }
        }
    }

    /// Writes the summed moves, table by table and row by row in key order.
    func flush() throws {
        for name in pending.keys.sorted() { try flush(name) }
    }

    /// Writes the summed moves of one table, before it is read back.
    func flush(_ name: String) throws {
        guard let table = pending.removeValue(forKey: name) else { return }
        let statement = try db.cachedStatement(sql: table.sql)
        for (key, sums) in table.rows.sorted(by: { $0.key.lexicographicallyPrecedes($1.key, by: Self.precedes) }) {
            try statement.execute(arguments: StatementArguments(key + sums.map { $0.databaseValue }))
        }
    }

    private static func precedes(_ a: DatabaseValue, _ b: DatabaseValue) -> Bool {
        switch (a.storage, b.storage) {
        case (.string(let x), .string(let y)): x < y
        case (.int64(let x), .int64(let y)): x < y
        default: a.description < b.description
        }
    }

    private static func upsert(_ table: String, keys: KeyValuePairs<String, any DatabaseValueConvertible>, counts: KeyValuePairs<String, Int>) -> String {
        statements.withLock { cache in
            if let sql = cache[table] { return sql }
            let keyNames = keys.map(\.key), countNames = counts.map(\.key)
            let columns = (keyNames + countNames).joined(separator: ", ")
            let placeholders = Array(repeating: "?", count: keyNames.count + countNames.count).joined(separator: ", ")
            let updates = countNames.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", ")
            let sql = "INSERT INTO \(table)(\(columns)) VALUES (\(placeholders)) ON CONFLICT(\(keyNames.joined(separator: ", "))) DO UPDATE SET \(updates)"
            cache[table] = sql
            return sql
        }
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
    func add(sign: Int, to rollups: RollupDelta) throws
}

extension RollupFact {
    /// Replaces what `id` contributes (nil: nothing any more) and moves the rollups by the difference. Returns what it
    /// contributed before.
    @discardableResult
    static func replace(_ id: String, with new: Self?, rollups: RollupDelta) throws -> Self? {
        let db = rollups.db
        let sql = statements
        let old = rollups.unfiled.remove(id) != nil ? nil : try Row.fetchOne(db.cachedStatement(sql: sql.select), arguments: [id]).flatMap(Self.init(row:))
        guard old != new else { return old }
        try old?.add(sign: -1, to: rollups)
        guard let new else {
            try db.cachedStatement(sql: sql.delete).execute(arguments: [id])
            return old
        }
        try new.add(sign: 1, to: rollups)
        let columns = new.columns
        var insert = try DirectStatement(db, sql: sql.insert(columns: columns.map(\.0)))
        insert.bind(id)
        for (_, value) in columns { insert.bind(value?.databaseValue ?? .null) }
        try insert.run()
        return old
    }

    /// The statements of this facts table, built once per fact type (a fact is replaced for most changes applied).
    private static var statements: RollupFactStatements {
        RollupFactStatements.cache.withLock { cache in
            if let known = cache[ObjectIdentifier(Self.self)] { return known }
            let made = RollupFactStatements(table: table, key: key)
            cache[ObjectIdentifier(Self.self)] = made
            return made
        }
    }
}

/// The SQL a `RollupFact` is read, deleted and written with.
final class RollupFactStatements: Sendable {
    static let cache = Mutex<[ObjectIdentifier: RollupFactStatements]>([:])
    let select: String
    let delete: String
    private let table: String
    private let key: String
    private let insertSQL = Mutex<String?>(nil)

    init(table: String, key: String) {
        self.table = table
        self.key = key
        select = "SELECT * FROM \(table) WHERE \(key) = ?"
        delete = "DELETE FROM \(table) WHERE \(key) = ?"
    }

    /// The insert of a fact with these columns besides the key, built for the first fact written: a fact type always has
    /// the same columns.
    func insert(columns: [String]) -> String {
        insertSQL.withLock { known in
            if let known { return known }
            let placeholders = Array(repeating: "?", count: columns.count + 1).joined(separator: ", ")
            let sql = "INSERT OR REPLACE INTO \(table)(\(([key] + columns).joined(separator: ", "))) VALUES (\(placeholders))"
            known = sql
            return sql
        }
    }
}
