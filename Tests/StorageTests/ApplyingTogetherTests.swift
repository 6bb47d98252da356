import Federation
import Replication
import ShequTestSupport
import Storage
import Testing

/// Received batches applied in one transaction (`Store.applyingTogether`, what a city that fell behind does) end as if
/// each had its own; one that fails is rolled back alone.
@Suite struct ApplyingTogetherTests {
    struct Refused: Error {}

    static func cover(_ result: RemoteApplyResult) -> (VersionVector, origins: Set<NodeID>) { (VersionVector(), []) }

    @Test func batchesAppliedTogetherEndAsIfAppliedOneByOneAndAFailedOneAlone() throws {
        var rng = SplitMix64(seed: 91)
        let changes = RandomChanges.make(&rng, count: 30)
        let slices = stride(from: 0, to: 30, by: 10).map { Array(changes[$0..<$0 + 10]) }

        let alone = try Store(path: nil, nodeID: "district.test", wallMillis: { 1_000 })
        for slice in slices { _ = try alone.applyRemote(slice, coverage: Self.cover) }

        let together = try Store(path: nil, nodeID: "district.test", wallMillis: { 1_000 })
        var applied = 0
        try together.applyingTogether {
            applied += try together.applyRemote(slices[0], coverage: Self.cover).applied
            #expect(throws: Refused.self) { try together.applyRemote(slices[1], coverage: { _ in throw Refused() }) }
            applied += try together.applyRemote(slices[2], coverage: Self.cover).applied
        }
        #expect(try together.readNow { try $0.changeCount() } == slices[0].count + slices[2].count)
        #expect(applied == slices[0].count + slices[2].count)
        _ = try together.applyRemote(slices[1], coverage: Self.cover)

        try alone.readNow { a in
            try together.readNow { t in
                let counts = (try a.changeCount(), try t.changeCount())
                #expect(counts.0 == 30 && counts.1 == 30)
                let digests = (try a.digest(committee: "c1"), try t.digest(committee: "c1"))
                #expect(digests.0 == digests.1)
                for id in Set(changes.map(\.entity)) {
                    let cells = (try a.record(id)?.cells, try t.record(id)?.cells)
                    #expect(cells.0 == cells.1, "\(id)")
                }
            }
        }
    }
}
