import Replication
import Storage

/// Delivers changes the way a bad network would: some duplicated (one in `duplicateOneIn`), all shuffled,
/// in batches of 1 to `maxBatch`.
func deliverShuffled(_ changes: [Change], duplicateOneIn: UInt64, maxBatch: UInt64, rng: inout SplitMix64, to store: Store) throws {
    var delivery = changes + changes.filter { _ in rng.next() % duplicateOneIn == 0 }
    delivery.shuffle(using: &rng)
    var offset = 0
    while offset < delivery.count {
        let size = 1 + Int(rng.next() % maxBatch)
        _ = try store.applyRemote(Array(delivery[offset..<min(offset + size, delivery.count)]))
        offset += size
    }
}
