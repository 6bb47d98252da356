import GRDB
import GRDBSQLite

/// One of GRDB's cached statements, bound and stepped through SQLite's C API. For the statements every applied change
/// runs (its log row, its entity row, its cells), GRDB's handling of arguments — each value boxed as a `DatabaseValue`
/// in a `StatementArguments`, then validated and bound — cost about as much as SQLite's own work on them.
///
/// For statements that return no rows, run inside a transaction GRDB opened. GRDB's statement hooks are skipped, which
/// nothing here relies on (no transaction observers); SQLite's own trace (`Store.countingStatements`) still sees them.
struct DirectStatement {
    private let handle: OpaquePointer
    private let db: Database
    private let sql: String
    private var index: Int32 = 0

    init(_ db: Database, sql: String) throws {
        self.db = db
        self.sql = sql
        handle = try db.cachedStatement(sql: sql).sqliteStatement
    }

    /// SQLite copies what it is given (`SQLITE_TRANSIENT`): the bytes need not outlive the call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    mutating func bind(_ value: String) {
        index += 1
        var value = value
        let index = index, handle = handle
        value.withUTF8 { bytes in
            if let base = bytes.baseAddress {
                base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { _ = sqlite3_bind_text(handle, index, $0, Int32(bytes.count), Self.transient) }
            } else {
                _ = sqlite3_bind_text(handle, index, "", 0, Self.transient)
            }
        }
    }

    mutating func bind(_ value: String?) {
        guard let value else { return bindNull() }
        bind(value)
    }

    mutating func bind(_ value: Int64) {
        index += 1
        sqlite3_bind_int64(handle, index, value)
    }

    mutating func bind(_ value: Bool) { bind(Int64(value ? 1 : 0)) }

    mutating func bind(_ bytes: [UInt8]) {
        index += 1
        let index = index, handle = handle
        // An empty blob, not NULL (a NULL pointer would bind NULL).
        guard !bytes.isEmpty else { return _ = sqlite3_bind_zeroblob(handle, index, 0) }
        bytes.withUnsafeBytes { raw in _ = sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), Self.transient) }
    }

    mutating func bind(_ value: DatabaseValue) {
        switch value.storage {
        case .null: bindNull()
        case .int64(let number): bind(number)
        case .double(let number):
            index += 1
            sqlite3_bind_double(handle, index, number)
        case .string(let text): bind(text)
        case .blob(let data): bind([UInt8](data))
        }
    }

    mutating func bindNull() {
        index += 1
        sqlite3_bind_null(handle, index)
    }

    /// Runs the statement with what was bound; it is reset and its bindings cleared whatever happens. Every parameter must
    /// have been bound (SQLite would take a missing one as NULL; GRDB refuses, and so does this).
    mutating func run() throws {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            index = 0
        }
        guard index == sqlite3_bind_parameter_count(handle) else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "\(index) of \(sqlite3_bind_parameter_count(handle)) parameters bound", sql: sql)
        }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else {
            let connection = db.sqliteConnection
            throw DatabaseError(resultCode: ResultCode(rawValue: connection.map(sqlite3_extended_errcode) ?? code),
                                message: connection.map { String(cString: sqlite3_errmsg($0)) }, sql: sql)
        }
    }
}
