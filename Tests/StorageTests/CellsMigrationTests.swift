import Foundation
import GRDB
import Governance
import Replication
import Testing
@testable import Storage

/// v16 moves each entity's cells from the `cells` table (one row per field) into its row (`CellsText`).
@Suite struct CellsMigrationTests {
    /// A street node's database written by the release before v16 (`make demo`'s street gucun, stopped after seeding and
    /// vacuumed; gzipped, 1.1 MB):
    /// migrated, it holds exactly what a node that applies the same change log from nothing holds — every record, every
    /// committee's digest, every rollup table — and `PRAGMA integrity_check` is ok.
    @Test func aDatabaseFromTheReleaseBeforeHoldsWhatItsChangeLogMakes() throws {
        let fixture = try #require(Bundle.module.url(forResource: "street-before-v16.sqlite", withExtension: "gz", subdirectory: "Fixtures"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-v16-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gunzip.arguments = ["-dc", fixture.path]
        FileManager.default.createFile(atPath: path, contents: nil)
        gunzip.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try gunzip.run()
        gunzip.waitUntilExit()
        #expect(gunzip.terminationStatus == 0)
        let before = try DatabaseQueue(path: path)
        let (oldCells, identifiers, oldDigests) = try before.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM cells") ?? 0, try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"),
             try Self.digestsFromTheCellsTable(db))
        }
        try before.close()
        #expect(!identifiers.contains("v16-cells-in-entity-rows"))
        #expect(oldCells > 1_000)

        let migrated = try Store(path: path, nodeID: "street.gucun")
        let changes = try migrated.readNow { view in
            try Row.fetchAll(view.db, sql: "SELECT * FROM changes ORDER BY received_at, origin, seq").map(ReadView.change(from:))
        }
        let replayed = try Store(path: nil, nodeID: "street.replay")
        for offset in stride(from: 0, to: changes.count, by: 500) {
            let applied = try replayed.applyRemote(Array(changes[offset..<min(offset + 500, changes.count)])).applied
            #expect(applied == min(500, changes.count - offset))
        }
        let (got, expected) = (try Self.state(migrated), try Self.state(replayed))
        #expect(got.records.count > 200)
        #expect(got.records.values.reduce(0) { $0 + $1.cells.count } == oldCells)
        #expect(got.records == expected.records, "\(got.records.filter { expected.records[$0.key] != $0.value }.count) records differ")
        #expect(got.digests == expected.digests)
        // And the digests are the ones the release before computed from its cells table: a replica on either release
        // compares equal with one on the other.
        #expect(oldDigests.count >= 6 && Set(oldDigests.values).count == oldDigests.count && got.digests == oldDigests)
        #expect(got.tables.keys.sorted() == expected.tables.keys.sorted())
        for (table, rows) in expected.tables.sorted(by: { $0.key < $1.key }) {
            // Not the rows themselves in the message: a table holds hundreds.
            #expect(got.tables[table] == rows, "\(table): \(got.tables[table]?.count ?? 0) rows, \(rows.count) expected")
        }
        #expect(try migrated.readNow { try $0.integrityCheck() } == "ok")
        // v17: the latest stamp is in `meta`, and the clock starts past it.
        let latest = try #require(changes.map(\.hlc).max())
        #expect(try migrated.readNow { try Int64.fetchOne($0.db, sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'latest_hlc'") } == Int64(latest.rawValue))
        #expect(try migrated.readNow { try Bool.fetchOne($0.db, sql: "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'cells')") } == false)
    }

    /// Each committee's digest as the release before computed it (`ReadView.digest` over the `cells` table then).
    static func digestsFromTheCellsTable(_ db: Database) throws -> [String: String] {
        var digests: [String: String] = [:]
        for committee in try String.fetchAll(db, sql: "SELECT id FROM entities WHERE kind = 'committee'") {
            let rows = try Row.fetchAll(db, sql: """
                SELECT c.entity, c.field, c.value, c.hlc, c.origin FROM entities e JOIN cells c ON c.entity = e.id
                WHERE e.scope = ? ORDER BY c.entity, c.field
                """, arguments: [Scope.committee(committee).description])
            var text = ""
            for row in rows {
                let entity: String = row[0], field: String = row[1], value: String = row[2], hlc: Int64 = row[3], origin: String = row[4]
                text += "\(entity)\u{1F}\(field)\u{1F}\(value)\u{1F}\(hlc)\u{1F}\(origin)\u{1E}"
            }
            digests[committee] = Digest.hex(of: text)
        }
        return digests
    }

    /// Every record, each committee's digest, and the rows of every rollup and fact table.
    static func state(_ store: Store) throws -> (records: [String: EntityRecord], digests: [String: String], tables: [String: [Row]]) {
        try store.readNow { view in
            var records: [String: EntityRecord] = [:]
            for id in try String.fetchAll(view.db, sql: "SELECT id FROM entities") { records[id] = try view.record(id) }
            var digests: [String: String] = [:]
            for committee in try view.committees() { digests[committee.id] = try view.digest(committee: committee.id) }
            var tables: [String: [Row]] = [:]
            let names = try String.fetchAll(view.db, sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'rollup_%' OR name LIKE '%_facts' OR name LIKE 'poll_%')
                """)
            for name in names {
                // A count moved to 0 leaves its row where the rows were kept batch by batch over days; replayed at once, none.
                let counted = try view.db.columns(in: name).contains { $0.name == "count" }
                tables[name] = try Row.fetchAll(view.db, sql: "SELECT * FROM \(name) \(counted ? "WHERE count != 0" : "") ORDER BY 1, 2, 3")
            }
            return (records, digests, tables)
        }
    }

    /// Undoes v16 on a database written by this release, for the tests that take a database back to the schema before an
    /// earlier migration (whose SQL reads the `cells` table): the cells back in their table, one row per field with its
    /// value's JSON text, the column dropped, and v16 to run again after the migration under test.
    static func putTheCellsBackInTheirTable(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE cells (
                entity TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, hlc INTEGER NOT NULL, origin TEXT NOT NULL, op INTEGER NOT NULL,
                PRIMARY KEY (entity, field)
            ) WITHOUT ROWID;
            INSERT INTO cells(entity, field, value, hlc, origin, op)
                SELECT e.id, f.key, f.value -> '$[0]', f.value ->> '$[1]', f.value ->> '$[2]', f.value ->> '$[3]' FROM entities e, json_each(e.cells) f;
            ALTER TABLE entities DROP COLUMN cells;
            DELETE FROM grdb_migrations WHERE identifier = 'v16-cells-in-entity-rows';
            """)
    }
}
