import Replication
import Testing

/// Property: every permutation of any multiset of changes, duplicates included, yields the same state.
@Suite struct ConvergenceTests {
    /// Random changes over few entities and fields, with every op, colliding stamps and origins.
    static func randomChanges(_ rng: inout SplitMix64, count: Int) -> [Change] {
        let origins = ["street.a", "street.b", "district.x"]
        var seqs: [String: UInt64] = [:]
        return (0..<count).map { _ in
            let origin = origins[Int(rng.next() % 3)]
            seqs[origin, default: 0] += 1
            let op = FieldOp.allCases[Int(rng.next() % 4)]
            let entity = "e\(rng.next() % 4)"
            var fields: [String: Value] = [:]
            for _ in 0..<(1 + rng.next() % 2) {
                let value: Value = rng.next() % 2 == 0 ? .int(Int64(rng.next() % 5)) : .string(["甲", "乙", "丙"][Int(rng.next() % 3)])
                fields["f\(rng.next() % 3)"] = op == .raise ? .int(Int64(rng.next() % 5)) : value
            }
            // Few distinct stamps, so ties between origins happen and the tie-break matters.
            let hlc = HLCTimestamp(millis: 1_000 + rng.next() % 4, counter: UInt16(rng.next() % 2))
            let draft = ChangeDraft(scope: .committee("c1"), kind: "post", entity: entity, op: op, fields: fields, author: "m1")
            return Change(id: ChangeID(origin: origin, seq: seqs[origin]!), hlc: hlc, draft: draft)
        }
    }

    @Test func everyPermutationWithDuplicatesConverges() {
        let baseSeed: UInt64 = 20_260_522
        for round in 0..<300 {
            let seed = baseSeed &+ UInt64(round)
            var rng = SplitMix64(seed: seed)
            let changes = Self.randomChanges(&rng, count: 1 + Int(rng.next() % 20))
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
