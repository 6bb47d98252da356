import Foundation
import GRDB
import Governance
import Replication
@testable import Storage
import Testing

/// The rollup moves of a batch are summed per row and written once at its end (`RollupDelta.flush`), and a post's counts
/// move by delta. Whatever the batches — everything at once, one change at a time, or shuffled with duplicates — every
/// facts table and every rollup row that counts anything must come out the same. (A row whose counts are all zero may
/// exist or not: a like switched on and off in one batch never moves a row, one per batch leaves a row of zeros.)
@Suite struct RollupBatchingTests {
    /// Each rollup table with its key columns; a row is empty when every other column is zero.
    static let rollupTables: [(table: String, keys: [String])] = [
        ("rollup_tickets", ["committee", "category", "day", "stage"]), ("rollup_tickets_all", ["committee", "category"]),
        ("rollup_sla", ["committee"]), ("rollup_first_response", ["committee", "bucket"]), ("rollup_resolution", ["committee", "bucket"]),
        ("rollup_activity", ["day", "unit", "category"]), ("post_activity", ["post", "unit", "category", "day"]),
        ("household_members", ["committee", "household"]), ("rollup_participation", ["committee"]), ("poll_votes", ["poll", "option"]),
        ("rollup_answers", ["committee"]), ("rollup_tickets_street", ["day", "district", "street", "category"]),
    ]
    static let factTables = ["ticket_facts", "activity_facts", "member_facts", "ballot_facts", "poll_voters", "poll_facts", "answer_facts"]

    /// Every table's rows as text, sorted; rollup rows that count nothing left out.
    static func snapshot(_ store: Store) throws -> [String: [String]] {
        try store.readNow { view in
            var tables: [String: [String]] = [:]
            for (table, keys) in rollupTables {
                tables[table] = try Row.fetchAll(view.db, sql: "SELECT * FROM \(table)").compactMap { row -> String? in
                    let counts = row.columnNames.filter { !keys.contains($0) }
                    guard counts.contains(where: { (row[$0] as Int64?) != 0 }) else { return nil }
                    return row.description
                }.sorted()
            }
            for table in factTables {
                tables[table] = try Row.fetchAll(view.db, sql: "SELECT * FROM \(table)").map(\.description).sorted()
            }
            return tables
        }
    }

    @Test(arguments: [UInt64(21), 22, 23])
    func everyRollupRowIsTheSameWhateverTheBatches(seed: UInt64) throws {
        let workloads: [(name: String, run: (changes: [Change], end: Int64))] = [
            ("tickets", try TicketRollupTests.activity(seed: seed)), ("community", try CommunityRollupTests.activity(seed: seed)),
        ]
        for (name, (changes, end)) in workloads {
            let whole = try Store(path: nil, nodeID: "district.whole", wallMillis: { UInt64(end) })
            _ = try whole.applyRemote(changes)
            let single = try Store(path: nil, nodeID: "district.single", wallMillis: { UInt64(end) })
            for change in changes { _ = try single.applyRemote([change]) }
            let shuffled = try Store(path: nil, nodeID: "district.shuffled", wallMillis: { UInt64(end) })
            var rng = SplitMix64(seed: seed &* 31)
            try deliverShuffled(changes, duplicateOneIn: 3, maxBatch: 50, rng: &rng, to: shuffled)

            let expected = try Self.snapshot(whole)
            #expect(expected.values.reduce(0) { $0 + $1.count } >= 50, "\(name) seed \(seed): the workload moves the rollups")
            for (label, store) in [("one at a time", single), ("shuffled", shuffled)] {
                let got = try Self.snapshot(store)
                for table in expected.keys.sorted() {
                    #expect(got[table] == expected[table], "\(name) seed \(seed), \(label): \(table)")
                }
            }
        }
    }

    /// A post whose day moves while its category stays (an older change to it arrives after a newer one) has its row's day
    /// moved, and keeps the counts of its comments — those the same batch brings included — as a node that had every change
    /// at once counts them.
    @Test func aPostWhoseDayMovesKeepsItsCountsAndTheBatchsOwn() throws {
        let day: UInt64 = 86_400_000, start: UInt64 = 1_780_000_000_000
        func change(_ seq: UInt64, millis: UInt64, _ kind: String, _ entity: String, _ fields: [String: Value]) -> Change {
            Change(id: ChangeID(origin: "street.s", seq: seq), hlc: HLCTimestamp(millis: millis, counter: 0),
                   draft: ChangeDraft(scope: .committee("c1"), kind: kind, entity: entity, op: .assign, fields: fields, author: "m1"))
        }
        let post: [String: Value] = ["board": "neighbours", "title": "路灯", "category": "environment", "author": "m1"]
        let older = change(1, millis: start, "post", "p1", post)
        // The newer change leaves out a field the older one wrote, so the record's stamps reach back to the older one.
        let newer = change(2, millis: start + 3 * day, "post", "p1", post.merging(["title": "路灯又坏了"]) { $1 }.filter { $0.key != "author" })
        let first = change(3, millis: start + 3 * day + 1, "comment", "k1", ["post": "p1", "body": "一", "author": "m2"])
        let second = change(4, millis: start + 3 * day + 2, "comment", "k2", ["post": "p1", "body": "二", "author": "m3"])
        let wall: @Sendable () -> UInt64 = { start + 4 * day }
        let batched = try Store(path: nil, nodeID: "district.batched", wallMillis: wall)
        _ = try batched.applyRemote([newer, first])
        _ = try batched.applyRemote([older, second])
        let whole = try Store(path: nil, nodeID: "district.whole", wallMillis: wall)
        _ = try whole.applyRemote([older, newer, first, second])
        let rows = try Self.snapshot(batched)["post_activity"]
        #expect(rows == (try Self.snapshot(whole)["post_activity"]))
        #expect(rows?.count == 1 && rows?.first?.contains("comments:2") == true, "\(rows ?? [])")
        #expect(rows?.first?.contains(ShanghaiCalendar.day(ofMillis: Int64(start))) == true, "\(rows ?? [])")
    }

    /// `finish()` takes the records the batch wrote from the applier, as it merged them, instead of reading their rows:
    /// each must be the record read back, for every kind the workloads make — entities created in the batch, written
    /// again in it, and written before it (the second batch).
    @Test func theRecordsTheApplierMergedAreTheOnesReadBack() throws {
        var compared = 0, mergedAgain = 0
        for (changes, end) in [try TicketRollupTests.activity(seed: 24), try CommunityRollupTests.activity(seed: 24)] {
            let district = try Store(path: nil, nodeID: "district.records", wallMillis: { UInt64(end) })
            var earlier: Set<String> = []
            for half in [changes[..<(changes.count / 2)], changes[(changes.count / 2)...]] {
                try district.writeNow { tx in
                    var applier = ChangeApplier(db: tx.db, indexesSearch: false)
                    var writes: [String: Int] = [:]
                    for change in half where try applier.apply(change, receivedAt: 0) { writes[change.entity, default: 0] += 1 }
                    let view = ReadView(db: tx.db, store: nil)
                    for (id, record) in applier.mergedRecords {
                        #expect(try view.record(id) == record, "\(id)")
                        compared += 1
                        if writes[id, default: 0] > 1 || earlier.contains(id) { mergedAgain += 1 }
                    }
                    earlier.formUnion(writes.keys)
                    try applier.finish()
                }
            }
        }
        #expect(compared >= 200)
        #expect(mergedAgain >= 50)
    }

    /// v14 gives each ballot's fact its stamp and choices: a node written before it fills them from the ballots it holds,
    /// and goes on counting the ballots that arrive after exactly as a node that had them all from the start.
    @Test func theBallotMigrationFillsTheFactsFromTheBallots() throws {
        let (changes, end) = try CommunityRollupTests.activity(seed: 25)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-v14-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let half = changes.count / 2
        let facts = "SELECT ballot, poll, voter, hlc, origin, choices FROM ballot_facts ORDER BY ballot"
        let filled: [Row]
        do {
            let district = try Store(path: path, nodeID: "district.d1", wallMillis: { UInt64(end) })
            _ = try district.applyRemote(Array(changes[..<half]))
            filled = try district.readNow { try Row.fetchAll($0.db, sql: facts) }
        }
        #expect(filled.count >= 5)
        // Back to the schema before v14, as the previous release left it.
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try CellsMigrationTests.putTheCellsBackInTheirTable(db)
            try db.execute(sql: """
                ALTER TABLE ballot_facts DROP COLUMN hlc;
                ALTER TABLE ballot_facts DROP COLUMN origin;
                ALTER TABLE ballot_facts DROP COLUMN choices;
                DELETE FROM grdb_migrations WHERE identifier = 'v14-ballot-facts-carry-the-ballot';
                """)
        }
        try queue.close()
        let reopened = try Store(path: path, nodeID: "district.d1", wallMillis: { UInt64(end) })
        #expect(try reopened.readNow { try Row.fetchAll($0.db, sql: facts) } == filled)
        _ = try reopened.applyRemote(Array(changes[half...]))
        let whole = try Store(path: nil, nodeID: "district.whole", wallMillis: { UInt64(end) })
        _ = try whole.applyRemote(changes)
        let expected = try Self.snapshot(whole), got = try Self.snapshot(reopened)
        for table in ["ballot_facts", "poll_voters", "poll_votes", "poll_facts"] {
            #expect(got[table] == expected[table], "\(table)")
        }
        #expect(expected["poll_votes"]?.isEmpty == false)
    }

    /// v15 keeps in the status and parent indexes only the entities that have one: a committee's tickets in a stage and an
    /// entity's children are still read through them, and they hold no row of a like or a ballot.
    @Test func theStatusAndParentIndexesHoldOnlyWhatTheyAreAskedFor() throws {
        let (changes, end) = try CommunityRollupTests.activity(seed: 26)
        let district = try Store(path: nil, nodeID: "district.d1", wallMillis: { UInt64(end) })
        _ = try district.applyRemote(changes)
        try district.readNow { view in
            func plan(_ sql: String) throws -> String {
                try Row.fetchAll(view.db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: "; ")
            }
            #expect(try plan("SELECT id FROM entities WHERE kind = 'ticket' AND scope = 'c:c1' AND status = 'submitted'").contains("entities_by_status"))
            #expect(try plan("SELECT id FROM entities WHERE parent = 'p' AND kind = 'comment' ORDER BY created").contains("entities_by_parent"))
            let indexes = try String.fetchAll(view.db, sql: "SELECT sql FROM sqlite_master WHERE name IN ('entities_by_status', 'entities_by_parent') ORDER BY name")
            #expect(indexes.count == 2 && indexes.allSatisfy { $0.contains("IS NOT NULL") })
            let withoutStatus = try Int.fetchOne(view.db, sql: "SELECT count(*) FROM entities WHERE status IS NULL") ?? 0
            #expect(withoutStatus > 0, "likes, comments and ballots have no status")
            // v19: likes keep no parent; a post's likes are a range of the primary key.
            #expect(try Int.fetchOne(view.db, sql: "SELECT count(*) FROM entities WHERE kind = 'like'") ?? 0 > 5)
            #expect(try Int.fetchOne(view.db, sql: "SELECT count(*) FROM entities WHERE kind = 'like' AND parent IS NOT NULL") == 0)
            let likes = ReadView.children(of: "p", kind: .like)
            let likesPlan = try Row.fetchAll(view.db, sql: "EXPLAIN QUERY PLAN SELECT id FROM entities WHERE \(likes.filter)", arguments: likes.arguments)
            #expect(likesPlan.map { $0["detail"] as String }.joined().contains("PRIMARY KEY (id>? AND id<?)"))
        }
    }

    /// A post's likes are found by their ids (`Like.ids(post:)`), not by the parent index: among them lie the likes of a post
    /// whose id extends the first past a colon, which are not the first post's.
    @Test func aPostsLikesAreItsOwnWhenAnotherPostsIdExtendsItsId() throws {
        let committee = Committee(id: "c1", name: "一居委", street: "s1", district: "d1")
        let store = try Store(path: nil, nodeID: "street.s1")
        let counts = try store.writeNow { tx in
            try tx.append(Committee.define(committee, author: "street.s1"))
            func resident(_ id: String) -> Actor { Actor(memberID: id, role: .resident, status: .approved, committee: committee.id, unit: nil) }
            let input = PostInput(title: "邻里", body: "周末打扫楼道", category: "environment")
            let short = try tx.createPost(input, board: Board.named("neighbours")!, committee: committee.id, by: resident("m1"), id: "p_a")
            let long = try tx.createPost(input, board: Board.named("neighbours")!, committee: committee.id, by: resident("m1"), id: "p_a:b")
            // `l:p_a:b:m2` lies among the ids of p_a's likes, by member "b:m2" as far as its id says.
            _ = try tx.setLike(true, post: long.id, by: resident("m2"))
            _ = try tx.setLike(true, post: long.id, by: resident("m3"))
            _ = try tx.setLike(true, post: short.id, by: resident("m4"))
            _ = try tx.setLike(true, post: short.id, by: resident("m5"))
            _ = try tx.setLike(false, post: short.id, by: resident("m5"))
            return (short: try tx.view.likeCount(post: short.id), long: try tx.view.likeCount(post: long.id),
                    children: try tx.view.children(of: short.id, kind: .like).map(\.id))
        }
        #expect(counts.short == 1 && counts.long == 2)
        #expect(counts.children == ["l:p_a:m4", "l:p_a:m5"])
    }

    /// v19 takes likes out of the parent index on a node written before it: their rows lose their parent, and each post's
    /// like count and hot-topic figures stay what they were.
    @Test func theLikeMigrationEmptiesTheirParentsAndKeepsTheCounts() throws {
        let (changes, end) = try CommunityRollupTests.activity(seed: 27)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-v19-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let likeCounts = "SELECT e.id FROM entities e WHERE e.kind = 'post' ORDER BY e.id"
        let before: [String: Int]
        do {
            let district = try Store(path: path, nodeID: "district.d1", wallMillis: { UInt64(end) })
            _ = try district.applyRemote(changes)
            before = try district.readNow { view in
                Dictionary(uniqueKeysWithValues: try String.fetchAll(view.db, sql: likeCounts).map { ($0, try view.likeCount(post: $0)) })
            }
        }
        #expect(before.values.contains { $0 > 0 })
        // As the release before left it: each like's row names its post as parent.
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: """
                UPDATE entities SET parent = json_extract(cells, '$.post[0]') WHERE kind = 'like';
                DELETE FROM grdb_migrations WHERE identifier = 'v19-likes-out-of-the-parent-index';
                """)
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM entities WHERE kind = 'like' AND parent IS NOT NULL") ?? 0 > 5)
        }
        try queue.close()
        let reopened = try Store(path: path, nodeID: "district.d1", wallMillis: { UInt64(end) })
        try reopened.readNow { view throws in
            #expect(try Int.fetchOne(view.db, sql: "SELECT count(*) FROM entities WHERE kind = 'like' AND parent IS NOT NULL") == 0)
            #expect(Dictionary(uniqueKeysWithValues: try String.fetchAll(view.db, sql: likeCounts).map { ($0, try view.likeCount(post: $0)) }) == before)
            #expect(try view.integrityCheck() == "ok")
        }
    }
}
