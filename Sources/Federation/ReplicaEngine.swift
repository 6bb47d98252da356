import Foundation
import Gossip
import Logging
import Metrics
import Replication

/// One node's replication data path over its `ReplicaStore`, with no I/O of its own and no clock but the store's:
/// what it covers (a version vector), what to push when it writes, what to answer a peer's `sync` with, and how a
/// received batch is admitted and applied. `ReplicationDriver` owns it and decides when each of these happens.
public struct ReplicaEngine: Sendable {
    public let store: any ReplicaStore
    public private(set) var topology: Topology
    public let local: NodeID
    var planner: SyncPlanner
    var admission: ChangeAdmission
    let verifier: any SignatureVerifier
    let logger: Logger
    public private(set) var coverage: VersionVector

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
        /// Whether the peer has sent a `sync` on the current session: then `theirCoverage` is what its last one showed,
        /// which `SyncPlanner.ranges` compares with to relay only what the origin's own link is not bringing.
        public var syncedThisSession = false
        /// When the current session came up (this node's clock).
        public var sessionStartedMillis: Int64 = 0
        public var connects = 0
        /// Changes this node could claim to the peer that the peer's last `sync` did not cover.
        public var lagChanges = 0
        /// The peer's clock minus this node's, in ms, as its last sync showed (nil before one carried a clock).
        public var clockOffset: Int64?
        /// Changes held back from the peer because they were stamped too far ahead of its clock (it would refuse them).
        public var heldBack = 0
        /// When the peer's last `sync` showed it had everything this node could send it.
        public var caughtUpMillis: Int64 = 0
    }
    public private(set) var peers: [NodeID: PeerStats] = [:]
    /// How long a session must have lasted before this node relays other origins' changes on it (`SyncPlanner.ranges`):
    /// the dialer's longest backoff (2 s) and a sync round.
    static let relayGrace: Int64 = 5_000
    public private(set) var rejections: [RejectionReason: Int] = [:]

    /// - Parameter verifier: how signatures are checked (every one, unless the simulator injects its own).
    public init(store: any ReplicaStore, topology: Topology, local: NodeID, logger: Logger,
                verifier: any SignatureVerifier = Ed25519Verifier()) throws {
        self.store = store
        self.topology = topology
        self.local = local
        self.planner = SyncPlanner(topology: topology, local: local)
        self.admission = ChangeAdmission(topology: topology, localNode: local, verifier: verifier)
        self.verifier = verifier
        self.logger = logger
        self.coverage = try store.savedCoverage()
        for peer in topology.peers(of: local) { peers[peer] = PeerStats() }
    }

    /// Reads the saved coverage again (after a transaction whose changes the engine had counted failed to commit).
    mutating func reloadCoverage() throws { coverage = try store.savedCoverage() }

    /// The topology was reloaded: who holds what, whose key signs what, and which peers there are follow it; what is
    /// known of the peers that stay is kept.
    mutating func replaceTopology(_ new: Topology) {
        topology = new
        planner = SyncPlanner(topology: new, local: local)
        admission = ChangeAdmission(topology: new, localNode: local, verifier: verifier)
        let now = Set(new.peers(of: local))
        for gone in Set(peers.keys).subtracting(now) { peers[gone] = nil }
        for peer in now where peers[peer] == nil { peers[peer] = PeerStats() }
    }

    // MARK: - Local changes

    /// Records this node's own new changes in its coverage; returns, per connected peer that holds
    /// them, the changes to push.
    public mutating func pushes(for changes: [Change]) -> [NodeID: [Change]] {
        for change in changes { coverage.insert(change.id) }
        var out: [NodeID: [Change]] = [:]
        for (peer, stats) in peers where stats.connected {
            var wanted = changes.filter { topology.holds(peer, $0.scope) }
            // A change the peer's clock cannot take yet is not pushed; anti-entropy sends it once it can.
            holdBack(&wanted, beyond: acceptableStamp(for: peer), for: peer)
            if !wanted.isEmpty { out[peer] = wanted }
        }
        return out
    }

    // MARK: - Anti-entropy

    /// The `sync` to send `peer`: this node's coverage of the origins the peer may send it, and its clock.
    public func sync(for peer: NodeID) -> GossipMessage {
        .sync(planner.syncVector(coverage, for: peer), clock: UInt64(max(0, store.nowMillis)))
    }

    /// The latest a change may be stamped for `peer` to take it now: its clock (as its last sync told it, moved on by
    /// this node's clock since) plus the drift a receiver allows, less a second for the trip. Nil: not known.
    func acceptableStamp(for peer: NodeID) -> UInt64? {
        guard let offset = peers[peer]?.clockOffset else { return nil }
        let theirs = store.nowMillis + offset
        return UInt64(max(0, theirs + Int64(HybridLogicalClock.maxForwardDriftMillis) - 1_000))
    }

    /// Drops from `changes` (in sequence order) the first one stamped beyond `limit` and every one after it, counted as
    /// held back from `peer`; returns the first dropped. Nothing is dropped without a limit.
    @discardableResult
    mutating func holdBack(_ changes: inout [Change], beyond limit: UInt64?, for peer: NodeID) -> Change? {
        guard let limit, let first = changes.firstIndex(where: { $0.hlc.millis > limit }) else { return nil }
        let dropped = changes[first]
        peers[peer, default: PeerStats()].heldBack += changes.count - first
        changes.removeSubrange(first...)
        return dropped
    }

    /// The batches to send `peer`, given what it says it covers: oldest first, at most `maxBatches`. Each batch claims,
    /// per origin, the range of sequence numbers it was scanned from (see `GossipMessage.Claim`).
    /// `theirClock`: the peer's wall clock as its sync carried it; changes stamped too far ahead of it are held back,
    /// and each origin's claim stops before the first of them, so that the peer asks again once its clock has moved.
    public mutating func batches(for peer: NodeID, theirs: VersionVector, theirClock: UInt64? = nil, maxBatches: Int = 20) throws -> [GossipMessage] {
        // A session younger than `relayGrace` relays nothing: the links that healed with it (its streets', redialled
        // within the 2 s backoff cap) bring their own changes first, and the city's coverage shows whether they did.
        let settled = store.nowMillis - (peers[peer]?.sessionStartedMillis ?? 0) >= Self.relayGrace
        let previous = settled && peers[peer]?.syncedThisSession == true ? peers[peer]?.theirCoverage : nil
        peers[peer, default: PeerStats()].theirCoverage = theirs
        peers[peer, default: PeerStats()].syncedThisSession = true
        if let theirClock { peers[peer, default: PeerStats()].clockOffset = Int64(clamping: theirClock) - store.nowMillis }
        let limit = theirClock.flatMap { _ in acceptableStamp(for: peer) }
        // This node's own changes are all in its log: read the mark there, so that anti-entropy never
        // depends on the push loop having seen every local write.
        let own = store.highestOwnSequence
        if own > coverage[local].contiguous { coverage.replace(local, with: OriginProgress(contiguous: own)) }
        let ranges = planner.ranges(mine: coverage, theirs: theirs, peer: peer, previous: previous)
        var messages: [GossipMessage] = []
        // Ranges with nothing the peer holds (the city's writes for other committees, seen from a street) travel as
        // claims alone, merged into the answer's last message — not a message each.
        var claimsOnly: [NodeID: GossipMessage.Claim] = [:]
        var lag = 0, scans = 0
        for range in ranges {
            var from = range.seqs.lowerBound
            while from <= range.seqs.upperBound, messages.count < maxBatches, scans < maxBatches * 2 {
                scans += 1
                let scanLimit = GossipMessage.maxChangesPerMessage * 4
                let scanned = try store.loggedChanges(origin: range.origin, seqs: from...range.seqs.upperBound, limit: scanLimit,
                                                      scopes: planner.sharedScopes(origin: range.origin, peer: peer))
                let through = scanned.count < scanLimit ? range.seqs.upperBound : scanned.last!.id.seq
                var wanted = scanned.filter { topology.holds(peer, $0.scope) && !theirs.contains($0.id) }
                var last = through
                var held = false
                if let first = holdBack(&wanted, beyond: limit, for: peer) {
                    // Held back: this batch ends just before it, and so does the claim; the rest of the origin waits.
                    last = first.id.seq - 1
                    held = true
                }
                if wanted.count > GossipMessage.maxChangesPerMessage {
                    wanted = Array(wanted.prefix(GossipMessage.maxChangesPerMessage))
                    last = wanted.last!.id.seq
                    held = false
                }
                if wanted.isEmpty {
                    let earlier = claimsOnly[range.origin]
                    if last >= (earlier?.from ?? from) { claimsOnly[range.origin] = GossipMessage.Claim(from: earlier?.from ?? from, through: last) }
                } else {
                    // A claim is believed only once everything before it is covered: the claims-only part goes first.
                    if let earlier = claimsOnly.removeValue(forKey: range.origin) { messages.append(.changes([], claims: [range.origin: earlier])) }
                    messages.append(.changes(wanted, claims: [range.origin: GossipMessage.Claim(from: from, through: last)]))
                }
                from = last + 1
                if held { break }
            }
            lag += range.seqs.count
        }
        if case .changes(let changes, var claims)? = messages.last {
            // Into the last message, for the origins it claims nothing about (each origin's claims stay in order).
            for (origin, claim) in claimsOnly where claims[origin] == nil {
                claims[origin] = claim
                claimsOnly[origin] = nil
            }
            messages[messages.count - 1] = .changes(changes, claims: claims)
        }
        if !claimsOnly.isEmpty { messages.append(.changes([], claims: claimsOnly)) }
        peers[peer, default: PeerStats()].lagChanges = lag
        if lag == 0 { peers[peer, default: PeerStats()].caughtUpMillis = store.nowMillis }
        return messages
    }

    // MARK: - Receiving

    /// Admits, applies and records a batch from `peer`, in one transaction with the new coverage.
    /// A claim ("everything of this origin you hold from F through N is in here") is believed only from the origin
    /// itself or an ancestor, only when this node already covers everything before F (an earlier batch lost or
    /// overtaken leaves the claim unbelieved, and the next sync asks again), and only up to the first change of that
    /// origin that was refused (bad signature, clock too far ahead, ...).
    /// Returns what happened and the changes it took in (admitted, and not refused for their clock).
    public mutating func receive(_ changes: [Change], claims: [NodeID: GossipMessage.Claim], from peer: NodeID) throws
        -> (result: RemoteApplyResult, accepted: [Change]) {
        var admitted: [Change] = []
        var refusedFrom: [NodeID: UInt64] = [:]
        var next = coverage
        var known = 0, aheadOfClock: [ChangeID] = []
        for change in changes {
            // Already held (or known not to be needed here): a duplicate, not worth a signature check.
            if coverage.contains(change.id) {
                known += 1
                continue
            }
            // Too far ahead of this node's clock: refused (and resent later) before paying for its signature check.
            if HybridLogicalClock.isTooFarAhead(change.hlc, wallMillis: UInt64(store.nowMillis)) {
                refusedFrom[change.id.origin] = min(refusedFrom[change.id.origin] ?? .max, change.id.seq)
                aheadOfClock.append(change.id)
                continue
            }
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
        let believed = claims.filter { planner.acceptsClaim(origin: $0.key, from: peer) && $0.key != local }
        let origins = Set(changes.map(\.id.origin)).union(believed.keys).subtracting([local])
        var result = try store.applyRemote(admitted) { result in
            var refusedFrom = refusedFrom
            for id in result.refusedClock { refusedFrom[id.origin] = min(refusedFrom[id.origin] ?? .max, id.seq) }
            let refused = Set(result.refusedClock)
            for change in admitted where !refused.contains(change.id) { next.insert(change.id) }
            for (origin, claim) in believed where next[origin].contiguous + 1 >= claim.from {
                next.cover(origin, through: min(claim.through, refusedFrom[origin].map { $0 - 1 } ?? claim.through))
            }
            return (next, origins)
        }
        result.duplicates += known
        result.refusedClock += aheadOfClock
        coverage = next
        if known > 0 { GossipMetrics.duplicates.increment(by: Int64(known)) }
        rejections[.clockAhead, default: 0] += result.refusedClock.count
        if !result.refusedClock.isEmpty { GossipMetrics.rejected(.clockAhead).increment(by: Int64(result.refusedClock.count)) }
        peers[peer, default: PeerStats()].changesReceived += result.applied
        peers[peer, default: PeerStats()].lastContactMillis = store.nowMillis
        let refused = Set(result.refusedClock)
        return (result, admitted.filter { !refused.contains($0.id) })
    }

    /// What a district passes on at once of what it received: a street's changes that its other streets hold (the
    /// thread of a district-wide post), to each of them that is connected. Everything else already went straight from
    /// its origin to every holder it links to; this is the one path with no direct link (streets link to no street).
    public func forwards(_ changes: [Change], from sender: NodeID) -> [NodeID: [Change]] {
        guard topology.nodes[local]?.role == .district else { return [:] }
        // Only a street's replies in the district's scope: the rest of a street's log no other street holds.
        let replies = changes.filter { change in
            if case .district = change.scope { return topology.isAncestor(local, of: change.id.origin) }
            return false
        }
        guard !replies.isEmpty else { return [:] }
        var out: [NodeID: [Change]] = [:]
        for (peer, stats) in peers where stats.connected && peer != sender && topology.isAncestor(local, of: peer) {
            let wanted = replies.filter { $0.id.origin != peer && topology.holds(peer, $0.scope) }
            if !wanted.isEmpty { out[peer] = wanted }
        }
        return out
    }

    // MARK: - Bookkeeping

    public mutating func connected(_ peer: NodeID, _ up: Bool) {
        peers[peer, default: PeerStats()].connected = up
        peers[peer, default: PeerStats()].syncedThisSession = false
        if up {
            peers[peer, default: PeerStats()].connects += 1
            peers[peer, default: PeerStats()].sessionStartedMillis = store.nowMillis
        }
    }

    public mutating func sent(_ peer: NodeID, changes: Int, payloadBytes: Int, wireBytes: Int) {
        peers[peer, default: PeerStats()].changesSent += changes
        peers[peer, default: PeerStats()].payloadBytesSent += payloadBytes
        peers[peer, default: PeerStats()].bytesSent += wireBytes
        GossipMetrics.bytesOut.increment(by: Int64(wireBytes))
        GossipMetrics.payloadBytesOut.increment(by: Int64(payloadBytes))
    }

    public mutating func heard(_ peer: NodeID, payloadBytes: Int) {
        peers[peer, default: PeerStats()].payloadBytesReceived += payloadBytes
        GossipMetrics.payloadBytesIn.increment(by: Int64(payloadBytes))
        peers[peer, default: PeerStats()].lastContactMillis = store.nowMillis
    }

    /// Whether a peer's sync shows it holds nothing of this node's own beyond its log (`ReplicationDriver` collects
    /// the peers while this node recovers), and this node's own highest sequence number.
    public func holdsNothingBeyondLog(_ theirs: VersionVector) -> (clear: Bool, own: UInt64) {
        let own = store.highestOwnSequence
        let progress = theirs[local]
        return (!(progress.contiguous > own || progress.beyond.contains { $0 > own }), own)
    }
}
