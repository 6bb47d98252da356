import Replication
import ShequTestSupport
import Testing

/// Property: every permutation of any multiset of changes, duplicates included, yields the same state.
@Suite struct ConvergenceTests {
    @Test func everyPermutationWithDuplicatesConverges() {
        let baseSeed: UInt64 = 20_260_522
        for round in 0..<300 {
            let seed = baseSeed &+ UInt64(round)
            var rng = SplitMix64(seed: seed)
            let changes = RandomChanges.make(&rng, count: 1 + Int(rng.next() % 20))
            var reference = CRDTState()
            changes.forEach { reference.apply($0) }
            for _ in 0..<5 {
                var delivery = changes + changes.filter { _ in rng.next() % 3 == 0 }
                delivery.shuffle(using: &rng)
                var state = CRDTState()
                delivery.forEach { state.apply($0) }
                #expect(state == reference, "diverged: seed \(seed)")
                if state != reference { return }
            }
        }
    }

    @Test func lastWriterWinsBreaksTiesByOrigin() {
        let stamp = HLCTimestamp(millis: 5, counter: 0)
        let a = Change(id: ChangeID(origin: "a", seq: 1), hlc: stamp, draft: ChangeDraft(scope: .city, kind: "post", entity: "p", op: .assign, fields: ["t": .string("A")], author: "x"))
        let b = Change(id: ChangeID(origin: "b", seq: 1), hlc: stamp, draft: ChangeDraft(scope: .city, kind: "post", entity: "p", op: .assign, fields: ["t": .string("B")], author: "x"))
        var one = CRDTState(), two = CRDTState()
        one.apply(a); one.apply(b)
        two.apply(b); two.apply(a)
        #expect(one.fields(of: "p")["t"] == .string("B"))
        #expect(one == two)
    }

    @Test func tombstonesWinOverLaterEdits() {
        let remove = Change(id: ChangeID(origin: "a", seq: 1), hlc: HLCTimestamp(millis: 1, counter: 0),
                            draft: ChangeDraft(scope: .city, kind: "post", entity: "p", op: .remove, fields: [:], author: "x"))
        let edit = Change(id: ChangeID(origin: "b", seq: 1), hlc: HLCTimestamp(millis: 9, counter: 0),
                          draft: ChangeDraft(scope: .city, kind: "post", entity: "p", op: .assign, fields: ["t": .string("late")], author: "x"))
        var state = CRDTState()
        state.apply(edit)
        state.apply(remove)
        #expect(state.isDeleted("p"))
    }
}
