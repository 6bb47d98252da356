import Foundation
import GRDB
@testable import Storage
import Testing

/// The page caches of a database's connections share one budget, so a node's memory levels off as its database grows.
@Suite struct PageCacheBudgetTests {
    @Test func theWriterTakesHalfAndTheReadersShareTheRest() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-cache-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try Store(path: (directory as NSString).appendingPathComponent("node.sqlite"), nodeID: "city.test",
                              pageCache: PageCacheBudget(mebibytes: 40))
        // SQLite reads a negative cache_size as KiB.
        let writer = try store.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") }
        let reader = try store.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") }
        #expect(writer == -20_480)
        #expect(reader == -4_096, "five readers share the other 20 MiB")
        // However many readers, none is left without a cache.
        #expect(PageCacheBudget(mebibytes: 4).readerKibibytes(readers: 64) == 1_024)
    }
}
