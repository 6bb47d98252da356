@preconcurrency import Crypto
import Federation
import Foundation
import Gossip
import Governance
import Logging
import Node
import Replication
import Storage

/// Simulated time, read by every node's store (plus that node's skew).
final class SimClock: @unchecked Sendable {
    /// Milliseconds since the Unix epoch, simulated.
    var now: Int64
    init(now: Int64) { self.now = now }
}

/// Many nodes in one process, running the real Governance, Storage (SQLite in memory), replication engine
/// (`ReplicaEngine`) and failure detector (`SWIM`), over a simulated network and clock. Everything follows from the
/// seed: the same seed gives the same run. Single-threaded; events run one at a time in time order.
public final class Simulator {
    public let options: SimulationOptions
    let topology: Topology
    let clock: SimClock
    var rng: SplitMix64
    var agenda = EventQueue<Event>()
    var nodes: [NodeID: SimNode] = [:]
    let nodeIDs: [NodeID]
    var links: [LinkKey: Link] = [:]
    /// Messages sent so far; every `decodeEvery`-th is decoded as its receiver would (see `send`).
    var sent = 0
    static let decodeEvery = 8
    let linkKeys: [LinkKey]
    var workload: Workload!
    var stats = SimulationStats()
    var trace = Trace()
    /// When the workload and the faults stop; after it, everything heals and the federation settles.
    let workloadEnd: Int64
    let end: Int64
    let start: Int64
    static let epoch: Int64 = 1_780_000_000_000

    enum Event {
        /// A message arriving, `bytes` long on the wire.
        case deliver(from: NodeID, to: NodeID, link: LinkKey, epoch: Int, message: GossipMessage, bytes: Int)
        case antiEntropy(NodeID, life: Int)
        /// SWIM's timer at one node; `generation` tells a tick that was moved earlier (see `scheduleTick`) from its replacement.
        case swimTick(NodeID, life: Int, generation: Int)
        case reconnect(LinkKey)
        case write
        case fault(FaultEvent)
    }

    enum FaultEvent {
        case partitionStart, partitionEnd(id: Int), flap(LinkKey, remaining: Int), crashSomeone, restart(NodeID)
    }

    /// A link between a node and a peer it dials (street–district, street–city, district–city).
    struct LinkKey: Hashable, Comparable, CustomStringConvertible {
        var a: NodeID
        var b: NodeID
        init(_ x: NodeID, _ y: NodeID) { (a, b) = x < y ? (x, y) : (y, x) }
        static func < (l: Self, r: Self) -> Bool { (l.a, l.b) < (r.a, r.b) }
        func other(_ id: NodeID) -> NodeID { id == a ? b : a }
        var description: String { "\(a)–\(b)" }
    }

    struct Link {
        /// Partitions currently cutting this link (several may overlap).
        var cuts: Set<Int> = []
        var connected = false
        /// Bumped whenever the link goes down: what was in flight on the old connection is lost.
        var epoch = 0
        var latency: Int64
        var reconnectPending = false
        /// When the last message each way is due (for in-order delivery without `Faults.reorder`).
        var lastDue: [NodeID: Int64] = [:]
    }

    public init(_ options: SimulationOptions) throws {
        self.options = options
        var rng = SplitMix64(seed: options.seed)
        var keys: [NodeID: Curve25519.Signing.PrivateKey] = [:]
        var keyRNG = SplitMix64(seed: options.seed ^ 0x5EED_CAFE)
        topology = try TopologyGenerator.generate(options.shape) { id in
            let raw = (0..<32).map { _ in UInt8(truncatingIfNeeded: keyRNG.next()) }
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
            keys[id] = key
            return key.publicKey.rawRepresentation.base64EncodedString()
        }
        start = Self.epoch
        clock = SimClock(now: start)
        workloadEnd = start + Int64(options.minutes * 60_000)
        let skewMillis = options.faults.contains(.skew) ? Int64(options.maxSkewSeconds) * 1_000 : 0
        // Quiet period: long enough for a clock up to `maxSkew` ahead to be believed, then rounds of anti-entropy.
        end = workloadEnd + max(60_000, skewMillis + 60_000) + 30_000
        nodeIDs = topology.nodes.keys.sorted()
        var linkKeys: Set<LinkKey> = []
        for id in nodeIDs { for peer in topology.dialed(by: id) { linkKeys.insert(LinkKey(id, peer)) } }
        self.linkKeys = linkKeys.sorted()
        let silent = Logger(label: "shequ.simulation", factory: { _ in SwiftLogNoOpLogHandler() })
        // Signatures one node has checked, so that the next replica of the same change need not check it again.
        let verified = VerifiedSignatures()
        for id in nodeIDs {
            // One node in eight is off by up to the full skew; the rest, as NTP keeps them, by an eighth of it.
            let range = rng.next() % 8 == 0 ? skewMillis : skewMillis / 8
            let skew = range > 0 ? Int64(rng.next() % UInt64(2 * range + 1)) - range : 0
            nodes[id] = try SimNode(id: id, topology: topology, key: keys[id]!, clock: clock, skew: skew, seed: rng.next(),
                                 verified: verified, logger: silent)
        }
        for key in self.linkKeys { links[key] = Link(latency: 1 + Int64(rng.next() % 30)) }
        self.rng = rng
        workload = try Workload(simulator: self, seed: rng.next())
    }

    // MARK: - Running

    /// Runs the whole simulation and checks the invariants.
    public func run(progress: (String) -> Void = { _ in }) throws -> SimulationReport {
        let started = ContinuousClock.now
        for key in linkKeys { scheduleReconnect(key, after: 0) }
        for id in nodeIDs { startTimers(id) }
        try workload.defineCommittees()
        agenda.schedule(.write, at: start + workload.nextGap())
        if options.faults.contains(.partition) { agenda.schedule(.fault(.partitionStart), at: start + span(20_000, 60_000)) }
        if options.faults.contains(.crash) { agenda.schedule(.fault(.crashSomeone), at: start + span(30_000, 90_000)) }
        var healed = false
        var nextProgress = start + 60_000
        while let (time, event) = agenda.next(notAfter: end) {
            clock.now = time
            if !healed, time >= workloadEnd {
                healed = true
                try healEverything()
            }
            try handle(event)
            stats.events += 1
            if time >= nextProgress {
                progress("simulated \((time - start) / 60_000) min: \(workload.acknowledged.count) writes acknowledged, \(stats.messages) messages")
                nextProgress += 60_000
            }
        }
        clock.now = end
        if !healed { try healEverything() }
        let elapsed = ContinuousClock.now - started
        let checks = try Invariants(simulator: self).check()
        return SimulationReport(simulator: self, checks: checks, elapsed: elapsed)
    }

    func handle(_ event: Event) throws {
        switch event {
        case .deliver(let from, let to, let key, let epoch, let message, let bytes):
            guard let link = links[key], link.epoch == epoch, link.connected, let node = nodes[to], node.up else {
                stats.droppedInFlight += 1
                return
            }
            node.heard(from, bytes: bytes)
            try receive(message, at: to, from: from)
        case .antiEntropy(let id, let life):
            guard let node = nodes[id], node.up, node.life == life else { return }
            for peer in node.peers where links[LinkKey(id, peer)]?.connected == true {
                try send(node.engine.sync(for: peer), from: id, to: peer)
            }
            agenda.schedule(.antiEntropy(id, life: life), at: clock.now + 1_000 + Int64(node.rng.next() % 4_001))
        case .swimTick(let id, let life, let generation):
            guard let node = nodes[id], node.up, node.life == life, node.tickGeneration == generation else { return }
            try carryOut(node.swim.tick(now: node.wall), at: id)
            node.tickAt = .min
            scheduleTick(id)
        case .reconnect(let key):
            guard var link = links[key] else { return }
            link.reconnectPending = false
            guard link.cuts.isEmpty, nodes[key.a]!.up, nodes[key.b]!.up, !link.connected else { links[key] = link; return }
            link.connected = true
            link.epoch += 1
            links[key] = link
            stats.connects += 1
            for (me, peer) in [(key.a, key.b), (key.b, key.a)] {
                let node = nodes[me]!
                node.engine.connected(peer, true)
                node.swim.link(peer, up: true)
            }
            // As after a handshake: each side says what it covers.
            for (me, peer) in [(key.a, key.b), (key.b, key.a)] { try send(nodes[me]!.engine.sync(for: peer), from: me, to: peer) }
        case .write:
            if clock.now < workloadEnd {
                try workload.step()
                agenda.schedule(.write, at: clock.now + workload.nextGap())
            }
        case .fault(let fault):
            guard clock.now < workloadEnd else { return }
            try inject(fault)
        }
    }

    func receive(_ message: GossipMessage, at id: NodeID, from peer: NodeID) throws {
        let node = nodes[id]!
        switch message {
        case .sync(let theirs):
            // A peer's syncs closer together than the service's interval are not answered (as in ReplicationService).
            if let last = node.lastSyncAnswered[peer], clock.now - last < 250 { stats.syncsIgnored += 1; return }
            node.lastSyncAnswered[peer] = clock.now
            for batch in try node.engine.batches(for: peer, theirs: theirs) { try send(batch, from: id, to: peer) }
        case .changes(let changes, let claims):
            let result = try node.engine.receive(changes, claims: claims, from: peer)
            stats.applied += result.applied
            stats.duplicates += result.duplicates
            stats.refusedClock += result.refusedClock.count
        case .swim(let message):
            try carryOut(node.swim.receive(message, from: peer, now: node.wall), at: id)
            scheduleTick(id)
        case .hello, .welcome, .proof:
            throw SimulationError("handshake message on an established simulated link")
        }
    }

    func carryOut(_ directives: [SWIM.Directive], at id: NodeID) throws {
        for directive in directives {
            switch directive {
            case .send(let peer, let message):
                try send(.swim(message), from: id, to: peer)
            case .statusChanged(let node, let status):
                stats.swimChanges[status, default: 0] += 1
                if status != .alive, nodes[node]?.up == true { stats.falseSuspicions += 1 }
            }
        }
    }

    /// Eager push of a node's committed local changes (as `ReplicationService.pushLocalChanges`).
    func pushed(_ changes: [Change], from id: NodeID) throws {
        let pushes = nodes[id]!.engine.pushes(for: changes)
        for peer in pushes.keys.sorted() where links[LinkKey(id, peer)]?.connected == true {
            let batch = pushes[peer]!
            for message in GossipMessage.batches(batch, claimed: false) { try send(message, from: id, to: peer) }
        }
    }

    // MARK: - The network

    /// Sends `message` over the link, if it is up: counted at its encoded size, then lost, delayed, reordered or
    /// duplicated as the faults say. Every `decodeEvery`-th payload is decoded as the receiver would decode it and must
    /// give back the very message sent (the codec has its own tests and fuzzing; decoding all 730,000 messages of a
    /// Shanghai run cost a tenth of its time); the others are delivered as sent.
    func send(_ message: GossipMessage, from: NodeID, to: NodeID) throws {
        let key = LinkKey(from, to)
        guard var link = links[key], link.connected else { return }
        let payload = message.payload
        sent += 1
        if sent % Self.decodeEvery == 0 {
            let decoded: GossipMessage
            do { decoded = try GossipMessage(payload: payload) } catch { throw SimulationError("\(to) could not decode a message from \(from): \(error)") }
            guard decoded == message else { throw SimulationError("a \(message.kindName) message from \(from) to \(to) changed on the wire") }
        }
        stats.count(message, bytes: payload.count)
        nodes[from]!.engine.sent(to, changes: message.changeCount, payloadBytes: payload.count, wireBytes: payload.count)
        let faults = options.faults
        if faults.contains(.loss), rng.next() % 100 < 2 { stats.lost += 1; return }
        var due = clock.now + link.latency
        if faults.contains(.reorder) {
            due += Int64(-log(Double(rng.next() % 1_000_000 + 1) / 1_000_001) * 8)
        } else {
            due = max(due, link.lastDue[to] ?? 0)
            link.lastDue[to] = due
            links[key] = link
        }
        agenda.schedule(.deliver(from: from, to: to, link: key, epoch: link.epoch, message: message, bytes: payload.count), at: due)
        if faults.contains(.duplicate), rng.next() % 100 < 2 {
            stats.duplicated += 1
            agenda.schedule(.deliver(from: from, to: to, link: key, epoch: link.epoch, message: message, bytes: payload.count), at: due + 1 + Int64(rng.next() % 2_000))
        }
    }

    func linkDown(_ key: LinkKey) {
        guard var link = links[key], link.connected else { return }
        link.connected = false
        link.epoch += 1
        link.lastDue = [:]
        links[key] = link
        for (me, peer) in [(key.a, key.b), (key.b, key.a)] {
            guard let node = nodes[me], node.up else { continue }
            node.engine.connected(peer, false)
            node.swim.link(peer, up: false)
        }
    }

    /// The dialer retries with backoff (capped at 2 s, `ReplicationService.maxBackoff`); here a reconnect 0.2–2 s after the link could come back.
    func scheduleReconnect(_ key: LinkKey, after delay: Int64? = nil) {
        guard var link = links[key], !link.reconnectPending else { return }
        link.reconnectPending = true
        links[key] = link
        agenda.schedule(.reconnect(key), at: clock.now + (delay ?? (200 + Int64(rng.next() % 1_800))))
    }

    func startTimers(_ id: NodeID) {
        let node = nodes[id]!
        agenda.schedule(.antiEntropy(id, life: node.life), at: clock.now + 1_000 + Int64(node.rng.next() % 4_001))
        node.tickGrid = clock.now + Int64(node.rng.next() % 100)
        node.tickAt = .min
        scheduleTick(id, at: node.tickGrid)
    }

    /// SWIM's timer ticks every 100 ms (as `ReplicationService`'s does), on a grid that starts when the node does. A
    /// tick before the detector's `nextDeadline` sends nothing and changes nothing, so only the first grid point at or
    /// past the deadline is scheduled; whatever the detector receives may bring the deadline closer, and the tick with it.
    func scheduleTick(_ id: NodeID, at first: Int64? = nil) {
        let node = nodes[id]!
        let due = first ?? max(node.swim.nextDeadline - node.skew, clock.now + 1)
        let at = node.tickGrid + max(0, due - node.tickGrid + 99) / 100 * 100
        // The tick already scheduled comes soon enough (or is this instant's, not yet run).
        if node.tickAt >= clock.now, node.tickAt <= at { return }
        node.tickGeneration += 1
        node.tickAt = at
        agenda.schedule(.swimTick(id, life: node.life, generation: node.tickGeneration), at: at)
    }

    // MARK: - Faults

    /// A fault timing in ms, drawn from `low...high` for a run of 3 minutes or more and shrunk for shorter runs, so
    /// that a short run still sees several partitions and crashes.
    func span(_ low: Int64, _ high: Int64) -> Int64 {
        let scale = min(1, options.minutes / 3)
        let l = max(1_000, Int64(Double(low) * scale)), h = max(l + 1, Int64(Double(high) * scale))
        return l + Int64(rng.next() % UInt64(h - l))
    }

    struct Partition {
        var kind: String
        var links: [LinkKey]
    }
    var partitions: [Int: Partition] = [:]
    var nextPartition = 0

    func inject(_ fault: FaultEvent) throws {
        switch fault {
        case .partitionStart:
            let streets = nodeIDs.filter { topology.nodes[$0]!.role == .street }
            let districts = nodeIDs.filter { topology.nodes[$0]!.role == .district }
            let city = topology.city.id
            var kind: String
            var cut: [LinkKey]
            switch rng.next() % 4 {
            case 0:
                let street = streets[Int(rng.next() % UInt64(streets.count))]
                kind = "street \(street) isolated"
                cut = topology.dialed(by: street).map { LinkKey(street, $0) }
            case 1:
                let district = districts[Int(rng.next() % UInt64(districts.count))]
                kind = "district \(district) and its streets split from the city"
                cut = [LinkKey(district, city)] + streets.filter { topology.nodes[$0]!.parent == district }.map { LinkKey($0, city) }
            case 2:
                kind = "city cut from everyone"
                cut = linkKeys.filter { $0.a == city || $0.b == city }
            default:
                let key = linkKeys[Int(rng.next() % UInt64(linkKeys.count))]
                stats.partitions += 1
                trace.add(clock.now, "fault: link \(key) flapping")
                agenda.schedule(.fault(.flap(key, remaining: 6 + Int(rng.next() % 10))), at: clock.now)
                agenda.schedule(.fault(.partitionStart), at: clock.now + span(30_000, 90_000))
                return
            }
            let id = nextPartition
            nextPartition += 1
            partitions[id] = Partition(kind: kind, links: cut)
            for key in cut {
                links[key]!.cuts.insert(id)
                linkDown(key)
            }
            stats.partitions += 1
            trace.add(clock.now, "fault: \(kind) (partition \(id))")
            agenda.schedule(.fault(.partitionEnd(id: id)), at: clock.now + span(10_000, 120_000))
            agenda.schedule(.fault(.partitionStart), at: clock.now + span(30_000, 90_000))
        case .partitionEnd(let id):
            heal(partition: id)
        case .flap(let key, let remaining):
            let flapID = -1 - Int(stats.partitions)
            if links[key]!.cuts.isEmpty {
                links[key]!.cuts.insert(flapID)
                linkDown(key)
            } else {
                links[key]!.cuts = links[key]!.cuts.filter { $0 >= 0 }
                if links[key]!.cuts.isEmpty { scheduleReconnect(key) }
            }
            if remaining > 0 {
                agenda.schedule(.fault(.flap(key, remaining: remaining - 1)), at: clock.now + 2_000 + Int64(rng.next() % 8_000))
            } else {
                links[key]!.cuts = links[key]!.cuts.filter { $0 >= 0 }
                if links[key]!.cuts.isEmpty { scheduleReconnect(key) }
            }
        case .crashSomeone:
            let candidates = nodeIDs.filter { nodes[$0]!.up }
            // Mostly streets; a district or the city now and then.
            let pick = candidates[Int(rng.next() % UInt64(candidates.count))]
            crash(pick)
            agenda.schedule(.fault(.restart(pick)), at: clock.now + span(5_000, 60_000))
            agenda.schedule(.fault(.crashSomeone), at: clock.now + span(20_000, 90_000))
        case .restart(let id):
            try restart(id)
        }
    }

    func heal(partition id: Int) {
        guard let partition = partitions.removeValue(forKey: id) else { return }
        trace.add(clock.now, "heal: \(partition.kind) (partition \(id))")
        for key in partition.links {
            links[key]!.cuts.remove(id)
            if links[key]!.cuts.isEmpty { scheduleReconnect(key) }
        }
    }

    func crash(_ id: NodeID) {
        let node = nodes[id]!
        guard node.up else { return }
        for key in linkKeys where key.a == id || key.b == id { linkDown(key) }
        node.up = false
        node.life += 1
        stats.crashes += 1
        trace.add(clock.now, "fault: \(id) killed")
    }

    func restart(_ id: NodeID) throws {
        let node = nodes[id]!
        guard !node.up else { return }
        try node.restart()
        trace.add(clock.now, "restart: \(id)")
        startTimers(id)
        for key in linkKeys where (key.a == id || key.b == id) && links[key]!.cuts.isEmpty { scheduleReconnect(key) }
    }

    /// End of the workload: every partition healed, every node restarted, every link back.
    func healEverything() throws {
        trace.add(clock.now, "workload ends: healing everything")
        for id in partitions.keys.sorted() { heal(partition: id) }
        for key in linkKeys {
            links[key]!.cuts = []
            scheduleReconnect(key)
        }
        for id in nodeIDs where !nodes[id]!.up { try restart(id) }
    }

    // MARK: - Writes

    /// Runs `body` as one local write at `id`; returns the changes it made, or nil when the node is down or the
    /// workload's request was refused (by Governance: a closed poll, a ticket in the wrong stage).
    func write(at id: NodeID, _ what: String, _ body: (inout WriteTransaction) throws -> Void) throws -> [Change]? {
        let node = nodes[id]!
        guard node.up else { stats.writesWhileDown += 1; return nil }
        var made: [Change] = []
        do {
            try node.store.writeNow { tx in
                try body(&tx)
                made = tx.made
            }
        } catch let error as GovernanceError {
            stats.refusals["\(error.code.rawValue)/\(error.reason)", default: 0] += 1
            return nil
        } catch let error as WorkloadSkip {
            stats.skipped[error.reason, default: 0] += 1
            return nil
        }
        guard !made.isEmpty else { return made }
        workload.acknowledge(made, at: clock.now)
        trace.add(clock.now, "\(id) \(what): \(made.map { "\($0.id.origin)#\($0.id.seq) \($0.kind) \($0.entity)" }.joined(separator: ", "))")
        try pushed(made, from: id)
        return made
    }
}

/// A workload step that could not be taken as planned (what it needs has not reached this node yet, say).
struct WorkloadSkip: Error {
    let reason: String
}

public struct SimulationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension GossipMessage {
    var changeCount: Int {
        if case .changes(let changes, _) = self { return changes.count }
        return 0
    }
}

/// One simulated node: its store, replication engine and failure detector. A crash loses everything but the
/// committed database; a restart rebuilds the rest from it, as a process would.
final class SimNode {
    let id: NodeID
    let topology: Topology
    var store: Store
    var engine: ReplicaEngine
    var swim: SWIM
    var up = true
    /// Bumped at each crash: timers of an earlier life are ignored.
    var life = 0
    let skew: Int64
    let clock: SimClock
    var rng: SplitMix64
    var lastSyncAnswered: [NodeID: Int64] = [:]
    /// SWIM's timer: the grid's first point (this life), when the next tick is scheduled (`.min`: none pending), and
    /// the generation of that tick's event.
    var tickGrid: Int64 = 0
    var tickAt: Int64 = .min
    var tickGeneration = 0
    let logger: Logger
    let verified: VerifiedSignatures
    /// The nodes it has links to, in order.
    let peers: [NodeID]

    init(id: NodeID, topology: Topology, key: Curve25519.Signing.PrivateKey, clock: SimClock, skew: Int64, seed: UInt64,
         verified: VerifiedSignatures, logger: Logger) throws {
        self.id = id
        self.verified = verified
        self.topology = topology
        self.clock = clock
        self.skew = skew
        self.logger = logger
        peers = topology.peers(of: id).sorted()
        rng = SplitMix64(seed: seed)
        store = try Store(path: nil, nodeID: id, wallMillis: { [clock] in UInt64(clock.now + skew) }, random: SplitMix64(seed: rng.next()),
                          signer: { bytes in ChangeSignature.sign(bytes, with: key) }, logger: logger)
        engine = try ReplicaEngine(store: store, topology: topology, local: id, logger: logger, verified: verified)
        swim = SWIM(local: id, members: Array(topology.nodes.keys), peers: topology.peers(of: id), seed: rng.next())
    }

    /// This node's clock, ms.
    var wall: Int64 { clock.now + skew }

    func heard(_ peer: NodeID, bytes: Int) { engine.heard(peer, payloadBytes: bytes) }

    func restart() throws {
        store = try store.restarted(random: SplitMix64(seed: rng.next()))
        engine = try ReplicaEngine(store: store, topology: topology, local: id, logger: logger, verified: verified)
        swim = SWIM(local: id, members: Array(topology.nodes.keys), peers: topology.peers(of: id), seed: rng.next())
        lastSyncAnswered = [:]
        up = true
    }
}
