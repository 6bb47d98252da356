import Foundation
import GRDB
@testable import Storage
import Testing

/// `DirectStatement` binds on SQLite's C API what GRDB would: empty text and empty blobs stay empty (not NULL), nil is
/// NULL, and a failed step throws SQLite's error and leaves the statement ready for the next row.
@Suite struct DirectStatementTests {
    @Test func bindsWhatGRDBWouldAndRecoversFromAFailedStep() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, label TEXT, data BLOB NOT NULL, x REAL)")
            func insert(_ id: String, _ n: Int64, _ label: String?, _ data: [UInt8], _ x: DatabaseValue) throws {
                var statement = try DirectStatement(db, sql: "INSERT INTO t(id, n, label, data, x) VALUES (?, ?, ?, ?, ?)")
                statement.bind(id)
                statement.bind(n)
                statement.bind(label)
                statement.bind(data)
                statement.bind(x)
                try statement.run()
            }
            try insert("a", 1, "", [], 2.5.databaseValue)
            try insert("", -7, nil, [0, 255], .null)
            try insert("社区", Int64.max, "王*", [1], "text".databaseValue)
            let error = try #require(throws: DatabaseError.self) { try insert("a", 2, "again", [], .null) }
            #expect(error.resultCode == .SQLITE_CONSTRAINT)
            try insert("b", 2, "after", [9], .null)
            // A parameter left unbound is refused, not taken as NULL.
            var short = try DirectStatement(db, sql: "INSERT INTO t(id, n, label, data, x) VALUES (?, ?, ?, ?, ?)")
            short.bind("c")
            short.bind(Int64(3))
            let misuse = try #require(throws: DatabaseError.self) { try short.run() }
            #expect(misuse.resultCode == .SQLITE_MISUSE)

            let rows = try Row.fetchAll(db, sql: "SELECT id, n, label, typeof(label), data, typeof(data), x FROM t ORDER BY rowid")
            #expect(rows.map { $0[0] as String } == ["a", "", "社区", "b"])
            #expect(rows.map { $0[1] as Int64 } == [1, -7, .max, 2])
            #expect(rows.map { $0[3] as String } == ["text", "null", "text", "text"])
            #expect(rows[0][2] as String == "" && rows[2][2] as String == "王*")
            #expect(rows.map { $0[5] as String } == ["blob", "blob", "blob", "blob"])
            #expect(rows.map { [UInt8]($0[4] as Data) } == [[], [0, 255], [1], [9]])
            #expect(rows[0][6] as Double == 2.5 && rows[2][6] as String == "text")
        }
    }
}
