import Replication

/// Adversarial random changes for convergence tests: few entities and fields, every op, and few distinct
/// stamps, so that ties between origins (and, from a faulty origin, two values under one stamp) happen.
public enum RandomChanges {
    public static func make(_ rng: inout SplitMix64, count: Int) -> [Change] {
        let origins = ["street.a", "street.b", "district.x"]
        var seqs: [String: UInt64] = [:]
        return (0..<count).map { _ in
            let origin = origins[Int(rng.next() % 3)]
            seqs[origin, default: 0] += 1
            let op = FieldOp.allCases[Int(rng.next() % 4)]
            var fields: [String: Value] = [:]
            for _ in 0..<(1 + rng.next() % 2) {
                fields["f\(rng.next() % 3)"] = rng.next() % 2 == 0 ? .int(Int64(rng.next() % 5)) : .string(["甲", "乙", "丙"][Int(rng.next() % 3)])
            }
            let hlc = HLCTimestamp(millis: 1_000 + rng.next() % 4, counter: UInt16(rng.next() % 2))
            let draft = ChangeDraft(scope: .committee("c1"), kind: "post", entity: "e\(rng.next() % 4)", op: op, fields: fields, author: "m1")
            return Change(id: ChangeID(origin: origin, seq: seqs[origin]!), hlc: hlc, draft: draft)
        }
    }
}
