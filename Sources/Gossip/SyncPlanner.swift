import Replication

/// Anti-entropy (as Scuttlebutt and Cassandra do it, with Corrosion's version vectors): given what I
/// hold and what my peer says it holds, which ranges of which origins' logs to scan and send, and
/// whether I may claim to have sent everything in a range.
public struct SyncPlanner: Sendable {
    public let topology: Topology
    public let local: NodeID
    /// Per peer this node has a link with, in order: the origins it may range over for that peer (`ranges`) and
    /// the origins to tell that peer about (`syncVector`). Worked out once: at the city, every peer's sync would
    /// otherwise ask both questions of all 232 origins, where a street's answer is three of them.
    private let claimable: [NodeID: [NodeID]]
    private let told: [NodeID: [NodeID]]
    /// The peers that relay other origins' changes to this node (`relays`): at the city, its districts.
    private let relayers: Set<NodeID>

    public init(topology: Topology, local: NodeID) {
        self.topology = topology
        self.local = local
        let origins = topology.nodes.keys.sorted()
        var claimable: [NodeID: [NodeID]] = [:], told: [NodeID: [NodeID]] = [:], relayers: Set<NodeID> = []
        for peer in topology.peers(of: local) {
            let ancestor = topology.isAncestor(peer, of: local)
            claimable[peer] = origins.filter { Self.claimable($0, topology: topology, local: local, peer: peer) }
            told[peer] = origins.filter { Self.told($0, topology: topology, local: local, peer: peer, peerIsAncestor: ancestor) }
            if origins.contains(where: { Self.relays(peer, origin: $0, to: local, topology: topology) }) { relayers.insert(peer) }
        }
        self.claimable = claimable
        self.told = told
        self.relayers = relayers
    }

    /// Whether `peer` relays other origins' changes to this node (the city's districts): its sync answers are how this node
    /// learns what a street cut from it wrote, so syncs to it are not to back off when they find nothing.
    public func relaysToMe(_ peer: NodeID) -> Bool { relayers.contains(peer) }

    /// Whether `local` ranges over `origin` for `peer`: it may claim it (`mayClaim`) and the peer may hold some of it.
    /// Another street of the peer's district (the threads of district-wide posts) is ranged over by that district only,
    /// not also by the city: the city would scan every street's siblings each round for the same few replies.
    private static func claimable(_ origin: NodeID, topology: Topology, local: NodeID, peer: NodeID) -> Bool {
        if topology.areSiblingStreets(origin, peer) { return topology.nodes[peer]?.parent == local }
        return mayClaim(origin: origin, to: peer, topology: topology, local: local) && topology.mayShare(origin: origin, with: peer)
    }

    private static func told(_ origin: NodeID, topology: Topology, local: NodeID, peer: NodeID, peerIsAncestor: Bool) -> Bool {
        if topology.areSiblingStreets(origin, local) { return topology.nodes[local]?.parent == peer }
        return origin == peer || (peerIsAncestor && topology.mayShare(origin: origin, with: local)) || relays(peer, origin: origin, to: local, topology: topology)
    }

    /// The only scopes of `origin`'s changes that `peer` may hold, when they are few enough to filter a scan by; nil
    /// when there is no short list. A street's changes held by another street of its district are replies in the
    /// district's scope; every other change of its log is skipped without being read.
    public func sharedScopes(origin: NodeID, peer: NodeID) -> [Scope]? {
        guard topology.areSiblingStreets(origin, peer), let unit = topology.district(of: peer)?.unit else { return nil }
        return [.district(unit)]
    }

    /// Whether `relay` passes `origin`'s changes on to `peer` with claims: a district relays its streets' changes to the
    /// city. A street writes only scopes its district holds, so the district's coverage of the street is complete for
    /// whatever the city holds; when a street's link to the city is down and its link to the district is up, the city
    /// still learns everything the street wrote, one anti-entropy round behind the district.
    static func relays(_ relay: NodeID, origin: NodeID, to peer: NodeID, topology: Topology) -> Bool {
        topology.isAncestor(relay, of: origin) && topology.isAncestor(peer, of: relay)
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
    /// itself (it has all of its own changes), an ancestor of the peer (it holds a superset of the peer's scopes), or
    /// a district relaying one of its streets to the city (`relays`).
    public func mayClaim(origin: NodeID, to peer: NodeID) -> Bool {
        Self.mayClaim(origin: origin, to: peer, topology: topology, local: local)
    }

    private static func mayClaim(origin: NodeID, to peer: NodeID, topology: Topology, local: NodeID) -> Bool {
        origin == local || topology.isAncestor(local, of: peer) || relays(local, origin: origin, to: peer, topology: topology)
    }

    /// Whether a claim about `origin` received from `sender` is to be believed.
    public func acceptsClaim(origin: NodeID, from sender: NodeID) -> Bool {
        origin == sender || topology.isAncestor(sender, of: local) || Self.relays(sender, origin: origin, to: local, topology: topology)
    }

    /// What to tell `peer` in a `sync`: only the origins it may send me and claim (its own, or any it shares with me
    /// when it is my ancestor) — it ranges over nothing else. At the city this is one origin per street instead of 232.
    public func syncVector(_ mine: VersionVector, for peer: NodeID) -> VersionVector {
        guard let told = told[peer] else {
            let ancestor = topology.isAncestor(peer, of: local)
            return VersionVector(origins: mine.origins.filter { origin, _ in
                Self.told(origin, topology: topology, local: local, peer: peer, peerIsAncestor: ancestor)
            })
        }
        var origins: [NodeID: OriginProgress] = [:]
        for origin in told { if let progress = mine.origins[origin] { origins[origin] = progress } }
        return VersionVector(origins: origins)
    }

    /// The ranges to send `peer`, oldest first per origin: for each origin I may claim, from just past the
    /// peer's contiguous mark through mine.
    ///
    /// An origin this node only relays to the peer (a district's street, to the city: `relays`) is the exception: it
    /// is sent only when the peer's coverage of it has not moved since `previous`, the peer's coverage at its previous
    /// sync on this session (nil: this sync is the session's first, and nothing is relayed). A street whose own link
    /// to the city works brings its changes itself; the relay is for one whose link does not. Relaying at once, a city
    /// reconnecting to a district and its streets together took the streets' changes twice, from each street and from
    /// the district (1.4–1.5× the bytes lacking in `bench recovery`).
    public func ranges(mine: VersionVector, theirs: VersionVector, peer: NodeID, previous: VersionVector? = nil) -> [Range] {
        func wanted(_ origin: NodeID) -> Bool {
            guard Self.relays(local, origin: origin, to: peer, topology: topology) else { return true }
            guard let previous else { return false }
            return theirs[origin].contiguous <= previous[origin].contiguous
        }
        guard let claimable = claimable[peer] else {
            return mine.origins.keys.sorted().compactMap { origin in
                guard Self.claimable(origin, topology: topology, local: local, peer: peer), wanted(origin) else { return nil }
                return range(origin, mine: mine, theirs: theirs)
            }
        }
        return claimable.compactMap { wanted($0) ? range($0, mine: mine, theirs: theirs) : nil }
    }

    private func range(_ origin: NodeID, mine: VersionVector, theirs: VersionVector) -> Range? {
        guard let progress = mine.origins[origin] else { return nil }
        let from = theirs[origin].contiguous + 1, to = progress.contiguous
        return from <= to ? Range(origin: origin, seqs: from...to) : nil
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
