@preconcurrency import Crypto
import Federation
import Foundation
import Gossip
import Governance
import Logging
import Replication
import Storage

/// Simulated time, read by every node's store (plus that node's skew).
final class SimClock: @unchecked Sendable {
    /// Milliseconds since the Unix epoch, simulated.
    var now: Int64
    init(now: Int64) { self.now = now }
}

/// Many nodes in one process, running the real Governance, Storage (SQLite in memory) and replication
/// (`ReplicationDriver`, with its `ReplicaEngine` and `SWIM`) over a simulated network and clock. The simulator is
/// the network and the clock: it opens, carries and cuts connections and fires timers; every decision of the
/// protocol (the handshake, pushes, anti-entropy, backoff, recovery) is the driver's, as in a served node. Everything
/// follows from the seed: the same seed gives the same run. Single-threaded; events run one at a time in time order.
public final class Simulator {
    public let options: SimulationOptions
    let topology: Topology
    let clock: SimClock
    var rng: SplitMix64
    var agenda = EventQueue<Event>()
    var nodes: [NodeID: SimNode] = [:]
    let nodeIDs: [NodeID]
    var links: [LinkKey: Link] = [:]
    var connections: [ConnectionID: SimConnection] = [:]
    var nextConnection: UInt64 = 0
    /// Timer generations issued so far: they never repeat, so a superseded timer never matches a later schedule.
    var timerGenerations = 0
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
    /// Every node's driver runs with these (the served defaults).
    let settings = ReplicationDriver.Settings()

    enum Event {
        /// A message arriving at `to` on a connection, `bytes` long on the wire.
        case deliver(to: NodeID, connection: ConnectionID, message: GossipMessage, bytes: Int)
        /// The other end closed the connection (its FIN or RST arriving at `to`).
        case closed(to: NodeID, connection: ConnectionID)
        /// A dial from `from` reaching `to`'s side of the link.
        case connect(from: NodeID, to: NodeID, life: Int)
        /// The dialer learns that its connection is up (`dialed` is the peer).
        case connected(at: NodeID, connection: ConnectionID, dialed: NodeID, life: Int)
        case dialFailed(at: NodeID, peer: NodeID, life: Int)
        /// One of a node's driver timers; `generation` tells a timer that was scheduled again from its replacement.
        case timer(NodeID, life: Int, ReplicationDriver.Timer, generation: Int)
        case write
        case fault(FaultEvent)
        /// Every street and district node runs its ticket watch (automatic escalation), on its own clock.
        case watch
    }

    /// How often each node's ticket watch runs.
    static let watchInterval: Int64 = 10_000

    enum FaultEvent {
        case partitionStart, partitionEnd(id: Int), flap(LinkKey, remaining: Int), crashSomeone, restart(NodeID), wipeSomeStreet
        /// Before a street's cut from the city only heals: note how far the district has the street.
        case lagProbe(partition: Int)
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
        var latency: Int64
    }

    /// One simulated TCP connection between a dialer and the peer it dialed.
    struct SimConnection {
        let dialer: NodeID
        let acceptor: NodeID
        var link: LinkKey { LinkKey(dialer, acceptor) }
        /// The ends that still have it open.
        var open: Set<NodeID>
        /// When the last message each way is due (for in-order delivery without `Faults.reorder`), and the last
        /// handshake message (never overtaken).
        var lastDue: [NodeID: Int64] = [:]
        var handshakeDue: [NodeID: Int64] = [:]
        func other(_ id: NodeID) -> NodeID { id == dialer ? acceptor : dialer }
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
        let verifier = RememberingVerifier()
        for id in nodeIDs {
            // One node in eight is off by up to the full skew; the rest, as NTP keeps them, by an eighth of it.
            let range = rng.next() % 8 == 0 ? skewMillis : skewMillis / 8
            let skew = range > 0 ? Int64(rng.next() % UInt64(2 * range + 1)) - range : 0
            nodes[id] = try SimNode(id: id, topology: topology, key: keys[id]!, clock: clock, skew: skew, seed: rng.next(),
                                    settings: settings, verifier: verifier, logger: silent)
        }
        for key in self.linkKeys { links[key] = Link(latency: 1 + Int64(rng.next() % 30)) }
        self.rng = rng
        workload = try Workload(simulator: self, seed: rng.next())
    }

    // MARK: - Running

    /// Runs the whole simulation and checks the invariants.
    public func run(progress: (String) -> Void = { _ in }) throws -> SimulationReport {
        let started = ContinuousClock.now
        for id in nodeIDs { try drive(id, .start) }
        try workload.defineCommittees()
        agenda.schedule(.write, at: start + workload.nextGap())
        agenda.schedule(.watch, at: start + Self.watchInterval)
        if options.faults.contains(.partition) { agenda.schedule(.fault(.partitionStart), at: start + span(20_000, 60_000)) }
        if options.faults.contains(.crash) { agenda.schedule(.fault(.crashSomeone), at: start + span(30_000, 90_000)) }
        if options.faults.contains(.restore) { agenda.schedule(.fault(.wipeSomeStreet), at: start + span(40_000, 120_000)) }
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
        case .deliver(let to, let connection, let message, let bytes):
            guard connections[connection]?.open.contains(to) == true else {
                stats.droppedInFlight += 1
                return
            }
            try drive(to, .received(message, on: connection, bytes: bytes))
        case .closed(let to, let connection):
            guard connections[connection]?.open.remove(to) != nil else { return }
            if connections[connection]?.open.isEmpty == true { connections[connection] = nil }
            try drive(to, .closed(connection))
        case .connect(let from, let to, let life):
            guard nodes[from]!.life == life else { return }
            let key = LinkKey(from, to), latency = links[key]!.latency
            if !links[key]!.cuts.isEmpty {
                // Nothing comes back across a partition: the dial times out.
                agenda.schedule(.dialFailed(at: from, peer: to, life: life), at: clock.now + max(1, Int64(settings.dialTimeout) - latency))
            } else if !nodes[to]!.up {
                // Nobody listens: refused at once.
                agenda.schedule(.dialFailed(at: from, peer: to, life: life), at: clock.now + latency)
            } else {
                // Open at the acceptor now; at the dialer once the answer gets back (until then its end is pending).
                nextConnection += 1
                let id = ConnectionID(nextConnection)
                connections[id] = SimConnection(dialer: from, acceptor: to, open: [to])
                try drive(to, .opened(id, dialed: nil))
                agenda.schedule(.connected(at: from, connection: id, dialed: to, life: life), at: clock.now + latency)
            }
        case .connected(let at, let connection, let peer, let life):
            guard nodes[at]!.life == life, nodes[at]!.up else {
                // The dialer died meanwhile: the acceptor's end is reset.
                if connections[connection]?.open.isEmpty == false { closeEnd(connection, from: at) }
                return
            }
            guard connections[connection]?.open.contains(peer) == true else {
                // Reset before the dialer saw it open (the acceptor refused, died or the link was cut): a failed dial.
                connections[connection] = nil
                try drive(at, .dialFailed(peer))
                return
            }
            connections[connection]!.open.insert(at)
            try drive(at, .opened(connection, dialed: peer))
        case .dialFailed(let at, let peer, let life):
            guard nodes[at]!.life == life else { return }
            try drive(at, .dialFailed(peer))
        case .timer(let id, let life, let timer, let generation):
            guard let node = nodes[id], node.up, node.life == life, node.timers[timer] == generation else { return }
            node.timers[timer] = nil
            try drive(id, .timer(timer))
        case .write:
            if clock.now < workloadEnd {
                try workload.step()
                agenda.schedule(.write, at: clock.now + workload.nextGap())
            }
        case .fault(let fault):
            guard clock.now < workloadEnd else { return }
            try inject(fault)
        case .watch:
            // Until the end, after the heal too: a street and its district may both see a deadline pass, partitioned or not.
            for id in nodeIDs where nodes[id]!.up && [.street, .district].contains(topology.nodes[id]!.role) {
                var escalated = 0
                _ = try write(at: id, "ticket watch") { tx in escalated = try tx.watchTickets(rules: options.escalationRules, nowMillis: tx.nowMillis).escalated }
                stats.automaticEscalations += escalated
            }
            agenda.schedule(.watch, at: clock.now + Self.watchInterval)
        }
    }

    // MARK: - Carrying out the driver's directives

    /// Gives node `id`'s driver one event, at the node's own (skewed) time, and carries out what it answers.
    func drive(_ id: NodeID, _ event: ReplicationDriver.Event) throws {
        let node = nodes[id]!
        guard node.up else { return }
        let directives = try node.driver.handle(event, now: node.wall)
        for directive in directives { try carryOut(directive, at: id) }
    }

    func carryOut(_ directive: ReplicationDriver.Directive, at id: NodeID) throws {
        let node = nodes[id]!
        switch directive {
        case .dial(let peer):
            agenda.schedule(.connect(from: id, to: peer, life: node.life), at: clock.now + links[LinkKey(id, peer)]!.latency)
        case .send(let message, let connection):
            try send(message, on: connection, from: id)
        case .close(let connection, _):
            guard connections[connection]?.open.remove(id) != nil else { return }
            closeEnd(connection, from: id)
        case .schedule(let timer, let at):
            timerGenerations += 1
            let generation = timerGenerations
            node.timers[timer] = generation
            agenda.schedule(.timer(id, life: node.life, timer, generation: generation), at: max(clock.now, at - node.skew))
        case .note(let note):
            switch note {
            case .linkUp(let peer):
                if topology.dialed(by: id).contains(peer) { stats.connects += 1 }
            case .applied(let result, _):
                stats.applied += result.applied
                stats.duplicates += result.duplicates
                stats.refusedClock += result.refusedClock.count
            case .syncIgnored:
                stats.syncsIgnored += 1
            case .memberStatus(let member, let status):
                stats.swimChanges[status, default: 0] += 1
                if status != .alive, nodes[member]?.up == true { stats.falseSuspicions += 1 }
            case .refused(_, _, let reason):
                stats.linksRefused[reason.rawValue, default: 0] += 1
            case .recovered(let own):
                trace.add(clock.now, "\(id) recovered: its district and the city hold nothing of its own beyond #\(own); taking writes again")
                stats.recoveries += 1
            case .linkDown, .recovering, .applyFailed:
                break
            }
        }
    }

    /// One end closed a connection: the other end hears of it after the link's latency (a FIN, or an RST from a
    /// restarted process); what was in flight to the closed end is dropped on arrival.
    func closeEnd(_ connection: ConnectionID, from id: NodeID) {
        guard let state = connections[connection] else { return }
        let other = state.other(id)
        // A dialer whose end is still pending learns of it as a failed dial (see `.connected`).
        guard state.open.contains(other) else { return }
        agenda.schedule(.closed(to: other, connection: connection), at: clock.now + links[state.link]!.latency)
    }

    // MARK: - The network

    /// Sends `message` on a connection, if both ends still have it open: counted at its encoded size, then lost,
    /// delayed, reordered or duplicated as the faults say. Every `decodeEvery`-th payload is decoded as the receiver
    /// would decode it and must give back the very message sent (the codec has its own tests and fuzzing; decoding all
    /// 730,000 messages of a Shanghai run cost a tenth of its time); the others are delivered as sent.
    func send(_ message: GossipMessage, on connection: ConnectionID, from: NodeID) throws {
        guard var state = connections[connection], state.open.contains(from) else { return }
        let to = state.other(from)
        let payload = message.payload
        sent += 1
        if sent % Self.decodeEvery == 0 {
            let decoded: GossipMessage
            do { decoded = try GossipMessage(payload: payload) } catch { throw SimulationError("\(to) could not decode a message from \(from): \(error)") }
            guard decoded == message else { throw SimulationError("a \(message.kindName) message from \(from) to \(to) changed on the wire") }
        }
        stats.count(message, bytes: payload.count)
        nodes[from]!.driver.sent(message, on: connection, payloadBytes: payload.count, wireBytes: payload.count)
        let faults = options.faults
        if faults.contains(.loss), rng.next() % 100 < 2 { stats.lost += 1; return }
        var due = clock.now + links[state.link]!.latency
        let handshake = message.isHandshake
        if faults.contains(.reorder), !handshake {
            // Reordered, but never ahead of the handshake (the driver would rightly refuse it as out of order).
            due = max(due + Int64(-log(Double(rng.next() % 1_000_000 + 1) / 1_000_001) * 8), state.handshakeDue[to] ?? 0)
        } else {
            due = max(due, state.lastDue[to] ?? 0)
            state.lastDue[to] = due
            if handshake { state.handshakeDue[to] = due }
            connections[connection] = state
        }
        agenda.schedule(.deliver(to: to, connection: connection, message: message, bytes: payload.count), at: due)
        if faults.contains(.duplicate), rng.next() % 100 < 2 {
            stats.duplicated += 1
            agenda.schedule(.deliver(to: to, connection: connection, message: message, bytes: payload.count), at: due + 1 + Int64(rng.next() % 2_000))
        }
    }

    /// A cut link resets every connection on it: both ends hear of it at once (a pending dialer, as a failed dial).
    func linkDown(_ key: LinkKey) throws {
        for (id, state) in connections.sorted(by: { $0.key < $1.key }) where state.link == key {
            // A pending dialer's `.connected` finds the entry with its acceptor gone, and removes it.
            if state.open.contains(state.dialer) { connections[id] = nil } else { connections[id]!.open = [] }
            for end in [state.dialer, state.acceptor] where state.open.contains(end) { try drive(end, .closed(id)) }
        }
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
    /// When each street lost its disk (`Faults.restore`).
    var wipes: [NodeID: [Int64]] = [:]

    func inject(_ fault: FaultEvent) throws {
        switch fault {
        case .partitionStart:
            let streets = nodeIDs.filter { topology.nodes[$0]!.role == .street }
            let districts = nodeIDs.filter { topology.nodes[$0]!.role == .district }
            let city = topology.city.id
            var kind: String
            var cut: [LinkKey]
            var onlyFromCity: NodeID?
            switch rng.next() % 5 {
            case 4:
                let street = streets[Int(rng.next() % UInt64(streets.count))]
                kind = "street \(street) cut from the city only"
                cut = [LinkKey(street, city)]
                onlyFromCity = street
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
                cutsSoFar[key, default: 0] += 1
                try linkDown(key)
            }
            stats.partitions += 1
            trace.add(clock.now, "fault: \(kind) (partition \(id))")
            let ends = clock.now + span(10_000, 120_000)
            agenda.schedule(.fault(.partitionEnd(id: id)), at: ends)
            if let street = onlyFromCity, ends - clock.now > Self.relayWindow + 2_000 {
                partialCuts[id] = PartialCut(street: street, district: topology.nodes[street]!.parent!)
                agenda.schedule(.fault(.lagProbe(partition: id)), at: ends - Self.relayWindow)
            }
            agenda.schedule(.fault(.partitionStart), at: clock.now + span(30_000, 90_000))
        case .partitionEnd(let id):
            checkRelay(partition: id)
            heal(partition: id)
        case .lagProbe(let id):
            guard var cut = partialCuts[id], nodes[cut.district]!.up else { return }
            cut.probe = (clock.now, nodes[cut.district]!.driver.engine.coverage[cut.street].contiguous, disturbance(cut))
            partialCuts[id] = cut
        case .flap(let key, let remaining):
            let flapID = -1 - Int(stats.partitions)
            if links[key]!.cuts.isEmpty {
                links[key]!.cuts.insert(flapID)
                cutsSoFar[key, default: 0] += 1
                try linkDown(key)
            } else {
                links[key]!.cuts = links[key]!.cuts.filter { $0 >= 0 }
            }
            if remaining > 0 {
                agenda.schedule(.fault(.flap(key, remaining: remaining - 1)), at: clock.now + 2_000 + Int64(rng.next() % 8_000))
            } else {
                links[key]!.cuts = links[key]!.cuts.filter { $0 >= 0 }
            }
        case .crashSomeone:
            let candidates = nodeIDs.filter { nodes[$0]!.up }
            // Mostly streets; a district or the city now and then.
            let pick = candidates[Int(rng.next() % UInt64(candidates.count))]
            try crash(pick)
            agenda.schedule(.fault(.restart(pick)), at: clock.now + span(5_000, 60_000))
            agenda.schedule(.fault(.crashSomeone), at: clock.now + span(20_000, 90_000))
        case .restart(let id):
            try restart(id)
        case .wipeSomeStreet:
            let streets = nodeIDs.filter { topology.nodes[$0]!.role == .street && nodes[$0]!.up && !nodes[$0]!.store.isRecovering }
            if !streets.isEmpty { try wipe(streets[Int(rng.next() % UInt64(streets.count))]) }
            agenda.schedule(.fault(.wipeSomeStreet), at: clock.now + span(60_000, 180_000))
        }
    }

    /// A street cut from the city only, its link to its district up: the city must still learn what the street wrote,
    /// through the district (`SyncPlanner.relays`), within `relayWindow`.
    struct PartialCut {
        var street: NodeID
        var district: NodeID
        /// When the district's coverage of the street was read, what it was, and the disturbance mark then.
        var probe: (millis: Int64, contiguous: UInt64, mark: [Int])?
    }
    var partialCuts: [Int: PartialCut] = [:]
    /// What the relay check found: one line per cut checked, nil where it held.
    var relayChecks: [(partition: Int, failure: String?)] = []
    /// Two anti-entropy rounds at most, and the sync throttle.
    static let relayWindow: Int64 = 12_000
    /// Bumped whenever a link is cut or a node crashes: a relay window with either on the district–city path is not judged.
    var cutsSoFar: [LinkKey: Int] = [:]

    func disturbance(_ cut: PartialCut) -> [Int] {
        let city = topology.city.id
        return [cutsSoFar[LinkKey(cut.district, city), default: 0], nodes[cut.district]!.life, nodes[city]!.life,
                nodes[cut.street]!.life, links[LinkKey(cut.district, city)]!.cuts.count]
    }

    /// At the end of a street's cut from the city only: the city covers the street at least as far as the district did
    /// `relayWindow` earlier — when nothing else cut the district–city path or restarted a node meanwhile, and the
    /// street's clock is close enough to the city's that the city does not refuse its stamps.
    func checkRelay(partition id: Int) {
        guard let cut = partialCuts.removeValue(forKey: id), let probe = cut.probe else { return }
        let city = topology.city.id
        guard probe.mark == disturbance(cut), probe.mark.last == 0, nodes[city]!.up,
              abs(nodes[cut.street]!.skew - nodes[city]!.skew) < 30_000 else { return }
        let cityHas = nodes[city]!.driver.engine.coverage[cut.street].contiguous
        relayChecks.append((id, cityHas >= probe.contiguous ? nil
            : "\(cut.street) cut from the city only: the city has it through #\(cityHas) at t=\(clock.now - start) ms, the district had #\(probe.contiguous) \(Self.relayWindow) ms earlier"))
    }

    /// A healed link carries connections again once its dialer's next redial gets through (within the backoff cap).
    func heal(partition id: Int) {
        guard let partition = partitions.removeValue(forKey: id) else { return }
        trace.add(clock.now, "heal: \(partition.kind) (partition \(id))")
        for key in partition.links { links[key]!.cuts.remove(id) }
    }

    /// SIGKILL: the process and its connections are gone at once (each peer hears an RST after the link's latency);
    /// only what was committed survives.
    func crash(_ id: NodeID) throws {
        let node = nodes[id]!
        guard node.up else { return }
        node.up = false
        node.life += 1
        for (connection, state) in connections.sorted(by: { $0.key < $1.key }) where state.open.contains(id) {
            connections[connection]?.open.remove(id)
            closeEnd(connection, from: id)
        }
        stats.crashes += 1
        trace.add(clock.now, "fault: \(id) killed")
    }

    func restart(_ id: NodeID) throws {
        let node = nodes[id]!
        guard !node.up else { return }
        try node.restart()
        trace.add(clock.now, "restart: \(id)")
        try drive(id, .start)
    }

    /// A street's disk lost: killed, then started at once on an empty database in recovery, as `shequ admin restore
    /// --empty` does. What it had acknowledged but no other node held yet is lost with the disk (the invariants
    /// allow exactly those); nothing else may be, and no sequence number it used may be used again for another change.
    func wipe(_ id: NodeID) throws {
        try crash(id)
        try nodes[id]!.restoreEmpty()
        wipes[id, default: []].append(clock.now)
        stats.wipes += 1
        trace.add(clock.now, "fault: \(id) lost its disk; restored empty, recovering from its district and the city")
        try drive(id, .start)
    }

    /// End of the workload: every partition healed, every node restarted, every link back.
    func healEverything() throws {
        trace.add(clock.now, "workload ends: healing everything")
        for id in partitions.keys.sorted() { heal(partition: id) }
        for key in linkKeys { links[key]!.cuts = [] }
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
        } catch let error as StorageError where error.isRecovering {
            stats.refusals["503/recovering", default: 0] += 1
            return nil
        }
        guard !made.isEmpty else { return made }
        workload.acknowledge(made, at: clock.now)
        trace.add(clock.now, "\(id) \(what): \(made.map { "\($0.id.origin)#\($0.id.seq) \($0.kind) \($0.entity)" }.joined(separator: ", "))")
        try drive(id, .committed(made))
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

/// One simulated node: its store and its replication driver. A crash loses everything but the committed database; a
/// restart rebuilds the rest from it, as a process would.
final class SimNode {
    let id: NodeID
    let topology: Topology
    let key: Curve25519.Signing.PrivateKey
    var store: Store
    var driver: ReplicationDriver
    var up = true
    /// Bumped at each crash: timers and dials of an earlier life are ignored.
    var life = 0
    let skew: Int64
    let clock: SimClock
    var rng: SplitMix64
    /// Each pending driver timer's generation (a timer fires only if not scheduled again since).
    var timers: [ReplicationDriver.Timer: Int] = [:]
    let settings: ReplicationDriver.Settings
    let logger: Logger
    let verifier: RememberingVerifier

    init(id: NodeID, topology: Topology, key: Curve25519.Signing.PrivateKey, clock: SimClock, skew: Int64, seed: UInt64,
         settings: ReplicationDriver.Settings, verifier: RememberingVerifier, logger: Logger) throws {
        self.id = id
        self.topology = topology
        self.key = key
        self.verifier = verifier
        self.clock = clock
        self.skew = skew
        self.settings = settings
        self.logger = logger
        var rng = SplitMix64(seed: seed)
        store = try Self.emptyStore(id: id, key: key, clock: clock, skew: skew, rng: &rng, logger: logger)
        driver = try Self.driver(store: store, topology: topology, key: key, settings: settings, verifier: verifier, rng: &rng, logger: logger)
        self.rng = rng
    }

    static func emptyStore(id: NodeID, key: Curve25519.Signing.PrivateKey, clock: SimClock, skew: Int64, rng: inout SplitMix64,
                           logger: Logger) throws -> Store {
        try Store(path: nil, nodeID: id, wallMillis: { [clock] in UInt64(clock.now + skew) }, random: SplitMix64(seed: rng.next()),
                  signer: { bytes in ChangeSignature.sign(bytes, with: key) }, logger: logger)
    }

    static func driver(store: Store, topology: Topology, key: Curve25519.Signing.PrivateKey, settings: ReplicationDriver.Settings,
                       verifier: RememberingVerifier, rng: inout SplitMix64, logger: Logger) throws -> ReplicationDriver {
        let engine = try ReplicaEngine(store: store, topology: topology, local: store.nodeID, logger: logger, verifier: verifier)
        let nonces = SeededBytes(seed: rng.next())
        return ReplicationDriver(engine: engine, settings: settings, seed: rng.next(), sign: { bytes in ChangeSignature.sign(bytes, with: key) },
                                 nonce: { nonces.next(32) })
    }

    /// This node's clock, ms.
    var wall: Int64 { clock.now + skew }

    func restart() throws {
        store = try store.restarted(random: SplitMix64(seed: rng.next()))
        try startAfresh()
    }

    /// Started again on an empty database, in recovery (`shequ admin restore --empty`).
    func restoreEmpty() throws {
        store = try Self.emptyStore(id: id, key: key, clock: clock, skew: skew, rng: &rng, logger: logger)
        try store.beginRecovery()
        try startAfresh()
    }

    private func startAfresh() throws {
        driver = try Self.driver(store: store, topology: topology, key: key, settings: settings, verifier: verifier, rng: &rng, logger: logger)
        timers = [:]
        up = true
    }
}

extension GossipMessage {
    var isHandshake: Bool {
        switch self {
        case .hello, .welcome, .proof: true
        case .sync, .changes, .swim: false
        }
    }
}

/// Handshake nonces from a seed, so that a run is the same every time. Not thread-safe: the simulator runs on one thread.
final class SeededBytes: @unchecked Sendable {
    private var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }
    func next(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
}
