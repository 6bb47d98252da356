import Foundation
import GRDB
@testable import Storage
import Testing

/// `WALCheckpointer` copies the log on its own thread, the writer finishes what it appended meanwhile, and the log starts
/// over: it never grows to the writer's limit, and every committed row is in the database afterwards.
@Suite struct WALCheckpointerTests {
    @Test func theLogIsCopiedOnItsOwnThreadAndStartsOverWithoutGrowing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-wal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = (directory as NSString).appendingPathComponent("db.sqlite")
        // 128 KiB of 8 KiB pages: the checkpointer wakes at 16 frames, the writer copies it all at 64.
        let checkpointer = WALCheckpointer(path: path, bytes: 128 << 10)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA page_size = 8192")
            if !db.configuration.readonly { try checkpointer.attach(to: db) }
        }
        let rows = 300, perTransaction = 3
        var largestLog = 0
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try pool.write { try $0.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)") }
            for first in stride(from: 0, to: rows, by: perTransaction) {
                try pool.write { db in
                    // Each row fills about half a page, so each transaction appends a few frames.
                    for id in first..<(first + perTransaction) { try db.execute(sql: "INSERT INTO t(id, body) VALUES (?, zeroblob(4000))", arguments: [id]) }
                    // A writer that commits batch after batch: the checkpointer's pass ends while the next transaction is
                    // open (waited for here, so that the order does not depend on the machine): wake, copy on its
                    // thread, finish on the writer, start over.
                    checkpointer.drain()
                }
                let log = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
                largestLog = max(largestLog, log)
            }
        }
        let counts = checkpointer.checkpoints
        #expect(counts.background > 5, "the checkpointer copied the log \(counts.background) times")
        #expect(counts.finishing > 5, "the writer finished \(counts.finishing) checkpoints")
        #expect(counts.atLimit == 0, "the writer copied the whole log itself \(counts.atLimit) times")
        // Started over each time: the log never held much more than the frames that wake the checkpointer.
        #expect(largestLog < 40 * (8192 + 24), "the log reached \(largestLog) bytes")

        let reopened = try DatabaseQueue(path: path)
        let (count, integrity) = try reopened.read { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM t"), try String.fetchOne(db, sql: "PRAGMA integrity_check"))
        }
        #expect(count == rows)
        #expect(integrity == "ok")
    }
}
