import Foundation
import Gossip
import Logging
import Metrics
import Replication
import Storage

/// The node's replication state: what it covers (a version vector), what it asks of and sends to each
/// peer, and the counters /v1/cluster/replication and /metrics show. Received batches are admitted and
/// applied one at a time, in order, through this actor.
public actor Replicator {
    let store: Store
    let topology: Topology
    let local: NodeID
    let planner: SyncPlanner
    let admission: ChangeAdmission
    let logger: Logger
    private(set) var coverage: VersionVector

    /// Per-peer figures.
    public struct PeerStats: Sendable {
        public var connected = false
        public var lastContactMillis: Int64 = 0
        public var changesSent = 0
        public var changesReceived = 0
        public var bytesSent = 0
        public var payloadBytesReceived = 0
        public var payloadBytesSent = 0
        public var theirCoverage = VersionVector()
        public var connects = 0
        /// Changes this node could claim to the peer that the peer's last `sync` did not cover.
        public var lagChanges = 0
        /// When the peer's last `sync` showed it had everything this node could send it.
        public var caughtUpMillis: Int64 = 0
    }
    private(set) var peers: [NodeID: PeerStats] = [:]
    private(set) var rejections: [RejectionReason: Int] = [:]

    public init(store: Store, topology: Topology, local: NodeID, logger: Logger) throws {
        self.store = store
        self.topology = topology
        self.local = local
        self.planner = SyncPlanner(topology: topology, local: local)
        self.admission = ChangeAdmission(topology: topology, localNode: local)
        self.logger = logger
        self.coverage = try store.readNow { try $0.coverage() }
        for peer in topology.peers(of: local) { peers[peer] = PeerStats() }
    }

    // MARK: - Local changes

    /// Records this node's own new changes in its coverage; returns, per connected peer that holds
    /// them, the changes to push.
    func pushes(for changes: [Change]) -> [NodeID: [Change]] {
        for change in changes { coverage.insert(change.id) }
        var out: [NodeID: [Change]] = [:]
        for (peer, stats) in peers where stats.connected {
            let wanted = changes.filter { topology.holds(peer, $0.scope) }
            if !wanted.isEmpty { out[peer] = wanted }
        }
        return out
    }

    // MARK: - Anti-entropy

    /// The batches to send `peer`, given what it says it covers: oldest first, at most `maxBatches`.
    func batches(for peer: NodeID, theirs: VersionVector, maxBatches: Int = 20) throws -> [GossipMessage] {
        peers[peer, default: PeerStats()].theirCoverage = theirs
        // This node's own changes are all in its log: read the mark there, so that anti-entropy never
        // depends on the push loop having seen every local write.
        let own = try store.readNow { [local] in try $0.highestSequence(of: local) }
        if own > coverage[local].contiguous { coverage.replace(local, with: OriginProgress(contiguous: own)) }
        let lag = planner.ranges(mine: coverage, theirs: theirs, peer: peer).reduce(0) { $0 + $1.seqs.count }
        peers[peer, default: PeerStats()].lagChanges = lag
        if lag == 0 { peers[peer, default: PeerStats()].caughtUpMillis = store.nowMillis }
        var messages: [GossipMessage] = []
        for range in planner.ranges(mine: coverage, theirs: theirs, peer: peer) {
            var from = range.seqs.lowerBound
            while from <= range.seqs.upperBound, messages.count < maxBatches {
                let scanLimit = GossipMessage.maxChangesPerMessage * 4
                let scanned = try store.readNow { try $0.changes(origin: range.origin, seqs: from...range.seqs.upperBound, limit: scanLimit) }
                let through = scanned.count < scanLimit ? range.seqs.upperBound : scanned.last!.id.seq
                var wanted = scanned.filter { topology.holds(peer, $0.scope) && !theirs.contains($0.id) }
                var last = through
                if wanted.count > GossipMessage.maxChangesPerMessage {
                    wanted = Array(wanted.prefix(GossipMessage.maxChangesPerMessage))
                    last = wanted.last!.id.seq
                }
                messages.append(.changes(wanted, through: [range.origin: last]))
                from = last + 1
            }
        }
        return messages
    }

    // MARK: - Receiving

    /// Admits, applies and records a batch from `peer`, in one transaction with the new coverage.
    /// Claims ("through N") are believed only from the origin itself or an ancestor, and only up to
    /// the first change of that origin that was refused (bad signature, clock too far ahead, ...).
    func receive(_ changes: [Change], through: [NodeID: UInt64], from peer: NodeID) throws -> RemoteApplyResult {
        var admitted: [Change] = []
        var refusedFrom: [NodeID: UInt64] = [:]
        var next = coverage
        for change in changes {
            if let reason = admission.check(change) {
                rejections[reason, default: 0] += 1
                GossipMetrics.rejected(reason).increment()
                if reason == .notHeldHere {
                    next.insert(change.id)
                } else {
                    refusedFrom[change.id.origin] = min(refusedFrom[change.id.origin] ?? .max, change.id.seq)
                    logger.warning("refused change", metadata: ["gossip.peer": "\(peer)", "change.id": "\(change.id)", "reason": "\(reason.rawValue)"])
                }
                continue
            }
            admitted.append(change)
        }
        let claims = through.filter { planner.acceptsClaim(origin: $0.key, from: peer) && $0.key != local }
        let origins = Set(changes.map(\.id.origin)).union(claims.keys).subtracting([local])
        // Synchronous on purpose: no suspension between reading and replacing `coverage`.
        let (result, updated) = try store.writeNow { tx -> (RemoteApplyResult, VersionVector) in
            let result = try tx.applyRemote(admitted)
            for id in result.refusedClock { refusedFrom[id.origin] = min(refusedFrom[id.origin] ?? .max, id.seq) }
            let refused = Set(result.refusedClock)
            for change in admitted where !refused.contains(change.id) { next.insert(change.id) }
            for (origin, seq) in claims { next.cover(origin, through: min(seq, refusedFrom[origin].map { $0 - 1 } ?? seq)) }
            try tx.saveCoverage(next, origins: origins)
            return (result, next)
        }
        coverage = updated
        rejections[.clockAhead, default: 0] += result.refusedClock.count
        if !result.refusedClock.isEmpty { GossipMetrics.rejected(.clockAhead).increment(by: Int64(result.refusedClock.count)) }
        peers[peer, default: PeerStats()].changesReceived += result.applied
        peers[peer, default: PeerStats()].lastContactMillis = store.nowMillis
        return result
    }

    // MARK: - Bookkeeping

    func connected(_ peer: NodeID, _ up: Bool) {
        peers[peer, default: PeerStats()].connected = up
        if up { peers[peer, default: PeerStats()].connects += 1 }
    }

    func sent(_ peer: NodeID, changes: Int, payloadBytes: Int, wireBytes: Int) {
        peers[peer, default: PeerStats()].changesSent += changes
        peers[peer, default: PeerStats()].payloadBytesSent += payloadBytes
        peers[peer, default: PeerStats()].bytesSent += wireBytes
        GossipMetrics.bytesOut.increment(by: Int64(wireBytes))
        GossipMetrics.payloadBytesOut.increment(by: Int64(payloadBytes))
    }

    func heard(_ peer: NodeID, payloadBytes: Int) {
        peers[peer, default: PeerStats()].payloadBytesReceived += payloadBytes
        GossipMetrics.payloadBytesIn.increment(by: Int64(payloadBytes))
        peers[peer, default: PeerStats()].lastContactMillis = store.nowMillis
    }

    /// The figures for /v1/cluster/replication.
    public func snapshot() -> (coverage: VersionVector, peers: [NodeID: PeerStats], rejections: [RejectionReason: Int]) {
        (coverage, peers, rejections)
    }
}

/// Replication metrics (swift-metrics).
enum GossipMetrics {
    static let bytesOut = Counter(label: "shequ_gossip_bytes_total", dimensions: [("direction", "out")])
    static let payloadBytesIn = Counter(label: "shequ_gossip_payload_bytes_total", dimensions: [("direction", "in")])
    static let payloadBytesOut = Counter(label: "shequ_gossip_payload_bytes_total", dimensions: [("direction", "out")])
    /// Syncs not answered because the peer sent them too often.
    static let syncsIgnored = Counter(label: "shequ_gossip_syncs_ignored_total")
    static func rejected(_ reason: RejectionReason) -> Counter {
        Counter(label: "shequ_changes_rejected_total", dimensions: [("reason", reason.rawValue)])
    }
}
