import Gossip
import Replication
import Testing

/// SWIM + Lifeguard as transcripts on a tiny simulated network: messages are delivered on the next
/// 100 ms step over the links that are up; a "dead" node neither sends nor receives.
@Suite struct SWIMTests {
    struct Net {
        var nodes: [NodeID: SWIM] = [:]
        var links: Set<Set<NodeID>> = []
        var dead: Set<NodeID> = []
        var inflight: [(from: NodeID, to: NodeID, message: SWIM.Message)] = []
        var now: Int64 = 0
        var changes: [(at: NodeID, node: NodeID, status: SWIM.Status)] = []
        /// Tick a node only once its `nextDeadline` has come, as the simulator does.
        var skipIdleTicks = false
        var ticks = 0
        /// Every directive, with its time.
        var transcript: [String] = []

        init(links: [(NodeID, NodeID)]) {
            let all = Set(links.flatMap { [$0.0, $0.1] })
            for id in all.sorted() {
                let peers = links.compactMap { $0.0 == id ? $0.1 : ($0.1 == id ? $0.0 : nil) }
                nodes[id] = SWIM(local: id, members: Array(all), peers: peers, seed: UInt64(id.utf8.count))
            }
            for (a, b) in links { setLink(a, b, up: true) }
        }

        mutating func setLink(_ a: NodeID, _ b: NodeID, up: Bool) {
            if up { links.insert([a, b]) } else { links.remove([a, b]) }
            nodes[a]!.link(b, up: up)
            nodes[b]!.link(a, up: up)
        }

        mutating func run(seconds: Double) {
            for _ in 0..<Int(seconds * 10) {
                now += 100
                let deliveries = inflight
                inflight = []
                for d in deliveries where !dead.contains(d.to) && !dead.contains(d.from) && links.contains([d.from, d.to]) {
                    handle(d.to, nodes[d.to]!.receive(d.message, from: d.from, now: now))
                }
                for id in nodes.keys.sorted() where !dead.contains(id) && (!skipIdleTicks || now >= nodes[id]!.nextDeadline) {
                    ticks += 1
                    handle(id, nodes[id]!.tick(now: now))
                }
            }
        }

        mutating func handle(_ at: NodeID, _ directives: [SWIM.Directive]) {
            for directive in directives {
                transcript.append("\(now) \(at): \(directive)")
                switch directive {
                case .send(let to, let message): inflight.append((at, to, message))
                case .statusChanged(let node, let status): changes.append((at, node, status))
                }
            }
        }

        func view(_ at: NodeID, _ of: NodeID) -> SWIM.Status { nodes[at]!.view[of]! }
    }

    static let hierarchy: [(NodeID, NodeID)] = [("street", "district"), ("street", "city"), ("district", "city"), ("street2", "district"), ("street2", "city")]

    @Test func tickingOnlyAtTheNextDeadlineChangesNothingElse() {
        var every = Net(links: Self.hierarchy), skipping = Net(links: Self.hierarchy)
        skipping.skipIdleTicks = true
        func both(_ step: (inout Net) -> Void) { step(&every); step(&skipping) }
        both { $0.run(seconds: 4) }
        both { $0.dead.insert("street2") }
        both { $0.run(seconds: 20) }
        both { $0.setLink("street", "district", up: false) }
        both { $0.run(seconds: 15) }
        both { $0.dead.remove("street2"); $0.setLink("street", "district", up: true) }
        both { $0.run(seconds: 20) }
        #expect(!every.changes.isEmpty)
        #expect(every.transcript.count > 100)
        #expect(every.transcript == skipping.transcript)
        for id in every.nodes.keys { #expect(every.nodes[id]!.view == skipping.nodes[id]!.view) }
        #expect(skipping.ticks * 3 < every.ticks, "ticks: \(skipping.ticks) of \(every.ticks)")
    }

    @Test func aDeadNodeIsSuspectedThenDeclaredDeadEverywhere() {
        var net = Net(links: Self.hierarchy)
        net.run(seconds: 5)
        #expect(net.changes.isEmpty, "healthy cluster flapped: \(net.changes)")
        net.dead.insert("district")
        net.run(seconds: 60)
        for observer in ["street", "street2", "city"] {
            #expect(net.view(observer, "district") == .dead, "\(observer)")
        }
        // Suspect came before dead, at each observer.
        let atStreet = net.changes.filter { $0.at == "street" && $0.node == "district" }.map(\.status)
        #expect(atStreet == [.suspect, .dead])
    }

    @Test func aCutLinkIsNotADeadNodeIndirectProbesKeepItAlive() {
        var net = Net(links: Self.hierarchy)
        net.run(seconds: 3)
        net.setLink("street", "district", up: false)
        net.run(seconds: 60)
        #expect(net.view("street", "district") == .alive)
        #expect(net.view("city", "district") == .alive)
        #expect(net.changes.filter { $0.node == "district" && $0.status == .dead }.isEmpty)
    }

    @Test func aNodeThatComesBackIsAliveAgainEverywhere() {
        var net = Net(links: Self.hierarchy)
        net.run(seconds: 3)
        net.dead.insert("street2")
        net.run(seconds: 60)
        #expect(net.view("city", "street2") == .dead)
        net.dead.remove("street2")
        net.run(seconds: 30)
        for observer in ["street", "district", "city"] { #expect(net.view(observer, "street2") == .alive, "\(observer)") }
    }

    @Test func lifeguardSuspicionShrinksWithConfirmations() {
        let swim = SWIM(local: "a", members: (0..<100).map { "n\($0)" }, peers: [], seed: 1)
        let alone = swim.suspicionTimeoutForTesting(confirmations: 1)
        let confirmed = swim.suspicionTimeoutForTesting(confirmations: 4)
        #expect(alone > confirmed)
        #expect(alone == 3 * confirmed)
    }
}
