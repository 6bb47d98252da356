import GRDB
import GRDBSQLite

/// One of GRDB's cached statements, bound and stepped through SQLite's C API. For the statements every applied change
/// runs (its log row, its entity row) and the rollups' most frequent ones, GRDB's handling of arguments — each value
/// boxed as a `DatabaseValue` in a `StatementArguments`, then validated and bound — cost about as much as SQLite's own
/// work on them.
///
/// For statements that return no rows (`run`), one wanted (`one`) or a few (`all`), run inside a transaction GRDB
/// opened. GRDB's statement hooks are skipped, which nothing here relies on (no transaction observers); SQLite's own trace
/// (`Store.countingStatements`) still sees them.
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

    /// The columns of the row a query stands on (`one`), read by position.
    struct Columns {
        fileprivate let handle: OpaquePointer

        func text(_ column: Int32) -> String {
            guard let bytes = sqlite3_column_text(handle, column) else { return "" }
            return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
        }

        func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

        func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    }

    /// Runs a query with what was bound and reads its first row with `read`, or returns nil when it has none; it is reset
    /// and its bindings cleared whatever happens.
    mutating func one<T>(_ read: (Columns) throws -> T) throws -> T? {
        defer { reset() }
        try checkBound()
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return try read(Columns(handle: handle))
        case SQLITE_DONE: return nil
        case let code: throw failure(code)
        }
    }

    /// Runs a query with what was bound and reads every row with `read`; it is reset and its bindings cleared whatever
    /// happens.
    mutating func all<T>(_ read: (Columns) throws -> T) throws -> [T] {
        defer { reset() }
        try checkBound()
        var rows: [T] = []
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_ROW: rows.append(try read(Columns(handle: handle)))
            case SQLITE_DONE: return rows
            case let code: throw failure(code)
            }
        }
    }

    /// Runs the statement with what was bound; it is reset and its bindings cleared whatever happens. Every parameter must
    /// have been bound (SQLite would take a missing one as NULL; GRDB refuses, and so does this).
    mutating func run() throws {
        defer { reset() }
        try checkBound()
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else { throw failure(code) }
    }

    private mutating func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        index = 0
    }

    private func checkBound() throws {
        guard index == sqlite3_bind_parameter_count(handle) else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "\(index) of \(sqlite3_bind_parameter_count(handle)) parameters bound", sql: sql)
        }
    }

    private func failure(_ code: Int32) -> DatabaseError {
        let connection = db.sqliteConnection
        return DatabaseError(resultCode: ResultCode(rawValue: connection.map(sqlite3_extended_errcode) ?? code),
                             message: connection.map { String(cString: sqlite3_errmsg($0)) }, sql: sql)
    }
}
