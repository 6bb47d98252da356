@preconcurrency import Crypto
import Federation
import Foundation
import Gossip
import Logging
import Metrics
import NIOCore
import NIOPosix
import Replication
import ServiceLifecycle
import Storage
import Synchronization
import Wire

/// The TCP shell of replication, as a Service: it listens for peers, dials the ones it should
/// (a street its district and the city; a district the city) with backoff, proves its key in a
/// mutual handshake, pushes each local write at once to the peers that hold its scope, and runs
/// anti-entropy with every connected peer every 1–5 s (jittered).
public final class ReplicationService: Service, Sendable {
    public let replicator: Replicator
    public let topology: Topology
    public let local: NodeID
    let key: Curve25519.Signing.PrivateKey
    let store: Store
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let sessions = Mutex<[NodeID: Session]>([:])
    let captured = Mutex(0)
    /// The failure detector; its directives are carried out by `runFailureDetector`.
    let swim: Mutex<SWIM>
    /// Peers whose links are cut by the fault-injection switch (tests only; off unless enabled).
    public let blocked = Mutex<Set<NodeID>>([])
    /// Inbound connections that have not finished the handshake.
    let handshaking = Mutex(0)
    /// The dialed peers that have shown, while this node recovers, that they hold nothing of its own beyond its log.
    let recoveryConfirmed = Mutex<Set<NodeID>>([])
    /// When each peer's last `sync` was answered (a peer that floods syncs is answered at most every `syncInterval`).
    let lastSyncAnswered = Mutex<[NodeID: ContinuousClock.Instant]>([:])

    /// A connection must finish the handshake this soon, or it is closed (a peer that says nothing or drips bytes).
    public static let handshakeTimeout: TimeAmount = .seconds(5)
    /// At most this many inbound connections may be in their handshake at once; more are closed on accept.
    public static let maxHandshaking = 32
    /// A peer's syncs closer together than this are not answered (its own timer sends one every 1–5 s).
    public static let syncInterval: Duration = .milliseconds(250)
    /// The longest wait between two dials of a peer.
    public static let maxBackoff: Duration = .seconds(2)

    /// One live connection's outbound side.
    struct Session: Sendable {
        let id: UInt64
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        let channel: any Channel
    }

    public init(topology: Topology, local: NodeID, key: Curve25519.Signing.PrivateKey, store: Store, logger: Logger) throws {
        self.topology = topology
        self.local = local
        self.key = key
        self.store = store
        self.logger = logger
        self.replicator = try Replicator(store: store, topology: topology, local: local, logger: logger)
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.swim = Mutex(SWIM(local: local, members: Array(topology.nodes.keys), peers: topology.peers(of: local),
                               seed: UInt64.random(in: 0...UInt64.max)))
    }

    /// Every member's status as this node's failure detector believes it.
    public var memberView: [NodeID: SWIM.Status] { swim.withLock { $0.view } }

    deinit { try? group.syncShutdownGracefully() }

    public func run() async throws {
        guard let me = topology.nodes[local] else { throw LinkError("node \(local) is not in the topology") }
        let (host, port) = try Self.split(me.gossip)
        do {
            try await cancelWhenGracefulShutdown {
                try await self.runLinks(host: host, port: port)
            }
        } catch is CancellationError {
            logger.info("gossip stopped", metadata: ["gossip.node": "\(local)"])
        }
    }

    func runLinks(host: String, port: Int) async throws {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.listen(host: host, port: port) }
                for peer in self.topology.dialed(by: self.local) {
                    group.addTask { await self.dialForever(peer) }
                }
                group.addTask { await self.pushLocalChanges() }
                group.addTask { await self.antiEntropyForever() }
                group.addTask { await self.runFailureDetector() }
            }
    }

    static func split(_ address: String) throws -> (String, Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw LinkError("address \(address) is not host:port")
        }
        return (String(address[..<colon]), port)
    }

    // MARK: - Connections

    typealias Connection = NIOAsyncChannel<[UInt8], ByteBuffer>

    static func configure(_ channel: any Channel) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            // Every live link carries a sync at least every 5 s; one silent for 30 s (a peer that connects and
            // says nothing, or a dead half-open socket) is closed.
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(30)))
            try channel.pipeline.syncOperations.addHandler(CloseWhenIdle())
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
            return try Connection(wrappingChannelSynchronously: channel, configuration: .init(backPressureStrategy: .init(lowWatermark: 4, highWatermark: 64)))
        }
    }

    func listen(host: String, port: Int) async throws {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in Self.configure(channel) }
        logger.info("gossip listening", metadata: ["gossip.address": "\(host):\(port)"])
        try await withThrowingDiscardingTaskGroup { tasks in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    let admitted = handshaking.withLock { count in
                        guard count < Self.maxHandshaking else { return false }
                        count += 1
                        return true
                    }
                    guard admitted else {
                        LinkRefusal.tooManyHandshakes.count()
                        // Closed through the async channel: dropping its writer unfinished is a crash in NIO.
                        tasks.addTask { try? await connection.executeThenClose { _, _ in } }
                        continue
                    }
                    tasks.addTask { await self.serve(connection, dialed: nil) }
                }
            }
        }
    }

    /// Keeps a link to `peer` up: dial, run the session, and after a failure wait 0.2 s doubling to 2 s, jittered down to
    /// half so that the streets of a restarted parent do not all dial at once. The cap bounds how long a healed link
    /// stays down (the partition-recovery bench's 5 s target); 231 nodes redialing a dead city every 1–2 s is no load.
    func dialForever(_ peer: NodeID) async {
        var backoff: Duration = .milliseconds(200)
        while !Task.isCancelled {
            if !blocked.withLock({ $0.contains(peer) }), let address = topology.nodes[peer]?.gossip, let (host, port) = try? Self.split(address) {
                do {
                    let connection = try await ClientBootstrap(group: group)
                        .connectTimeout(.seconds(2))
                        .connect(host: host, port: port) { channel in Self.configure(channel) }
                    backoff = .milliseconds(200)
                    await serve(connection, dialed: peer)
                } catch {
                    logger.debug("dial failed", metadata: ["gossip.peer": "\(peer)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: backoff * Double.random(in: 0.5...1))
            backoff = min(backoff * 2, Self.maxBackoff)
        }
    }

    /// Runs one connection: handshake, then messages until it closes.
    func serve(_ connection: Connection, dialed: NodeID?) async {
        let sessionID = UInt64.random(in: 1...UInt64.max)
        var peer: NodeID?
        let channel = connection.channel
        var inHandshake = true
        let deadline = channel.eventLoop.scheduleTask(in: Self.handshakeTimeout) {
            LinkRefusal.handshakeTimeout.count()
            channel.close(promise: nil)
        }
        func handshakeDone() {
            guard inHandshake else { return }
            inHandshake = false
            deadline.cancel()
            if dialed == nil { handshaking.withLock { $0 -= 1 } }
        }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var messages = inbound.makeAsyncIterator()
                let who = try await handshake(&messages, outbound, dialed: dialed)
                handshakeDone()
                guard !blocked.withLock({ $0.contains(who) }) else { return }
                peer = who
                let session = Session(id: sessionID, outbound: outbound, channel: connection.channel)
                let previous = sessions.withLock { sessions in
                    let old = sessions[who]
                    sessions[who] = session
                    return old
                }
                previous?.channel.close(promise: nil)
                await replicator.connected(who, true)
                swim.withLock { $0.link(who, up: true) }
                logger.info("peer connected", metadata: ["gossip.peer": "\(who)"])
                try await send(replicator.sync(for: who), to: who, via: outbound)
                while let payload = try await messages.next() {
                    guard !blocked.withLock({ $0.contains(who) }) else { return }
                    await replicator.heard(who, payloadBytes: payload.count)
                    try await handle(try GossipMessage(payload: payload), from: who, outbound: outbound)
                }
            }
        } catch {
            let refusal = LinkRefusal(error)
            refusal?.count()
            logger.log(level: refusal == nil ? .debug : .warning, "connection ended",
                       metadata: ["gossip.peer": "\(peer ?? dialed ?? "?")", "error": "\(error)", "reason": "\(refusal?.rawValue ?? "closed")"])
        }
        handshakeDone()
        if let peer {
            let wasCurrent = sessions.withLock { sessions in
                guard sessions[peer]?.id == sessionID else { return false }
                sessions[peer] = nil
                return true
            }
            if wasCurrent {
                swim.withLock { $0.link(peer, up: false) }
                await replicator.connected(peer, false)
                logger.info("peer disconnected", metadata: ["gossip.peer": "\(peer)"])
            }
        }
    }

    /// The mutual handshake: each side signs the other's fresh nonce with its node key.
    func handshake(_ messages: inout NIOAsyncChannelInboundStream<[UInt8]>.AsyncIterator, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
                   dialed: NodeID?) async throws -> NodeID {
        func next() async throws -> GossipMessage {
            guard let payload = try await messages.next() else { throw LinkError("closed during handshake") }
            return try GossipMessage(payload: payload)
        }
        func verify(_ proof: [UInt8], nonce: [UInt8], signer: NodeID) throws {
            guard let base64 = topology.nodes[signer]?.publicKey, let key = ChangeSignature.publicKey(base64: base64),
                  key.isValidSignature(proof, for: GossipMessage.handshakeText(nonce: nonce, signer: signer, peer: local)) else {
                throw LinkError("peer \(signer) failed to prove its key", .badProof)
            }
        }
        let myNonce = (0..<32).map { _ in UInt8.random(in: 0...255) }
        if let dialed {
            try await write(.hello(node: local, nonce: myNonce), outbound)
            guard case .welcome(let node, let theirNonce, let proof) = try await next(), node == dialed else {
                throw LinkError("expected welcome from \(dialed)", .outOfOrder)
            }
            try verify(proof, nonce: myNonce, signer: node)
            try await write(.proof(try key.signature(for: GossipMessage.handshakeText(nonce: theirNonce, signer: local, peer: node)).map { $0 }), outbound)
            return node
        }
        guard case .hello(let node, let theirNonce) = try await next(), topology.nodes[node] != nil, node != local,
              topology.peers(of: local).contains(node) else {
            throw LinkError("hello from an unknown node", .unknownNode)
        }
        let proof = try key.signature(for: GossipMessage.handshakeText(nonce: theirNonce, signer: local, peer: node))
        try await write(.welcome(node: local, nonce: myNonce, proof: Array(proof)), outbound)
        guard case .proof(let theirs) = try await next() else { throw LinkError("expected proof", .outOfOrder) }
        try verify(theirs, nonce: myNonce, signer: node)
        return node
    }

    // MARK: - Messages

    func handle(_ message: GossipMessage, from peer: NodeID, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        switch message {
        case .sync(let theirs):
            if store.isRecovering { try await checkRecovery(peer: peer, theirs: theirs) }
            let now = ContinuousClock.now
            let answer = lastSyncAnswered.withLock { last in
                if let previous = last[peer], previous + Self.syncInterval > now { return false }
                last[peer] = now
                return true
            }
            guard answer else {
                GossipMetrics.syncsIgnored.increment()
                return
            }
            for batch in try await replicator.batches(for: peer, theirs: theirs) { try await send(batch, to: peer, via: outbound) }
        case .changes(let changes, let claims):
            let result = try await replicator.receive(changes, claims: claims, from: peer)
            if result.applied > 0 { logger.debug("applied", metadata: ["gossip.peer": "\(peer)", "changes.applied": "\(result.applied)"]) }
        case .swim(let message):
            let directives = swim.withLock { $0.receive(message, from: peer, now: Self.millis()) }
            await carryOut(directives)
        case .hello, .welcome, .proof:
            throw LinkError("handshake message after the handshake", .outOfOrder)
        }
    }

    /// A restored node takes no local writes until every peer it dials (its district and the city, which received
    /// each of its writes at once) has shown in a sync that it holds nothing of this node's beyond its log; the missing
    /// ones arrive by ordinary anti-entropy, since an ancestor may send a node its own changes.
    func checkRecovery(peer: NodeID, theirs: VersionVector) async throws {
        let dialed = Set(topology.dialed(by: local))
        guard dialed.contains(peer) else { return }
        let (clear, own) = try await replicator.holdsNothingBeyondLog(theirs)
        let done = recoveryConfirmed.withLock { confirmed -> Bool in
            if clear { confirmed.insert(peer) } else { confirmed.remove(peer) }
            return confirmed.isSuperset(of: dialed)
        }
        logger.info("recovering", metadata: ["gossip.peer": "\(peer)", "recovery.own": "\(own)", "recovery.theirs": "\(theirs[local].contiguous)"])
        if done {
            try store.finishRecovery()
            logger.notice("recovered: every dialed peer holds nothing of ours beyond our log; taking writes again",
                          metadata: ["recovery.own": "\(own)"])
        }
    }

    func write(_ message: GossipMessage, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        var buffer = ByteBuffer()
        try Frame.write(message.payload, into: &buffer)
        try await outbound.write(buffer)
    }

    func send(_ message: GossipMessage, to peer: NodeID, via outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async throws {
        let payload = message.payload
        var buffer = ByteBuffer()
        try Frame.write(payload, into: &buffer)
        let wire = buffer.readableBytes
        captureIfAsked(buffer, peer: peer)
        try await outbound.write(buffer)
        MessageCounters.sent(message)
        if case .changes(let changes, _) = message {
            await replicator.sent(peer, changes: changes.count, payloadBytes: payload.count, wireBytes: wire)
        } else {
            await replicator.sent(peer, changes: 0, payloadBytes: payload.count, wireBytes: wire)
        }
    }

    /// With `SHEQU_CAPTURE_DIR` set, the first few compressed frames sent are written there as they went on
    /// the wire, body only (`<peer>-<n>.lz4`), for checking with the `lz4` tool. Off by default.
    func captureIfAsked(_ frame: ByteBuffer, peer: NodeID) {
        guard let directory = ProcessInfo.processInfo.environment["SHEQU_CAPTURE_DIR"],
              frame.getInteger(at: 4, as: UInt8.self) == 1 else { return }
        let n = captured.withLock { count -> Int? in
            guard count < 5 else { return nil }
            count += 1
            return count
        }
        guard let n, let body = frame.getBytes(at: 9, length: frame.readableBytes - 9) else { return }
        FileManager.default.createFile(atPath: "\(directory)/\(local)-to-\(peer)-\(n).lz4", contents: Data(body))
    }

    // MARK: - Push and anti-entropy

    /// Eager push: every committed local write goes at once to each connected peer that holds its scope.
    func pushLocalChanges() async {
        for await changes in store.localChanges {
            let pushes = await replicator.pushes(for: changes)
            for (peer, batch) in pushes {
                guard let session = sessions.withLock({ $0[peer] }) else { continue }
                for message in GossipMessage.batches(batch, claimed: false) {
                    try? await send(message, to: peer, via: session.outbound)
                }
            }
        }
    }

    /// Every 1–5 s (jittered), tells each connected peer what this node covers, so that it sends what is missing.
    func antiEntropyForever() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int.random(in: 1_000...5_000)))
            let current = sessions.withLock { $0 }
            for (peer, session) in current {
                if blocked.withLock({ $0.contains(peer) }) {
                    session.channel.close(promise: nil)
                    continue
                }
                try? await send(await replicator.sync(for: peer), to: peer, via: session.outbound)
            }
        }
    }

    // MARK: - Failure detection

    /// Ticks the failure detector every 100 ms and carries out what it asks.
    func runFailureDetector() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            let directives = swim.withLock { $0.tick(now: Self.millis()) }
            await carryOut(directives)
        }
    }

    func carryOut(_ directives: [SWIM.Directive]) async {
        for directive in directives {
            switch directive {
            case .send(let peer, let message):
                guard !blocked.withLock({ $0.contains(peer) }), let session = sessions.withLock({ $0[peer] }) else { continue }
                try? await send(.swim(message), to: peer, via: session.outbound)
            case .statusChanged(let node, let status):
                logger.notice("member status changed", metadata: ["swim.member": "\(node)", "swim.status": "\(status.rawValue)"])
            }
        }
    }

    static func millis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Cuts (or restores) the links to `peers`, as the fault-injection switch asks.
    public func setBlocked(_ peers: Set<NodeID>) {
        blocked.withLock { $0 = peers }
        for (peer, session) in sessions.withLock({ $0 }) where peers.contains(peer) { session.channel.close(promise: nil) }
    }
}

/// Closes the channel when `IdleStateHandler` reports a read timeout.
final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            LinkRefusal.idle.count()
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// Why a replication link was closed or could not be set up.
public struct LinkError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// Why the peer was refused, when it misbehaved (nil for an ordinary close).
    public let refusal: LinkRefusal?
    init(_ description: String, _ refusal: LinkRefusal? = nil) {
        self.description = description
        self.refusal = refusal
    }
}

/// Why a replication connection was refused or cut. Each is counted in `shequ_gossip_links_refused_total{reason}`
/// and logged at warning level; none of them touches stored state.
public enum LinkRefusal: String, Sendable, CaseIterable {
    /// A hello from a node that is not in the topology, or not a peer of this one.
    case unknownNode = "unknown_node"
    /// The peer could not sign this node's nonce with its key in the topology (a removed or replaced key).
    case badProof = "bad_proof"
    /// The handshake did not finish within `ReplicationService.handshakeTimeout` (silent or dripping peers).
    case handshakeTimeout = "handshake_timeout"
    /// Too many connections were in their handshake at once (a connection flood).
    case tooManyHandshakes = "too_many_handshakes"
    /// A frame out of bounds, with a bad checksum, unknown flags or a payload that does not decompress.
    case badFrame = "bad_frame"
    /// A frame whose payload is not a gossip message.
    case badMessage = "bad_message"
    /// A message out of its place (a handshake message after the handshake, the wrong one during it).
    case outOfOrder = "out_of_order"
    /// Nothing read for 30 s on an established link.
    case idle

    init?(_ error: any Error) {
        switch error {
        case let link as LinkError: guard let refusal = link.refusal else { return nil }; self = refusal
        case is Frame.Failure: self = .badFrame
        case is GossipMessage.DecodeError: self = .badMessage
        default: return nil
        }
    }

    func count() { Counter(label: "shequ_gossip_links_refused_total", dimensions: [("reason", rawValue)]).increment() }
}

/// `shequ_gossip_messages_total{kind}`: messages sent on replication links (the cost-per-change benchmark reads it).
enum MessageCounters {
    static let counters: [String: Counter] = Dictionary(uniqueKeysWithValues: ["hello", "welcome", "proof", "sync", "changes", "swim"].map {
        ($0, Counter(label: "shequ_gossip_messages_total", dimensions: [("kind", $0)]))
    })
    static func sent(_ message: GossipMessage) { counters[message.kindName]?.increment() }
}
