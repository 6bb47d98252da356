import Replication

/// Failure detection: SWIM (Das, Gupta, Motivala, "SWIM: Scalable Weakly-consistent Infection-style Process
/// Group Membership Protocol", 2002) with Lifeguard's refinements (Dadgar et al., HashiCorp, 2017): a local
/// health multiplier that stretches probe timeouts when this node is itself slow, and suspicion timeouts
/// that shrink as independent peers confirm the suspicion.
///
/// Pure: events in, directives out (the model is swift-cluster-membership's SWIMInstance). Probes travel
/// over the replication links; a node probes the peers it is linked to and asks other linked peers to probe
/// indirectly, and membership news rides piggybacked on every probe, so each node learns the whole federation.
public struct SWIM: Sendable {
    /// What a node is believed to be.
    public enum Status: String, Sendable, Hashable {
        case alive, suspect, dead
    }

    /// One piece of membership news: "`node` is `status` at `incarnation`".
    public struct Update: Hashable, Sendable {
        public var node: NodeID
        public var status: Status
        public var incarnation: UInt64
        public init(node: NodeID, status: Status, incarnation: UInt64) {
            self.node = node
            self.status = status
            self.incarnation = incarnation
        }
    }

    /// The protocol's messages.
    public enum Message: Hashable, Sendable {
        case ping(seq: UInt64, updates: [Update])
        case ack(seq: UInt64, target: NodeID, updates: [Update])
        /// Lifeguard's negative acknowledgement: the relay could not reach the target in time.
        case nack(seq: UInt64)
        case pingRequest(seq: UInt64, target: NodeID, updates: [Update])
    }

    /// What the shell must do.
    public enum Directive: Hashable, Sendable {
        case send(to: NodeID, Message)
        case statusChanged(NodeID, Status)
    }

    /// Timing, in milliseconds.
    public struct Settings: Sendable {
        public var probeInterval: Int64 = 1_000
        public var probeTimeout: Int64 = 500
        public var indirectProbes = 2
        /// Lifeguard: suspicion lasts between `α·log10(n)` probe intervals and β times that.
        public var suspicionAlpha: Double = 4
        public var suspicionBeta: Double = 3
        /// Lifeguard: the number of independent confirmations expected.
        public var suspicionConfirmations = 3
        public var maxLocalHealth = 8
        /// At most this many updates ride on one message.
        public var maxPiggyback = 16
        public init() {}
    }

    struct MemberState: Sendable {
        var status: Status = .alive
        var incarnation: UInt64 = 0
        var suspectedAt: Int64 = 0
        var confirmations: Set<NodeID> = []
    }

    struct Probe: Sendable {
        var target: NodeID
        var startedAt: Int64
        var indirectSent = false
        var nacks = 0
        /// Set when this probe runs on behalf of another node's ping request.
        var requester: (node: NodeID, seq: UInt64)?
    }

    public let local: NodeID
    public let settings: Settings
    private(set) var members: [NodeID: MemberState] = [:]
    private(set) var incarnation: UInt64 = 0
    /// Lifeguard's local health multiplier: 0 is healthy; each missed ack or nack it raises probe timeouts.
    public private(set) var localHealth = 0
    private var linked: Set<NodeID> = []
    /// The members now believed suspect (their suspicion timeouts are checked on every tick).
    private var suspects: Set<NodeID> = []
    /// The peers this node probes: the ones it should have links to.
    private var peers: [NodeID]
    private var probes: [UInt64: Probe] = [:]
    private var nextSeq: UInt64 = 1
    private var nextProbeAt: Int64 = 0
    private var probeOrder: [NodeID] = []
    private var rng: SplitMix64
    /// News to spread, with how many more times to send each (infection-style, ~3·log n sends).
    private var news: [NodeID: (update: Update, remaining: Int)] = [:]
    /// `suspicionTimeout(confirmations:)` for 0 ... `suspicionConfirmations + 1` (more count as that many): the
    /// membership never changes size, so neither do they.
    private var suspicionTimeouts: [Int64]

    public init(local: NodeID, members: [NodeID], peers: [NodeID], settings: Settings = Settings(), seed: UInt64) {
        self.local = local
        self.peers = peers.sorted()
        self.settings = settings
        self.rng = SplitMix64(seed: seed)
        for member in members where member != local { self.members[member] = MemberState() }
        let memberCount = self.members.count
        suspicionTimeouts = (0...settings.suspicionConfirmations + 1).map {
            Self.suspicionTimeout(confirmations: $0, members: memberCount, settings: settings)
        }
    }

    /// The topology was reloaded: members and peers gone are forgotten (with their probes, suspicions and news), new
    /// ones start alive, and the others keep what this node believed of them.
    public mutating func setMembers(_ newMembers: [NodeID], peers newPeers: [NodeID]) {
        let keep = Set(newMembers).subtracting([local])
        for gone in Set(members.keys).subtracting(keep) {
            members[gone] = nil
            news[gone] = nil
        }
        for member in keep where members[member] == nil { members[member] = MemberState() }
        peers = newPeers.sorted()
        linked.formIntersection(peers)
        suspects.formIntersection(keep)
        probes = probes.filter { keep.contains($0.value.target) }
        probeOrder.removeAll { !peers.contains($0) }
        suspicionTimeouts = (0...settings.suspicionConfirmations + 1).map {
            Self.suspicionTimeout(confirmations: $0, members: members.count, settings: settings)
        }
    }

    /// Every member's status as this node believes it.
    public var view: [NodeID: Status] { members.mapValues(\.status) }

    // MARK: - Events

    /// A link to `peer` came up or went down. Only linked peers are probed directly.
    public mutating func link(_ peer: NodeID, up: Bool) {
        if up { linked.insert(peer) } else { linked.remove(peer) }
    }

    /// Time passes: start the next probe, escalate unanswered ones, expire suspicions.
    public mutating func tick(now: Int64) -> [Directive] {
        var out: [Directive] = []
        for seq in probes.keys.sorted() {
            guard let probe = probes[seq] else { continue }
            let timeout = settings.probeTimeout * Int64(localHealth + 1)
            if let requester = probe.requester {
                if now - probe.startedAt > timeout {
                    out.append(.send(to: requester.node, .nack(seq: requester.seq)))
                    probes[seq] = nil
                }
                continue
            }
            if !probe.indirectSent, now - probe.startedAt > timeout {
                probes[seq]!.indirectSent = true
                let helpers = linked.filter { $0 != probe.target }.sorted().shuffled(using: &rng).prefix(settings.indirectProbes)
                for helper in helpers { out.append(.send(to: helper, .pingRequest(seq: seq, target: probe.target, updates: piggyback()))) }
            } else if now - probe.startedAt > settings.probeInterval * Int64(localHealth + 1) {
                // Neither a direct nor an indirect ack within the protocol period: suspect the target.
                probes[seq] = nil
                adjustHealth(+1)
                out += suspect(probe.target, by: local, now: now)
            }
        }
        for node in suspects.sorted() {
            guard let state = members[node] else { continue }
            if now - state.suspectedAt >= suspicionTimeout(confirmations: state.confirmations.count) {
                out += apply(Update(node: node, status: .dead, incarnation: state.incarnation), from: local, now: now)
            }
        }
        if now >= nextProbeAt {
            nextProbeAt = now + settings.probeInterval * Int64(localHealth + 1)
            if let target = nextTarget() {
                let seq = nextSeq
                nextSeq += 1
                probes[seq] = Probe(target: target, startedAt: now)
                // With no link to the target, the direct ping cannot go; the indirect probes still can.
                if linked.contains(target) { out.append(.send(to: target, .ping(seq: seq, updates: piggyback()))) }
            }
        }
        return out
    }

    /// The earliest time at which `tick` does anything: the next probe, the first probe timeout, the first suspicion
    /// to expire. A tick before it sends nothing and changes nothing, so a driver that ticks on a fixed grid (the
    /// simulator's 100 ms) may skip every grid point before it. Any event (`receive`, another `tick`) can move it.
    public var nextDeadline: Int64 {
        var due = nextProbeAt
        let timeout = settings.probeTimeout * Int64(localHealth + 1)
        let period = settings.probeInterval * Int64(localHealth + 1)
        for probe in probes.values {
            // As in `tick`: a probe escalates (or a relay gives up) once older than the timeout; a direct probe whose
            // indirect probes went out is given up once older than the protocol period.
            let limit = probe.requester == nil && probe.indirectSent ? period : timeout
            due = min(due, probe.startedAt + limit + 1)
        }
        for node in suspects {
            guard let state = members[node] else { continue }
            due = min(due, state.suspectedAt + suspicionTimeout(confirmations: state.confirmations.count))
        }
        return due
    }

    /// A message arrived from `peer`.
    public mutating func receive(_ message: Message, from peer: NodeID, now: Int64) -> [Directive] {
        var out: [Directive] = []
        switch message {
        case .ping(let seq, let updates):
            out += merge(updates, from: peer, now: now)
            out += heard(peer, now: now)
            out.append(.send(to: peer, .ack(seq: seq, target: local, updates: piggyback())))
        case .ack(let seq, let target, let updates):
            out += merge(updates, from: peer, now: now)
            out += heard(target, now: now)
            if let probe = probes.removeValue(forKey: seq) {
                if let requester = probe.requester {
                    out.append(.send(to: requester.node, .ack(seq: requester.seq, target: target, updates: piggyback())))
                } else if !probe.indirectSent {
                    adjustHealth(-1)
                }
            }
        case .nack:
            adjustHealth(+1)
        case .pingRequest(let seq, let target, let updates):
            out += merge(updates, from: peer, now: now)
            if linked.contains(target) {
                let relaySeq = nextSeq
                nextSeq += 1
                probes[relaySeq] = Probe(target: target, startedAt: now, requester: (peer, seq))
                out.append(.send(to: target, .ping(seq: relaySeq, updates: piggyback())))
            } else {
                out.append(.send(to: peer, .nack(seq: seq)))
            }
        }
        return out
    }

    // MARK: - Membership

    /// Round-robin over this node's peers in a shuffled order (SWIM's bounded detection time).
    private mutating func nextTarget() -> NodeID? {
        if probeOrder.isEmpty { probeOrder = peers.shuffled(using: &rng) }
        while let candidate = probeOrder.popLast() {
            if members[candidate]?.status != .dead || linked.contains(candidate) { return candidate }
        }
        return nil
    }

    /// First-hand evidence that `node` is up. If it is held suspect or dead, tell it so (the news rides the
    /// next messages, the node among the receivers): it refutes with a higher incarnation, which every
    /// member accepts — an alive at the same incarnation would not override the others' views.
    private mutating func heard(_ node: NodeID, now: Int64) -> [Directive] {
        guard let state = members[node], state.status != .alive else { return [] }
        spread(Update(node: node, status: state.status, incarnation: state.incarnation))
        return []
    }

    private mutating func suspect(_ node: NodeID, by accuser: NodeID, now: Int64) -> [Directive] {
        guard let state = members[node], state.status == .alive else { return [] }
        return apply(Update(node: node, status: .suspect, incarnation: state.incarnation), from: accuser, now: now)
    }

    private mutating func merge(_ updates: [Update], from peer: NodeID, now: Int64) -> [Directive] {
        var out: [Directive] = []
        for update in updates.prefix(settings.maxPiggyback * 2) { out += apply(update, from: peer, now: now) }
        return out
    }

    /// SWIM's precedence: a higher incarnation wins; at one incarnation, dead > suspect > alive. A node that
    /// hears itself suspected or declared dead refutes by raising its incarnation.
    private mutating func apply(_ update: Update, from source: NodeID, now: Int64) -> [Directive] {
        if update.node == local {
            guard update.status != .alive, update.incarnation >= incarnation else { return [] }
            incarnation = update.incarnation + 1
            spread(Update(node: local, status: .alive, incarnation: incarnation))
            return []
        }
        guard var state = members[update.node] else { return [] }
        let rank: [Status: Int] = [.alive: 0, .suspect: 1, .dead: 2]
        let newer = update.incarnation > state.incarnation
        let stronger = update.incarnation == state.incarnation && rank[update.status]! > rank[state.status]!
        if update.status == .suspect, state.status == .suspect, update.incarnation == state.incarnation {
            // Lifeguard: another independent accuser shortens the suspicion.
            state.confirmations.insert(source)
            members[update.node] = state
            return []
        }
        guard newer || stronger else { return [] }
        let previous = state.status
        state.status = update.status
        state.incarnation = update.incarnation
        if update.status == .suspect {
            state.suspectedAt = now
            state.confirmations = [source]
        }
        members[update.node] = state
        if update.status == .suspect { suspects.insert(update.node) } else { suspects.remove(update.node) }
        spread(update)
        return previous == update.status ? [] : [.statusChanged(update.node, update.status)]
    }

    private mutating func spread(_ update: Update) {
        let n = Double(max(members.count, 2))
        news[update.node] = (update, Int((3 * log10(n + 1)).rounded(.up)) + 1)
    }

    /// Up to `maxPiggyback` pieces of news, the least-sent first; each send uses one of its repetitions.
    private mutating func piggyback() -> [Update] {
        let chosen = news.values.sorted { ($0.remaining, $0.update.node) > ($1.remaining, $1.update.node) }.prefix(settings.maxPiggyback)
        var out: [Update] = []
        for entry in chosen {
            out.append(entry.update)
            if entry.remaining <= 1 { news[entry.update.node] = nil } else { news[entry.update.node]!.remaining -= 1 }
        }
        return out
    }

    private mutating func adjustHealth(_ delta: Int) {
        localHealth = min(settings.maxLocalHealth, max(0, localHealth + delta))
    }

    /// The suspicion timeout for a number of accusers (for tests and the docs).
    public func suspicionTimeoutForTesting(confirmations: Int) -> Int64 { suspicionTimeout(confirmations: confirmations) }

    /// Lifeguard's suspicion timeout: from `max` down to `min` as confirmations arrive, logarithmically.
    func suspicionTimeout(confirmations: Int) -> Int64 { suspicionTimeouts[min(max(confirmations, 0), suspicionTimeouts.count - 1)] }

    private static func suspicionTimeout(confirmations: Int, members: Int, settings: Settings) -> Int64 {
        let n = Double(max(members + 1, 2))
        let minimum = settings.suspicionAlpha * max(1, log10(n)) * Double(settings.probeInterval)
        let maximum = settings.suspicionBeta * minimum
        let k = Double(settings.suspicionConfirmations)
        let c = Double(min(max(confirmations - 1, 0), settings.suspicionConfirmations))
        let fraction = log(c + 1) / log(k + 1)
        return Int64(max(minimum, maximum - (maximum - minimum) * fraction))
    }
}

import Foundation
