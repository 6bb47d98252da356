import Replication

/// Anti-entropy (as Scuttlebutt and Cassandra do it, with Corrosion's version vectors): given what I
/// hold and what my peer says it holds, which ranges of which origins' logs to scan and send, and
/// whether I may claim to have sent everything in a range.
public struct SyncPlanner: Sendable {
    public let topology: Topology
    public let local: NodeID

    public init(topology: Topology, local: NodeID) {
        self.topology = topology
        self.local = local
    }

    /// One range to scan: `origin`'s changes with sequence numbers in `seqs`.
    public struct Range: Hashable, Sendable {
        public var origin: NodeID
        public var seqs: ClosedRange<UInt64>

        public init(origin: NodeID, seqs: ClosedRange<UInt64>) {
            self.origin = origin
            self.seqs = seqs
        }
    }

    /// Whether I may tell `peer` "you now have everything of `origin` you hold, through N": only the origin
    /// itself (it has all of its own changes) or an ancestor of the peer (it holds a superset of the peer's scopes).
    public func mayClaim(origin: NodeID, to peer: NodeID) -> Bool {
        origin == local || topology.isAncestor(local, of: peer)
    }

    /// Whether a claim about `origin` received from `sender` is to be believed.
    public func acceptsClaim(origin: NodeID, from sender: NodeID) -> Bool {
        origin == sender || topology.isAncestor(sender, of: local)
    }

    /// What to tell `peer` in a `sync`: only the origins it may send me and claim (its own, or any it shares with me
    /// when it is my ancestor) — it ranges over nothing else. At the city this is one origin per street instead of 232.
    public func syncVector(_ mine: VersionVector, for peer: NodeID) -> VersionVector {
        let ancestor = topology.isAncestor(peer, of: local)
        return VersionVector(origins: mine.origins.filter { origin, _ in
            origin == peer || (ancestor && topology.mayShare(origin: origin, with: local))
        })
    }

    /// The ranges to send `peer`, oldest first per origin: for each origin I may claim, from just past the
    /// peer's contiguous mark through mine.
    public func ranges(mine: VersionVector, theirs: VersionVector, peer: NodeID) -> [Range] {
        // Filter first, sort what is left: at the city, 232 origins per peer's sync and usually nothing to send.
        mine.origins.compactMap { origin, progress in
            let from = theirs[origin].contiguous + 1, to = progress.contiguous
            guard from <= to, mayClaim(origin: origin, to: peer), topology.mayShare(origin: origin, with: peer) else { return nil }
            return Range(origin: origin, seqs: from...to)
        }.sorted { $0.origin < $1.origin }
    }
}

extension VersionVector {
    /// Records that every sequence number of `origin` through `seq` is held or known not to be needed here.
    public mutating func cover(_ origin: NodeID, through seq: UInt64) {
        var progress = self[origin]
        guard seq > progress.contiguous else { return }
        progress.contiguous = seq
        progress.beyond = progress.beyond.filter { $0 > seq }
        while progress.beyond.remove(progress.contiguous + 1) != nil { progress.contiguous += 1 }
        replace(origin, with: progress)
    }
}
