import Gossip
import Logging
import Replication

/// One transport connection, numbered by the shell that opened or accepted it.
public struct ConnectionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let raw: UInt64
    public init(_ raw: UInt64) { self.raw = raw }
    public static func < (l: Self, r: Self) -> Bool { l.raw < r.raw }
    public var description: String { "#\(raw)" }
}

/// The messages that waited on one connection, in the order they arrived, each with its payload size: what
/// `ReplicationDriver.Event.receivedTogether` takes from each of several connections at once.
public struct WaitingMessages: Sendable {
    public var connection: ConnectionID
    public var messages: [(message: GossipMessage, bytes: Int)]
    public init(_ messages: [(message: GossipMessage, bytes: Int)], on connection: ConnectionID) {
        self.connection = connection
        self.messages = messages
    }
}

/// One node's replication, as a state machine: events in (a connection opened, a frame received, a local write
/// committed, a timer fired), directives out (dial, send, close, schedule a timer). It owns every decision of the
/// protocol — the mutual handshake and its deadline, which connection is a peer's session, eager push, anti-entropy
/// and its jitter, the throttle on a peer's syncs, redial backoff, idle links, recovery after a restore, and the
/// failure detector's timer — and reads and writes data only through its `ReplicaEngine`. Time is the node's clock in
/// milliseconds, passed with each event.
///
/// Two shells carry out the directives: `GossipNIO.ReplicationService` over TCP, and the simulator over a simulated
/// network and clock. Neither decides a timeout, a batch or a retry, so what the simulator's seeds prove holds for the
/// code that serves. The model is `SWIM`'s: pure, tested as transcripts (`Tests/FederationTests`).
public struct ReplicationDriver: Sendable {
    /// Timing and limits, in milliseconds.
    public struct Settings: Sendable, Hashable {
        /// A connection must finish the handshake this soon, or it is closed (a peer that says nothing or drips bytes).
        public var handshakeTimeout: Int64 = 5_000
        /// At most this many inbound connections may be in their handshake at once; more are closed when opened.
        public var maxHandshaking = 32
        /// An established link from which nothing is heard for this long is closed (every live link carries a sync
        /// at least every `quietAntiEntropy`, half of this).
        public var idleTimeout: Int64 = 60_000
        /// A peer's syncs closer together than this are not answered.
        public var syncInterval: Int64 = 250
        /// Each side of every link tells the other what it covers once in this many ms, drawn anew each round.
        public var antiEntropy: ClosedRange<Int64> = 1_000...5_000
        /// A link whose syncs keep finding nothing syncs less often, doubling its wait up to this (below
        /// `idleTimeout`); a sync that finds something, a gap in what arrives, a refusal or a new session resets it.
        /// 30 s: at 232 nodes some 900 link ends sync, and at 15 s that was ~60 syncs/s — 0.16–0.22 messages per
        /// replica reached at the 140–200 changes/s the bench machine reaches, over the 1.2 asked (docs/benchmarks.md).
        /// A TCP link loses nothing without closing, and a new session syncs at once, so the wait costs only a change
        /// its origin never pushed here (another process's write to the node's database, say).
        public var quietAntiEntropy: Int64 = 30_000
        /// Redial after a failure: the first wait, doubling up to `maxBackoff`, each jittered down to half so that the
        /// streets of a restarted parent do not all dial at once. The cap bounds how long a healed link stays down.
        public var firstBackoff: Int64 = 200
        public var maxBackoff: Int64 = 2_000
        /// The failure detector ticks on this grid, only at the first point at or past its next deadline.
        public var failureDetectorGrid: Int64 = 100
        /// At most this many messages answer one sync.
        public var maxBatchesPerSync = 20
        /// A dial that has not connected by then has failed.
        public var dialTimeout: Int64 = 2_000
        /// The wire versions this node speaks (a test sets them to play an older or newer release).
        public var wire: GossipMessage.WireVersions = .current
        /// On a transport that can lose a message outright (not TCP, which retransmits: the emulated WAN of the
        /// propagation bench), a push followed by nothing more to the same peer for this long sends that push's last
        /// change again — a tail probe. A receiver that lacked it applies it, and one that lacked more sees a gap and
        /// asks at once; so a lost push costs this wait and a round trip, not the wait for the origin's next write or
        /// the next anti-entropy round. Nil (the default): off, and no message is added.
        public var tailProbe: Int64?
        public init() {}
    }

    public enum Event: Sendable {
        /// The shell is ready: dial the peers this node dials and start the timers.
        case start
        /// A transport connection is up: one this node dialed to `dialed`, or an inbound one (`dialed` nil).
        case opened(ConnectionID, dialed: NodeID?)
        /// A dial of `peer` did not connect.
        case dialFailed(NodeID)
        /// A connection closed (by the peer, the network or a `close` directive).
        case closed(ConnectionID)
        /// A message arrived on a connection; `bytes` is its payload size.
        case received(GossipMessage, on: ConnectionID, bytes: Int)
        /// `changes` messages that waited on several connections, applied in one store transaction
        /// (`ReplicaStore.applyingTogether`), each as `received` would; one whose apply fails closes its connection, and
        /// nothing more of that connection is handled. Any other message is handled after the transaction commits, in
        /// order (a `sync` answer reads the log).
        case receivedTogether([WaitingMessages])
        /// Bytes arrived that are not a frame or not a message.
        case malformed(ConnectionID, LinkRefusal)
        /// Local writes committed, in order.
        case committed([Change])
        case timer(Timer)
        /// The topology was reloaded (SIGHUP): links to peers that left, or whose key changed, are closed; new peers are
        /// dialed or accepted; every other link stays up.
        case topologyChanged(Topology)
    }

    /// The timers the driver asks for. A `schedule` replaces the pending timer of the same value.
    public enum Timer: Hashable, Sendable {
        case antiEntropy
        case failureDetector
        case redial(NodeID)
        case handshakeDeadline(ConnectionID)
        case idleCheck(ConnectionID)
        /// The last push to the peer is sent again (`Settings.tailProbe`).
        case tailProbe(NodeID)
    }

    public enum Directive: Equatable, Sendable {
        /// Open a connection to `peer`; answer with `.opened(_, dialed: peer)` or `.dialFailed(peer)`.
        case dial(NodeID)
        case send(GossipMessage, on: ConnectionID)
        /// Close the connection (the refusal, when there is one, is already counted and noted).
        case close(ConnectionID, LinkRefusal?)
        /// Fire `.timer(timer)` at `at` (this node's clock), replacing a pending one of the same value.
        case schedule(Timer, at: Int64)
        /// Something to log or count; changes nothing.
        case note(Note)
    }

    /// What happened, for the shell's logs and counters.
    public enum Note: Equatable, Sendable {
        case linkUp(NodeID)
        case linkDown(NodeID)
        case refused(ConnectionID, peer: NodeID?, LinkRefusal)
        case applied(RemoteApplyResult, from: NodeID)
        case syncIgnored(from: NodeID)
        case memberStatus(NodeID, SWIM.Status)
        /// While recovering: whether `peer`'s sync showed it holds nothing of this node's beyond its log.
        case recovering(peer: NodeID, clear: Bool, own: UInt64, theirs: UInt64)
        /// Every dialed peer has shown that: local writes are taken again.
        case recovered(own: UInt64)
        /// Received changes could not be stored (in `receivedTogether`, where the connection is closed for it).
        case applyFailed(ConnectionID, String)
    }

    enum Phase: Sendable {
        /// Inbound, before the peer's hello.
        case awaitingHello(nonce: [UInt8])
        /// Dialed, hello sent.
        case awaitingWelcome(peer: NodeID, nonce: [UInt8])
        /// Inbound, welcome sent.
        case awaitingProof(peer: NodeID, nonce: [UInt8])
        case established(peer: NodeID)
    }

    struct Connection: Sendable {
        var phase: Phase
        let dialed: NodeID?
        var lastHeard: Int64
        var inHandshake: Bool {
            if case .established = phase { return false }
            return true
        }
        var peer: NodeID? {
            switch phase {
            case .awaitingHello: nil
            case .awaitingWelcome(let peer, _), .awaitingProof(let peer, _), .established(let peer): peer
            }
        }
    }

    public let local: NodeID
    public private(set) var topology: Topology
    /// The wire version each peer's link speaks (the latest handshake's).
    public private(set) var wireVersions: [NodeID: Int] = [:]
    public let settings: Settings
    public private(set) var engine: ReplicaEngine
    public private(set) var swim: SWIM
    private let sign: @Sendable ([UInt8]) -> [UInt8]
    private let nonce: @Sendable () -> [UInt8]
    private var rng: SplitMix64
    private var dialed: [NodeID]
    private var peers: Set<NodeID>
    private var connections: [ConnectionID: Connection] = [:]
    /// Each peer's established connection.
    private var sessions: [NodeID: ConnectionID] = [:]
    private var dialing: Set<NodeID> = []
    private var handshakingInbound = 0
    private var backoff: [NodeID: Int64] = [:]
    private var lastSyncAnswered: [NodeID: Int64] = [:]
    /// Quieter anti-entropy, per peer: how many syncs in a row found nothing (the wait doubles with each), when the
    /// next one is due, and whether something was found (or went missing) since the last.
    private var quietSyncs: [NodeID: Int] = [:]
    private var syncDue: [NodeID: Int64] = [:]
    private var syncFound: Set<NodeID> = []
    private var recoveryConfirmed: Set<NodeID> = []
    /// The last change pushed to each peer since its tail probe last went (with `Settings.tailProbe`).
    private var lastPushed: [NodeID: Change] = [:]
    private var failureDetectorGridStart: Int64 = 0
    private var failureDetectorAt: Int64?
    private var out: [Directive] = []

    /// - Parameters:
    ///   - sign: signs with this node's key (the handshake's proof).
    ///   - nonce: a fresh handshake nonce (32 random bytes; the system's generator in a served node).
    ///   - seed: for the jitter of timers and the failure detector's choices.
    public init(engine: ReplicaEngine, settings: Settings = Settings(), swim swimSettings: SWIM.Settings = SWIM.Settings(), seed: UInt64,
                sign: @escaping @Sendable ([UInt8]) -> [UInt8], nonce: @escaping @Sendable () -> [UInt8]) {
        self.engine = engine
        self.local = engine.local
        self.topology = engine.topology
        self.settings = settings
        self.sign = sign
        self.nonce = nonce
        var rng = SplitMix64(seed: seed)
        self.swim = SWIM(local: engine.local, members: Array(engine.topology.nodes.keys), peers: engine.topology.peers(of: engine.local),
                         settings: swimSettings, seed: rng.next())
        self.rng = rng
        self.dialed = engine.topology.dialed(by: engine.local).sorted()
        self.peers = Set(engine.topology.peers(of: engine.local))
    }

    // MARK: - Reading

    /// The peer a connection belongs to, once known (after its hello or welcome).
    public func peer(of connection: ConnectionID) -> NodeID? { connections[connection]?.peer }

    /// Each connected peer's established connection.
    public var established: [NodeID: ConnectionID] { sessions }

    /// Every member's status as this node's failure detector believes it.
    public var memberView: [NodeID: SWIM.Status] { swim.view }

    /// Records a message the shell has sent (for the per-peer figures and the byte counters).
    public mutating func sent(_ message: GossipMessage, on connection: ConnectionID, payloadBytes: Int, wireBytes: Int) {
        guard let peer = connections[connection]?.peer else { return }
        engine.sent(peer, changes: message.changeCount, payloadBytes: payloadBytes, wireBytes: wireBytes)
    }

    // MARK: - Events

    /// Takes one event at `now` (this node's clock, ms) and returns what the shell must do, in order. A store error is
    /// thrown (the served shell closes the connection the event came on; the simulator stops).
    public mutating func handle(_ event: Event, now: Int64) throws -> [Directive] {
        out = []
        switch event {
        case .start:
            failureDetectorGridStart = now + Int64(rng.next() % UInt64(settings.failureDetectorGrid))
            for peer in dialed { dial(peer) }
            scheduleAntiEntropy(now)
            scheduleFailureDetector(now)
        case .opened(let connection, let peer):
            opened(connection, dialed: peer, now: now)
        case .dialFailed(let peer):
            dialing.remove(peer)
            scheduleRedial(peer, now)
        case .closed(let connection):
            drop(connection, now)
        case .received(let message, let connection, let bytes):
            try received(message, on: connection, bytes: bytes, now: now)
        case .receivedTogether(let items):
            try receivedTogether(items, now: now)
        case .malformed(let connection, let reason):
            refuse(connection, reason, now)
        case .committed(let changes):
            push(engine.pushes(for: changes), now)
        case .timer(let timer):
            try fired(timer, now)
        case .topologyChanged(let new):
            reload(new, now)
        }
        return out
    }

    private mutating func receivedTogether(_ waiting: [WaitingMessages], now: Int64) throws {
        var closed: Set<ConnectionID> = []   // a connection whose push failed is closed: nothing more of it is handled
        do {
            try engine.store.applyingTogether {
                for connection in waiting where !closed.contains(connection.connection) {
                    for (message, bytes) in connection.messages where message.isChanges {
                        do {
                            try received(message, on: connection.connection, bytes: bytes, now: now)
                        } catch {
                            out.append(.note(.applyFailed(connection.connection, "\(error)")))
                            out.append(.close(connection.connection, nil))
                            closed.insert(connection.connection)
                            break
                        }
                    }
                }
            }
        } catch {
            // The shared commit failed: nothing of the batch is stored, so what the engine believes it covers is read again.
            try engine.reloadCoverage()
            throw error
        }
        for connection in waiting where !closed.contains(connection.connection) {
            for (message, bytes) in connection.messages where !message.isChanges {
                try received(message, on: connection.connection, bytes: bytes, now: now)
            }
        }
    }

    private mutating func reload(_ new: Topology, _ now: Int64) {
        let old = topology
        topology = new
        engine.replaceTopology(new)
        peers = Set(new.peers(of: local))
        dialed = new.dialed(by: local).sorted()
        // What was kept per peer goes with a peer that left.
        for gone in Set(old.peers(of: local)).subtracting(peers) {
            (backoff[gone], lastSyncAnswered[gone], quietSyncs[gone], syncDue[gone], wireVersions[gone], lastPushed[gone]) = (nil, nil, nil, nil, nil, nil)
            syncFound.remove(gone)
        }
        // A peer that left is refused as a stranger would be; one with a new key must prove it again.
        for connection in connections.keys.sorted() {
            guard let peer = connections[connection]?.peer else { continue }
            if !peers.contains(peer) {
                refuse(connection, .unknownNode, now)
            } else if old.nodes[peer]?.publicKey != new.nodes[peer]?.publicKey {
                refuse(connection, .badProof, now)
            }
        }
        swim.setMembers(Array(new.nodes.keys), peers: new.peers(of: local))
        for peer in dialed where sessions[peer] == nil { dial(peer) }
        scheduleFailureDetector(now)
    }

    // MARK: - Connections and the handshake

    private mutating func dial(_ peer: NodeID) {
        // A redial of a peer that left the topology meanwhile is dropped.
        guard dialed.contains(peer), !dialing.contains(peer), sessions[peer] == nil else { return }
        dialing.insert(peer)
        out.append(.dial(peer))
    }

    private mutating func opened(_ connection: ConnectionID, dialed peer: NodeID?, now: Int64) {
        let mine = nonce()
        if let peer {
            dialing.remove(peer)
            connections[connection] = Connection(phase: .awaitingWelcome(peer: peer, nonce: mine), dialed: peer, lastHeard: now)
            out.append(.send(.hello(node: local, nonce: mine, wire: settings.wire), on: connection))
        } else {
            guard handshakingInbound < settings.maxHandshaking else {
                LinkRefusal.tooManyHandshakes.count()
                out.append(.note(.refused(connection, peer: nil, .tooManyHandshakes)))
                out.append(.close(connection, .tooManyHandshakes))
                return
            }
            handshakingInbound += 1
            connections[connection] = Connection(phase: .awaitingHello(nonce: mine), dialed: nil, lastHeard: now)
        }
        out.append(.schedule(.handshakeDeadline(connection), at: now + settings.handshakeTimeout))
    }

    private mutating func received(_ message: GossipMessage, on connection: ConnectionID, bytes: Int, now: Int64) throws {
        guard var state = connections[connection] else { return }
        state.lastHeard = now
        connections[connection] = state
        switch state.phase {
        case .awaitingHello(let mine):
            guard case .hello(let node, let theirs, let wire) = message else { return refuse(connection, .outOfOrder, now) }
            guard node != local, peers.contains(node) else { return refuse(connection, .unknownNode, now) }
            guard let version = settings.wire.agreed(with: wire) else { return refuse(connection, .incompatibleVersion, now) }
            wireVersions[node] = version
            connections[connection]?.phase = .awaitingProof(peer: node, nonce: mine)
            let proof = HandshakeProof.make(nonce: theirs, signer: local, peer: node, sign: sign)
            out.append(.send(.welcome(node: local, nonce: mine, proof: proof, wire: settings.wire), on: connection))
        case .awaitingWelcome(let peer, let mine):
            guard case .welcome(let node, let theirs, let proof, let wire) = message, node == peer else { return refuse(connection, .outOfOrder, now) }
            guard HandshakeProof.isValid(proof, nonce: mine, signer: node, peer: local, topology: topology) else {
                return refuse(connection, .badProof, now)
            }
            guard let version = settings.wire.agreed(with: wire) else { return refuse(connection, .incompatibleVersion, now) }
            wireVersions[node] = version
            out.append(.send(.proof(HandshakeProof.make(nonce: theirs, signer: local, peer: node, sign: sign)), on: connection))
            establish(connection, peer, now)
        case .awaitingProof(let peer, let mine):
            guard case .proof(let proof) = message else { return refuse(connection, .outOfOrder, now) }
            guard HandshakeProof.isValid(proof, nonce: mine, signer: peer, peer: local, topology: topology) else {
                return refuse(connection, .badProof, now)
            }
            establish(connection, peer, now)
        case .established(let peer):
            engine.heard(peer, payloadBytes: bytes)
            switch message {
            case .sync(let theirs, let clock):
                if engine.store.isRecovering { try checkRecovery(peer: peer, theirs: theirs) }
                if let last = lastSyncAnswered[peer], now - last < settings.syncInterval {
                    GossipMetrics.syncsIgnored.increment()
                    out.append(.note(.syncIgnored(from: peer)))
                    return
                }
                lastSyncAnswered[peer] = now
                for batch in try engine.batches(for: peer, theirs: theirs, theirClock: clock, maxBatches: settings.maxBatchesPerSync) {
                    out.append(.send(batch, on: connection))
                }
            case .changes(let changes, let claims):
                let origins = Set(changes.map(\.id.origin))
                func gaps() -> Set<NodeID> { origins.filter { !engine.coverage[$0].beyond.isEmpty } }
                let (gapsBefore, rejectedBefore) = (gaps(), engine.rejections.values.reduce(0, +))
                let (result, accepted) = try engine.receive(changes, claims: claims, from: peer)
                out.append(.note(.applied(result, from: peer)))
                // A sync's answer that brought something, a refusal, or a gap in an origin's sequence: sync with this
                // peer at the next round, not after a quiet wait.
                let gapsAfter = gaps()
                if (!claims.isEmpty && result.applied > 0) || !gapsAfter.isEmpty || engine.rejections.values.reduce(0, +) > rejectedBefore {
                    syncFound.insert(peer)
                    syncDue[peer] = nil
                }
                // A gap that this batch opened (a push before it was lost): ask for it at once, not at the next round.
                if !gapsAfter.subtracting(gapsBefore).isEmpty { out.append(.send(engine.sync(for: peer), on: connection)) }
                push(engine.forwards(accepted, from: peer), now)
            case .swim(let message):
                carryOut(swim.receive(message, from: peer, now: now))
                scheduleFailureDetector(now)
            case .hello, .welcome, .proof:
                refuse(connection, .outOfOrder, now)
            }
        }
    }

    /// Sends each peer its changes on its session, as claim-less batches (eager push, and a district passing replies on).
    private mutating func push(_ changes: [NodeID: [Change]], _ now: Int64) {
        for peer in changes.keys.sorted() {
            guard let connection = sessions[peer] else { continue }
            for message in GossipMessage.batches(changes[peer]!, claimed: false) { out.append(.send(message, on: connection)) }
            if let probe = settings.tailProbe, let last = changes[peer]!.last {
                lastPushed[peer] = last
                out.append(.schedule(.tailProbe(peer), at: now + probe))
            }
        }
    }

    /// The handshake is done: this connection is now `peer`'s session (replacing an older one), and each side says
    /// what it covers.
    private mutating func establish(_ connection: ConnectionID, _ peer: NodeID, _ now: Int64) {
        guard let state = connections[connection] else { return }
        if state.dialed == nil { handshakingInbound -= 1 }
        connections[connection]?.phase = .established(peer: peer)
        let previous = sessions[peer]
        sessions[peer] = connection
        if let previous, previous != connection {
            out.append(.close(previous, nil))
            connections[previous] = nil
        }
        if state.dialed != nil { backoff[peer] = settings.firstBackoff }
        engine.connected(peer, true)
        quietSyncs[peer] = nil
        syncDue[peer] = nil
        swim.link(peer, up: true)
        out.append(.note(.linkUp(peer)))
        out.append(.send(engine.sync(for: peer), on: connection))
        out.append(.schedule(.idleCheck(connection), at: now + settings.idleTimeout))
        scheduleFailureDetector(now)
    }

    /// Refuses a connection: counted, noted and closed.
    private mutating func refuse(_ connection: ConnectionID, _ reason: LinkRefusal, _ now: Int64) {
        reason.count()
        out.append(.note(.refused(connection, peer: connections[connection]?.peer, reason)))
        drop(connection, now)
        out.append(.close(connection, reason))
    }

    /// Forgets a connection: its session ends, and a peer this node dials is dialed again after the backoff.
    private mutating func drop(_ connection: ConnectionID, _ now: Int64) {
        guard let state = connections.removeValue(forKey: connection) else { return }
        if state.dialed == nil, state.inHandshake { handshakingInbound -= 1 }
        if case .established(let peer) = state.phase, sessions[peer] == connection {
            sessions[peer] = nil
            lastSyncAnswered[peer] = nil
            lastPushed[peer] = nil
            engine.connected(peer, false)
            swim.link(peer, up: false)
            out.append(.note(.linkDown(peer)))
            scheduleFailureDetector(now)
        }
        if let peer = state.dialed, sessions[peer] == nil { scheduleRedial(peer, now) }
    }

    private mutating func scheduleRedial(_ peer: NodeID, _ now: Int64) {
        let wait = backoff[peer] ?? settings.firstBackoff
        backoff[peer] = min(wait * 2, settings.maxBackoff)
        out.append(.schedule(.redial(peer), at: now + wait / 2 + Int64(rng.next() % UInt64(wait / 2 + 1))))
    }

    // MARK: - Timers

    private mutating func fired(_ timer: Timer, _ now: Int64) throws {
        switch timer {
        case .antiEntropy:
            for peer in sessions.keys.sorted() where now >= syncDue[peer] ?? now {
                out.append(.send(engine.sync(for: peer), on: sessions[peer]!))
                // Found nothing since the last sync: wait twice as long (up to the cap) before the next. Not syncs to a
                // peer that relays to this node (the city's districts): a street cut from the city only reaches it through
                // its district's answers, so that wait would be the city's lag for it (16 links at the round cost next to
                // nothing).
                let relays = engine.planner.relaysToMe(peer)
                let quiet = syncFound.remove(peer) == nil && !relays ? min((quietSyncs[peer] ?? 0) + 1, 8) : 0
                quietSyncs[peer] = quiet
                syncDue[peer] = quiet == 0 ? nil : now + min(settings.antiEntropy.lowerBound << quiet, settings.quietAntiEntropy)
            }
            scheduleAntiEntropy(now)
        case .failureDetector:
            failureDetectorAt = nil
            carryOut(swim.tick(now: now))
            scheduleFailureDetector(now)
        case .redial(let peer):
            dial(peer)
        case .tailProbe(let peer):
            // Rescheduled by every push, so it fires only once the pushes to this peer have paused.
            guard let change = lastPushed.removeValue(forKey: peer), let connection = sessions[peer] else { return }
            GossipMetrics.tailProbes.increment()
            out.append(.send(.changes([change], claims: [:]), on: connection))
        case .handshakeDeadline(let connection):
            guard let state = connections[connection], state.inHandshake else { return }
            refuse(connection, .handshakeTimeout, now)
        case .idleCheck(let connection):
            guard let state = connections[connection], !state.inHandshake else { return }
            if now - state.lastHeard >= settings.idleTimeout {
                refuse(connection, .idle, now)
            } else {
                out.append(.schedule(.idleCheck(connection), at: state.lastHeard + settings.idleTimeout))
            }
        }
    }

    private mutating func scheduleAntiEntropy(_ now: Int64) {
        let span = settings.antiEntropy
        out.append(.schedule(.antiEntropy, at: now + span.lowerBound + Int64(rng.next() % UInt64(span.upperBound - span.lowerBound + 1))))
    }

    /// The failure detector's tick: at the first grid point at or past its next deadline, unless the one pending
    /// comes soon enough. A tick before the deadline would send nothing and change nothing.
    private mutating func scheduleFailureDetector(_ now: Int64) {
        let grid = settings.failureDetectorGrid
        let due = max(swim.nextDeadline, now + 1)
        let at = failureDetectorGridStart + max(0, due - failureDetectorGridStart + grid - 1) / grid * grid
        if let pending = failureDetectorAt, pending <= at { return }
        failureDetectorAt = at
        out.append(.schedule(.failureDetector, at: at))
    }

    private mutating func carryOut(_ directives: [SWIM.Directive]) {
        for directive in directives {
            switch directive {
            case .send(let peer, let message):
                guard let connection = sessions[peer] else { continue }
                out.append(.send(.swim(message), on: connection))
            case .statusChanged(let node, let status):
                out.append(.note(.memberStatus(node, status)))
            }
        }
    }

    // MARK: - Recovery

    /// A restored node takes no local writes until every peer it dials (its district and the city, which received each
    /// of its writes at once) has shown in a sync that it holds nothing of this node's beyond its log; the missing ones
    /// arrive by ordinary anti-entropy, since an ancestor may send a node its own changes. No sequence number is then
    /// used twice.
    private mutating func checkRecovery(peer: NodeID, theirs: VersionVector) throws {
        guard dialed.contains(peer) else { return }
        let (clear, own) = engine.holdsNothingBeyondLog(theirs)
        if clear { recoveryConfirmed.insert(peer) } else { recoveryConfirmed.remove(peer) }
        out.append(.note(.recovering(peer: peer, clear: clear, own: own, theirs: theirs[local].contiguous)))
        if recoveryConfirmed.isSuperset(of: dialed) {
            try engine.store.finishRecovery()
            out.append(.note(.recovered(own: own)))
        }
    }
}

extension GossipMessage {
    /// How many changes the message carries.
    public var changeCount: Int {
        if case .changes(let changes, _) = self { return changes.count }
        return 0
    }

    /// Whether it is a `changes` message (a push or a sync's answer), even an empty one.
    public var isChanges: Bool {
        if case .changes = self { return true }
        return false
    }
}
