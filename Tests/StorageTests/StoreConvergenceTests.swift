import Foundation
import Governance
import Replication
import ShequTestSupport
import Storage
import Testing

/// SQLite must merge exactly as the reference model does, whatever the delivery order and batching.
@Suite struct StoreConvergenceTests {
    @Test func sqliteMergeMatchesTheModelForEveryDeliveryOrder() throws {
        for round in 0..<40 {
            let seed = 77_000 &+ UInt64(round)
            var rng = SplitMix64(seed: seed)
            let changes = RandomChanges.make(&rng, count: 2 + Int(rng.next() % 25))
            var model = CRDTState()
            changes.forEach { model.apply($0) }
            var digests: Set<String> = []
            for _ in 0..<3 {
                let store = try Store(path: nil, nodeID: "district.test", wallMillis: { 1_000 })
                try deliverShuffled(changes, duplicateOneIn: 4, maxBatch: 5, rng: &rng, to: store)
                try store.readNow { view in
                    for entity in model.entities.keys {
                        let cells = try view.record(entity)?.cells ?? [:]
                        #expect(cells == model.entities[entity]!, "seed \(seed), entity \(entity)")
                    }
                    let count = try view.changeCount()
                    #expect(count == changes.count, "seed \(seed)")
                    digests.insert(try view.digest(committee: "c1"))
                }
            }
            #expect(digests.count == 1, "seed \(seed): digests differ")
        }
    }

    @Test func localWritesGetGaplessSequencesAndSurviveReopening() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-store-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/node.sqlite"
        let committee = Committee(id: "c1", name: "一村", street: "s", district: "d")
        do {
            let store = try Store(path: path, nodeID: "street.s")
            try store.writeNow { tx in
                try tx.append(Committee.define(committee, author: "street.s"))
                try tx.append(Committee.define(committee, author: "street.s"))
            }
            // A failed transaction leaves no gap in the sequence.
            #expect(throws: (any Error).self) {
                try store.writeNow { tx in
                    try tx.append(Committee.define(committee, author: "street.s"))
                    throw CancellationError()
                }
            }
        }
        let reopened = try Store(path: path, nodeID: "street.s")
        let change = try reopened.writeNow { tx in try tx.append(Committee.define(committee, author: "street.s")) }
        #expect(change.id.seq == 3)
        try reopened.readNow { view in
            let seqs = try view.changes(origin: "street.s", afterSeq: 0, limit: 10).map(\.id.seq)
            #expect(seqs == [1, 2, 3])
            let integrity = try view.integrityCheck()
            #expect(integrity == "ok")
        }
        #expect(throws: (any Error).self) { try Store(path: path, nodeID: "street.other") }
    }

    /// After a restart the clock starts past the latest stamp the node ever logged — a peer's too, made on a clock ahead of
    /// this one — so what it writes next wins over what it had seen.
    @Test func theClockStartsPastTheLatestStampLoggedAfterARestart() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-latest-\(UUID()).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let draft = ChangeDraft(scope: .committee("c1"), kind: "post", entity: "p1", op: .assign, fields: ["title": .string("t")], author: "m")
        let ahead = HLCTimestamp(millis: 1_030_000, counter: 4)
        do {
            let store = try Store(path: path, nodeID: "street.a", wallMillis: { 1_000_000 })
            _ = try store.applyRemote([Change(id: ChangeID(origin: "street.b", seq: 1), hlc: ahead, draft: draft)])
            _ = try store.applyRemote([Change(id: ChangeID(origin: "street.c", seq: 1), hlc: HLCTimestamp(millis: 1_010_000, counter: 0), draft: draft)])
        }
        let reopened = try Store(path: path, nodeID: "street.a", wallMillis: { 1_000_000 })
        let mine = try reopened.writeNow { tx in try tx.append(draft) }
        #expect(mine.hlc > ahead)
        #expect(try reopened.readNow { try $0.record("p1")?["title"] } == .string("t"))
    }

    @Test func theOwnSequenceMarkFollowsCommitsOnlyAndSurvivesARestart() throws {
        let store = try Store(path: nil, nodeID: "street.a", wallMillis: { 1_000_000 })
        func draft(_ entity: String) -> ChangeDraft {
            ChangeDraft(scope: .committee("c1"), kind: "post", entity: entity, op: .assign, fields: ["title": .string("t")], author: "m")
        }
        func logged() throws -> UInt64 { try store.readNow { try $0.highestSequence(of: "street.a") } }
        #expect(store.highestOwnSequence == 0)
        try store.writeNow { tx in try tx.append([draft("p1"), draft("p2")]) }
        #expect(try store.highestOwnSequence == 2 && logged() == 2)
        // A transaction that fails leaves the mark where the log is.
        struct Abort: Error {}
        #expect(throws: Abort.self) { try store.writeNow { tx in try tx.append(draft("p3")); throw Abort() } }
        #expect(try store.highestOwnSequence == 2 && logged() == 2)
        // Its own changes coming back from a peer (after a restore) move it too; other origins' do not.
        let hlc = HLCTimestamp(millis: 1_000_000, counter: 9)
        _ = try store.applyRemote([Change(id: ChangeID(origin: "street.a", seq: 5), hlc: hlc, draft: draft("p5")),
                                   Change(id: ChangeID(origin: "street.b", seq: 9), hlc: hlc, draft: draft("p9"))])
        #expect(try store.highestOwnSequence == 5 && logged() == 5)
        #expect(try store.restarted(random: SplitMix64(seed: 1)).highestOwnSequence == 5)
    }

    @Test func aRemoteStampTooFarAheadIsRefused() throws {
        let store = try Store(path: nil, nodeID: "district.x", wallMillis: { 1_000_000 })
        let draft = ChangeDraft(scope: .committee("c1"), kind: "post", entity: "p1", op: .assign, fields: ["title": .string("t")], author: "m")
        let ahead = Change(id: ChangeID(origin: "street.a", seq: 1), hlc: HLCTimestamp(millis: 1_000_000 + 61_000, counter: 0), draft: draft)
        let fine = Change(id: ChangeID(origin: "street.a", seq: 2), hlc: HLCTimestamp(millis: 1_000_000 + 1_000, counter: 0), draft: draft)
        let result = try store.applyRemote([ahead, fine, fine])
        #expect(result.refusedClock == [ahead.id])
        #expect(result.applied == 1 && result.duplicates == 1)
    }
}
