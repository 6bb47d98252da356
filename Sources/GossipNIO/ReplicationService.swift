@preconcurrency import Crypto
import Dispatch
import Federation
import Foundation
import Gossip
import Logging
import Metrics
import NIOCore
import NIOPosix
import NIOSSL
import Replication
import ServiceLifecycle
import Storage
import Synchronization
import Wire

/// The TCP shell of replication, as a Service. It carries out what the node's `ReplicationDriver` decides — dial,
/// send, close, fire a timer — over SwiftNIO: length-prefixed LZ4 frames (`Wire`), one connection per link, and
/// reports back what happened (a connection opened or closed, a frame arrived, a local write committed, a timer
/// fired). It decides nothing of the protocol: no timeout, batch or retry is chosen here.
public final class ReplicationService: Service, Sendable {
    /// The topology as last loaded (at start, then at each `reload`).
    public var topology: Topology { current.value }
    let current: CurrentTopology
    /// Mutual TLS on every link (nil: plain TCP, for tests of what lies beneath and for benches beside it).
    let tls: LinkTLS?
    public let local: NodeID
    public let settings: ReplicationDriver.Settings
    let store: Store
    let logger: Logger
    let group: MultiThreadedEventLoopGroup
    let driver: Mutex<ReplicationDriver>
    /// The driver runs here, one event at a time and off Swift's cooperative pool: it reads and writes SQLite.
    let queue = DispatchQueue(label: "shequ.replication")
    /// Open connections, by the number this shell gave them.
    let links = Mutex<[ConnectionID: Link]>([:])
    let nextConnection = Mutex<UInt64>(0)
    /// The pending timers, each with the generation it was scheduled under: a timer fires only if it was not scheduled
    /// again meanwhile. Generations never repeat, so a superseded sleeper never matches a later schedule.
    let timers = Mutex<(pending: [ReplicationDriver.Timer: UInt64], issued: UInt64)>(([:], 0))
    /// Dials and timers, started as tasks of the service's task group.
    let work: AsyncStream<Work>
    let workContinuation: AsyncStream<Work>.Continuation
    let captured = Mutex(0)
    /// Peers whose links are cut by the fault-injection switch (tests only; off unless enabled).
    public let blocked = Mutex<Set<NodeID>>([])
    /// Delay, jitter and loss emulated on every link this node sends on (the fault switch; none unless set).
    let conditions = Mutex(LinkConditions.none)

    enum Work: Sendable {
        case dial(NodeID)
        case timer(ReplicationDriver.Timer, at: Int64, generation: UInt64)
    }

    /// One open connection's outbound side.
    struct Link: Sendable {
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        let channel: any Channel
    }

    /// - Parameter tls: encrypt every link with mutual TLS 1.3 bound to the topology's node keys (`LinkTLS`).
    public init(topology: Topology, local: NodeID, key: Curve25519.Signing.PrivateKey, store: Store, logger: Logger,
                settings: ReplicationDriver.Settings = ReplicationDriver.Settings(), tls: Bool = true) throws {
        let current = CurrentTopology(topology)
        self.current = current
        self.tls = tls ? try LinkTLS(key: key, local: local, topology: current) : nil
        self.local = local
        self.settings = settings
        self.store = store
        self.logger = logger
        let engine = try ReplicaEngine(store: store, topology: topology, local: local, logger: logger)
        self.driver = Mutex(ReplicationDriver(engine: engine, settings: settings, seed: UInt64.random(in: 0...UInt64.max),
                                              sign: { bytes in ChangeSignature.sign(bytes, with: key) },
                                              nonce: { (0..<32).map { _ in UInt8.random(in: 0...255) } }))
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        (work, workContinuation) = AsyncStream.makeStream(of: Work.self)
    }

    deinit { try? group.syncShutdownGracefully() }

    public func run() async throws {
        guard let me = topology.nodes[local] else { throw LinkError("node \(local) is not in the topology") }
        let (host, port) = try Self.split(me.gossip)
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { try await self.listen(host: host, port: port) }
                    group.addTask {
                        for await changes in self.store.localChanges { await self.drive(.committed(changes)) }
                    }
                    await self.drive(.start)
                    for await item in self.work {
                        switch item {
                        case .dial(let peer): group.addTask { await self.dial(peer) }
                        case .timer(let timer, let at, let generation): group.addTask { await self.fire(timer, at: at, generation: generation) }
                        }
                    }
                    throw CancellationError()
                }
            }
        } catch is CancellationError {
            logger.info("gossip stopped", metadata: ["gossip.node": "\(local)"])
        }
    }

    static func split(_ address: String) throws -> (String, Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw LinkError("address \(address) is not host:port")
        }
        return (String(address[..<colon]), port)
    }

    // MARK: - The driver

    /// Runs `body` on the driver's queue.
    func onQueue<T: Sendable>(_ body: @escaping @Sendable (inout ReplicationDriver) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try self.driver.withLock { try body(&$0) } }) }
        }
    }

    /// Takes a reloaded topology (SIGHUP): checked to keep this node as it is, then given to the driver, which keeps
    /// every link that stays and closes those to nodes that left or changed keys.
    public func reload(_ new: Topology) async throws {
        let old = topology
        guard let before = old.nodes[local], let after = new.nodes[local] else { throw LinkError("node \(local) is not in the new topology") }
        guard before.role == after.role, before.parent == after.parent, before.unit == after.unit, before.gossip == after.gossip,
              before.publicKey == after.publicKey else {
            throw LinkError("the new topology changes this node's own role, parent, unit, gossip address or key: restart it for that")
        }
        current.value = new
        await drive(.topologyChanged(new))
        logger.info("topology reloaded", metadata: ["nodes.before": "\(old.nodes.count)", "nodes.after": "\(new.nodes.count)",
                                                    "peers": "\(new.peers(of: local).count)"])
    }

    /// Gives the driver one event and carries out what it answers. A store error closes the connection it came on.
    func drive(_ event: ReplicationDriver.Event, on connection: ConnectionID? = nil) async {
        let directives: [ReplicationDriver.Directive]
        let asked = DispatchTime.now().uptimeNanoseconds
        do {
            directives = try await onQueue { driver in
                let started = DispatchTime.now().uptimeNanoseconds
                defer {
                    GossipMetrics.queueWait.recordNanoseconds(Int64(started - asked))
                    GossipMetrics.handled(event).recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
                }
                return try driver.handle(event, now: Self.millis())
            }
        } catch {
            logger.error("replication failed", metadata: ["error": "\(error)", "gossip.connection": "\(connection.map(\.description) ?? "-")"])
            if let connection { links.withLock { $0[connection] }?.channel.close(promise: nil) }
            return
        }
        let carrying = DispatchTime.now().uptimeNanoseconds
        for directive in directives { await carryOut(directive) }
        GossipMetrics.carriedOut.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - carrying))
    }

    func carryOut(_ directive: ReplicationDriver.Directive) async {
        switch directive {
        case .dial(let peer):
            workContinuation.yield(.dial(peer))
        case .send(let message, let connection):
            guard let link = links.withLock({ $0[connection] }) else { return }
            await send(message, on: connection, via: link)
        case .close(let connection, _):
            links.withLock { $0[connection] }?.channel.close(promise: nil)
        case .schedule(let timer, let at):
            let generation = timers.withLock { timers -> UInt64 in
                timers.issued += 1
                timers.pending[timer] = timers.issued
                return timers.issued
            }
            workContinuation.yield(.timer(timer, at: at, generation: generation))
        case .note(let note):
            log(note)
        }
    }

    /// Sleeps until the timer is due and fires it, unless it was scheduled again meanwhile.
    func fire(_ timer: ReplicationDriver.Timer, at: Int64, generation: UInt64) async {
        let wait = at - Self.millis()
        if wait > 0 { try? await Task.sleep(for: .milliseconds(wait)) }
        guard !Task.isCancelled else { return }
        let current = timers.withLock { timers -> Bool in
            guard timers.pending[timer] == generation else { return false }
            timers.pending[timer] = nil
            return true
        }
        if current { await drive(.timer(timer)) }
    }

    func log(_ note: ReplicationDriver.Note) {
        switch note {
        case .linkUp(let peer): logger.info("peer connected", metadata: ["gossip.peer": "\(peer)"])
        case .linkDown(let peer): logger.info("peer disconnected", metadata: ["gossip.peer": "\(peer)"])
        case .refused(let connection, let peer, let reason):
            logger.warning("connection refused", metadata: ["gossip.connection": "\(connection)", "gossip.peer": "\(peer ?? "?")", "reason": "\(reason.rawValue)"])
        case .applied(let result, let peer):
            if result.applied > 0 { logger.debug("applied", metadata: ["gossip.peer": "\(peer)", "changes.applied": "\(result.applied)"]) }
        case .syncIgnored: break
        case .memberStatus(let node, let status):
            logger.notice("member status changed", metadata: ["swim.member": "\(node)", "swim.status": "\(status.rawValue)"])
        case .recovering(let peer, let clear, let own, let theirs):
            logger.info("recovering", metadata: ["gossip.peer": "\(peer)", "recovery.clear": "\(clear)", "recovery.own": "\(own)", "recovery.theirs": "\(theirs)"])
        case .applyFailed(let connection, let error):
            logger.error("replication failed", metadata: ["error": "\(error)", "gossip.connection": "\(connection)"])
        case .recovered(let own):
            logger.notice("recovered: every dialed peer holds nothing of ours beyond our log; taking writes again", metadata: ["recovery.own": "\(own)"])
        }
    }

    static func millis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: - Connections

    typealias Connection = NIOAsyncChannel<[UInt8], ByteBuffer>
    /// One connection's `changes` messages waiting to be applied together with other connections' (`receiveTogether`).
    struct TogetherEntry: Sendable {
        var waiting: WaitingMessages
        var done: CheckedContinuation<Void, Never>
        var changes: Int { waiting.messages.reduce(0) { $0 + $1.message.changeCount } }
    }
    /// The most changes one shared transaction takes (more wait for the next).
    static let togetherChanges = 2_000
    let together = Mutex<(waiting: [TogetherEntry], draining: Bool)>(([], false))

    /// Frames one connection may have read and not yet handed to the driver (as many as NIO buffers before it stops
    /// reading the socket).
    static let inboxFrames = 64

    /// Frames over TLS when `tls` is given: LZ4 stays inside the encrypted stream. Frames pass the delay of the
    /// emulated network (`LinkConditions`) before they are encrypted.
    static func configure(_ channel: any Channel, tls: (any ChannelHandler)?, conditions: @escaping @Sendable () -> LinkConditions) -> EventLoopFuture<Connection> {
        channel.eventLoop.makeCompletedFuture {
            if let tls { try channel.pipeline.syncOperations.addHandler(tls) }
            try channel.pipeline.syncOperations.addHandler(LinkDelayHandler(conditions: conditions))
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder()))
            return try Connection(wrappingChannelSynchronously: channel, configuration: .init(backPressureStrategy: .init(lowWatermark: 4, highWatermark: 64)))
        }
    }

    func listen(host: String, port: Int) async throws {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in Self.configure(channel, tls: self.tls?.serverHandler(), conditions: self.currentConditions) }
        logger.info("gossip listening", metadata: ["gossip.address": "\(host):\(port)", "gossip.tls": "\(tls != nil)"])
        try await withThrowingDiscardingTaskGroup { tasks in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    tasks.addTask { await self.serve(connection, dialed: nil) }
                }
            }
        }
    }

    /// Dials `peer` (unless the fault switch cuts it) and serves the connection until it closes.
    func dial(_ peer: NodeID) async {
        guard !blocked.withLock({ $0.contains(peer) }), let address = topology.nodes[peer]?.gossip, let (host, port) = try? Self.split(address) else {
            return await drive(.dialFailed(peer))
        }
        let connection: Connection
        do {
            let tls = self.tls
            connection = try await ClientBootstrap(group: group)
                .connectTimeout(.milliseconds(settings.dialTimeout))
                .connect(host: host, port: port) { channel in
                    do {
                        return Self.configure(channel, tls: try tls?.clientHandler(dialing: peer), conditions: self.currentConditions)
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
        } catch {
            logger.debug("dial failed", metadata: ["gossip.peer": "\(peer)", "error": "\(error)"])
            return await drive(.dialFailed(peer))
        }
        await serve(connection, dialed: peer)
    }

    /// Runs one connection: tells the driver it opened, hands it every message, and tells it when it closed.
    func serve(_ connection: Connection, dialed: NodeID?) async {
        let id = ConnectionID(nextConnection.withLock { $0 += 1; return $0 })
        do {
            try await connection.executeThenClose { inbound, outbound in
                links.withLock { $0[id] = Link(outbound: outbound, channel: connection.channel) }
                await drive(.opened(id, dialed: dialed), on: id)
                // The socket is read into an inbox while the driver works, and the driver takes what waits there at
                // once: a backlog of pushes costs one transaction, not one per frame (`FrameInbox`).
                let inbox = FrameInbox(capacity: Self.inboxFrames)
                do {
                    try await withThrowingTaskGroup(of: Void.self) { reader in
                        reader.addTask {
                            defer { inbox.finish() }
                            for try await payload in inbound { guard await inbox.put(payload) else { return } }
                        }
                        frames: while let frames = await inbox.takeAll() {
                            if try await isCut(id) { break }
                            var messages: [(message: GossipMessage, bytes: Int)] = []
                            var malformed = false
                            for payload in frames {
                                guard let message = try? GossipMessage(payload: payload) else { malformed = true; break }
                                messages.append((message, payload.count))
                            }
                            let coalesced = GossipMessage.coalescingPushes(messages)
                            let leading = coalesced.prefix(while: \.message.isChanges)
                            if !leading.isEmpty { await receiveTogether(Array(leading), on: id) }
                            for (message, bytes) in coalesced.dropFirst(leading.count) {
                                await drive(.received(message, on: id, bytes: bytes), on: id)
                            }
                            if malformed {
                                await drive(.malformed(id, .badMessage), on: id)
                                break frames
                            }
                        }
                        inbox.finish()
                        reader.cancelAll()
                        try await reader.waitForAll()
                    }
                } catch is Frame.Failure {
                    await drive(.malformed(id, .badFrame), on: id)
                }
            }
        } catch let error as NIOSSLError {
            // A TLS handshake that failed: a plain-TCP client, a certificate with a key the topology does not list.
            if case .handshakeFailed = error {
                LinkRefusal.tlsHandshake.count()
                logger.warning("connection refused", metadata: ["gossip.connection": "\(id)", "reason": "\(LinkRefusal.tlsHandshake.rawValue)",
                                                                "error": "\(error)"])
            } else {
                logger.debug("connection ended", metadata: ["gossip.connection": "\(id)", "error": "\(error)"])
            }
        } catch {
            logger.debug("connection ended", metadata: ["gossip.connection": "\(id)", "error": "\(error)"])
        }
        links.withLock { $0[id] = nil }
        await drive(.closed(id))
    }

    /// Hands the driver a connection's waiting `changes` messages together with those every other connection has
    /// waiting, in one store transaction (`Event.receivedTogether`), and returns once they are applied. A city that
    /// receives one push on each of 215 connections at once commits once, not 215 times.
    func receiveTogether(_ items: [(message: GossipMessage, bytes: Int)], on connection: ConnectionID) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let drain = together.withLock { state -> Bool in
                state.waiting.append(TogetherEntry(waiting: WaitingMessages(items, on: connection), done: done))
                defer { state.draining = true }
                return !state.draining
            }
            if drain { Task { await self.drainTogether() } }
        }
    }

    /// Applies what waits in `together`, a transaction at a time (at most `Self.togetherChanges` changes each, and
    /// at least one connection's), until nothing does.
    func drainTogether() async {
        while true {
            let batch = together.withLock { state -> [TogetherEntry] in
                var count = 0
                let taken = state.waiting.prefix { entry in
                    defer { count += entry.changes }
                    return count == 0 || count + entry.changes <= Self.togetherChanges
                }
                state.waiting.removeFirst(taken.count)
                if taken.isEmpty { state.draining = false }
                return Array(taken)
            }
            guard !batch.isEmpty else { return }
            await drive(.receivedTogether(batch.map(\.waiting)))
            for entry in batch { entry.done.resume() }
        }
    }

    /// Whether the fault switch cuts the peer this connection belongs to.
    func isCut(_ connection: ConnectionID) async throws -> Bool {
        guard !blocked.withLock({ $0.isEmpty }) else { return false }
        guard let peer = try await onQueue({ $0.peer(of: connection) }) else { return false }
        return blocked.withLock { $0.contains(peer) }
    }

    func send(_ message: GossipMessage, on connection: ConnectionID, via link: Link) async {
        if currentConditions().drops(message) {
            LinkConditions.dropped.increment()
            return
        }
        let payload = message.payload
        var buffer = ByteBuffer()
        do { try Frame.write(payload, into: &buffer) } catch {
            logger.error("could not frame a message", metadata: ["error": "\(error)", "message.kind": "\(message.kindName)"])
            return
        }
        let wire = buffer.readableBytes
        captureIfAsked(buffer, connection: connection)
        do { try await link.outbound.write(buffer) } catch { return }
        MessageCounters.sent(message)
        queue.async { self.driver.withLock { $0.sent(message, on: connection, payloadBytes: payload.count, wireBytes: wire) } }
    }

    /// With `SHEQU_CAPTURE_DIR` set, the first few compressed frames sent are written there as they went on
    /// the wire, body only (`<node>-to-<peer>-<n>.lz4`), for checking with the `lz4` tool. Off by default.
    func captureIfAsked(_ frame: ByteBuffer, connection: ConnectionID) {
        guard let directory = ProcessInfo.processInfo.environment["SHEQU_CAPTURE_DIR"],
              frame.getInteger(at: 4, as: UInt8.self) == 1 else { return }
        let n = captured.withLock { count -> Int? in
            guard count < 5 else { return nil }
            count += 1
            return count
        }
        guard let n, let body = frame.getBytes(at: 9, length: frame.readableBytes - 9) else { return }
        let peer = driver.withLock { $0.peer(of: connection) } ?? "unknown"
        FileManager.default.createFile(atPath: "\(directory)/\(local)-to-\(peer)-\(n).lz4", contents: Data(body))
    }

    // MARK: - Reading and the fault switch

    /// Every member's status as this node's failure detector believes it.
    public func memberView() async -> [NodeID: SWIM.Status] { (try? await onQueue { $0.memberView }) ?? [:] }

    /// The figures for /v1/cluster/replication.
    public func snapshot() async -> (coverage: VersionVector, peers: [NodeID: ReplicaEngine.PeerStats], rejections: [RejectionReason: Int]) {
        (try? await onQueue { ($0.engine.coverage, $0.engine.peers, $0.engine.rejections) }) ?? (VersionVector(), [:], [:])
    }

    @Sendable func currentConditions() -> LinkConditions { conditions.withLock { $0 } }

    /// Sets the delay, jitter and loss emulated on every link (`LinkConditions.none`: loopback as it is).
    public func setConditions(_ new: LinkConditions) {
        conditions.withLock { $0 = new }
    }

    /// Cuts (or restores) the links to `peers`, as the fault-injection switch asks.
    public func setBlocked(_ peers: Set<NodeID>) async {
        blocked.withLock { $0 = peers }
        let sessions = (try? await onQueue { $0.established }) ?? [:]
        for (peer, connection) in sessions where peers.contains(peer) { links.withLock { $0[connection] }?.channel.close(promise: nil) }
    }
}

/// Why a replication link could not be set up.
public struct LinkError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// `shequ_gossip_messages_total{kind}`: messages sent on replication links (the cost-per-change benchmark reads it).
enum MessageCounters {
    static let counters: [String: Counter] = Dictionary(uniqueKeysWithValues: ["hello", "welcome", "proof", "sync", "changes", "swim"].map {
        ($0, Counter(label: "shequ_gossip_messages_total", dimensions: [("kind", $0)]))
    })
    static func sent(_ message: GossipMessage) { counters[message.kindName]?.increment() }
}
