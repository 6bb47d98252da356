import Gossip
import Replication
import Testing

/// A receiver that fell behind hands the driver each run of queued pushes as one (`GossipMessage.coalescingPushes`).
@Suite struct PushCoalescingTests {
    static func change(_ origin: String, _ seq: UInt64) -> Change {
        Change(id: ChangeID(origin: origin, seq: seq), hlc: HLCTimestamp(millis: 1_000 + seq, counter: 0),
               draft: ChangeDraft(scope: .committee("c1"), kind: "post", entity: "p\(seq)", op: .assign, fields: ["title": "t"], author: "m"))
    }

    static func push(_ seqs: ClosedRange<UInt64>) -> GossipMessage { .changes(seqs.map { change("street.a", $0) }, claims: [:]) }

    @Test func consecutivePushesBecomeOneInOrderAndTheirBytesAdd() {
        let out = GossipMessage.coalescingPushes([(Self.push(1...2), 10), (Self.push(3...3), 20), (Self.push(4...6), 30)])
        #expect(out.count == 1)
        #expect(out.first?.message == Self.push(1...6))
        #expect(out.first?.bytes == 60)
    }

    @Test func everyOtherMessageStaysWhereItIsAndEndsARun() {
        let claimed = GossipMessage.changes([Self.change("street.a", 7)], claims: ["street.a": GossipMessage.Claim(from: 7, through: 7)])
        let sync = GossipMessage.sync(VersionVector(), clock: 5)
        let input: [(message: GossipMessage, bytes: Int)] = [(Self.push(1...1), 1), (Self.push(2...2), 1), (sync, 1), (Self.push(3...3), 1),
                                                             (claimed, 1), (Self.push(8...8), 1), (Self.push(9...9), 1)]
        let out = GossipMessage.coalescingPushes(input).map(\.message)
        #expect(out == [Self.push(1...2), sync, Self.push(3...3), claimed, Self.push(8...9)])
    }

    @Test func aRunStopsAtTheLimitAndNothingIsLostOrReordered() {
        var input: [(message: GossipMessage, bytes: Int)] = []
        for i in UInt64(0)..<50 { input.append((Self.push(3 * i + 1...3 * i + 3), 1)) }
        let out = GossipMessage.coalescingPushes(input, limit: 10)
        var seen: [UInt64] = []
        for (message, _) in out {
            guard case .changes(let changes, let claims) = message else { Issue.record("not changes"); continue }
            #expect(claims.isEmpty)
            #expect(changes.count <= 10)
            seen += changes.map { $0.id.seq }
        }
        #expect(seen == Array(1...150))
        #expect(out.count == 17)   // 3 pushes of 3 (9 changes) per run: 16 runs, and 2 pushes left
        #expect(out.reduce(0) { $0 + $1.bytes } == 50)
    }
}
