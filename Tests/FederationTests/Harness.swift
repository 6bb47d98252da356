@preconcurrency import Crypto
import Federation
import Gossip
import Replication
import Synchronization

/// A store in memory, enough for the driver: a change log, saved coverage, a clock set by the test, a recovery flag.
final class MemoryStore: ReplicaStore {
    struct State {
        var log: [ChangeID: Change] = [:]
        var coverage = VersionVector()
        var now: Int64 = 0
        var recovering = false
        var recoveryFinished = 0
        /// How many times `applyingTogether` ran; a change whose batch `applyRemote` refuses to store.
        var together = 0
        var failing: ChangeID?
    }
    let nodeID: NodeID
    let state = Mutex(State())

    init(nodeID: NodeID) { self.nodeID = nodeID }

    var nowMillis: Int64 { state.withLock { $0.now } }
    var highestOwnSequence: UInt64 { state.withLock { s in s.log.keys.filter { $0.origin == nodeID }.map(\.seq).max() ?? 0 } }
    var isRecovering: Bool { state.withLock { $0.recovering } }
    func finishRecovery() throws { state.withLock { $0.recovering = false; $0.recoveryFinished += 1 } }
    func savedCoverage() throws -> VersionVector { state.withLock { $0.coverage } }

    func loggedChanges(origin: NodeID, seqs: ClosedRange<UInt64>, limit: Int, scopes: [Scope]?) throws -> [Change] {
        state.withLock { s in
            Array(s.log.values.filter { $0.id.origin == origin && seqs.contains($0.id.seq) && (scopes?.contains($0.scope) ?? true) }
                .sorted { $0.id.seq < $1.id.seq }.prefix(limit))
        }
    }

    func applyRemote(_ changes: [Change], coverage: (RemoteApplyResult) throws -> (VersionVector, origins: Set<NodeID>)) throws -> RemoteApplyResult {
        struct Unwritable: Error {}
        if let failing = state.withLock({ $0.failing }), changes.contains(where: { $0.id == failing }) { throw Unwritable() }
        var result = RemoteApplyResult()
        var log = state.withLock { $0.log }
        for change in changes {
            if log[change.id] == nil { log[change.id] = change; result.applied += 1 } else { result.duplicates += 1 }
        }
        let (vector, _) = try coverage(result)
        state.withLock { $0.log = log; $0.coverage = vector }
        return result
    }

    func applyingTogether<T>(_ body: () throws -> T) throws -> T {
        state.withLock { $0.together += 1 }
        return try body()
    }

    /// A local write: logged (and covered) here, as `WriteTransaction.append` does.
    func append(_ change: Change) {
        state.withLock { $0.log[change.id] = change; $0.coverage.insert(change.id) }
    }
}

/// A city, one district and one street (with one committee), each with a key derived from a fixed seed.
enum Fixture {
    static let keys: [NodeID: Curve25519.Signing.PrivateKey] = {
        var rng = SplitMix64(seed: 7)
        var keys: [NodeID: Curve25519.Signing.PrivateKey] = [:]
        for id in ["city", "district.baoshan", "street.yuepu", "street.luodian"] {
            keys[id] = try! Curve25519.Signing.PrivateKey(rawRepresentation: (0..<32).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
        return keys
    }()

    static let topology: Topology = try! TopologyGenerator.generate(
        .init(districts: 1, streetsPerDistrict: [2], committeesPerStreet: [1, 1], gossipBasePort: 1, httpBasePort: 2)
    ) { id in keys[id]!.publicKey.rawRepresentation.base64EncodedString() }

    static let street: NodeID = "street.yuepu"
    static let district: NodeID = "district.baoshan"
    static let city: NodeID = "city"
    static var committee: String { topology.nodes[street]!.committees.keys.sorted()[0] }

    /// A driver for `node` over a fresh memory store; nonces count up from `nonceBase` so transcripts are fixed.
    static func driver(_ node: NodeID, settings: ReplicationDriver.Settings = .init(), nonceBase: UInt8 = 0) throws -> (ReplicationDriver, MemoryStore) {
        let store = MemoryStore(nodeID: node)
        let engine = try ReplicaEngine(store: store, topology: topology, local: node, logger: .init(label: "test"))
        let counter = Mutex(nonceBase)
        let key = keys[node]!
        let driver = ReplicationDriver(engine: engine, settings: settings, seed: 42, sign: { ChangeSignature.sign($0, with: key) },
                                       nonce: { counter.withLock { $0 &+= 1; return Array(repeating: $0, count: 32) } })
        return (driver, store)
    }

    /// A signed post in the street's committee, written at the street.
    static func post(_ seq: UInt64, at millis: UInt64 = 1_000) -> Change {
        change(seq, kind: "post", scope: .committee(committee), at: millis)
    }

    /// A signed change of the street's.
    static func change(_ seq: UInt64, kind: String, scope: Scope, at millis: UInt64 = 1_000) -> Change {
        var change = Change(id: ChangeID(origin: street, seq: seq), hlc: HLCTimestamp(millis: millis, counter: 0),
                            draft: ChangeDraft(scope: scope, kind: kind, entity: kind == "comment" ? "pc_\(seq)" : "\(kind)_\(seq)", op: .assign,
                                               fields: ["title": .string("第\(seq)条")], author: "m_1"))
        change.signature = ChangeSignature.sign(change.signedBytes, with: keys[street]!)
        return change
    }
}

/// A directive as one line of a transcript.
func line(_ directive: ReplicationDriver.Directive) -> String {
    switch directive {
    case .dial(let peer): "dial \(peer)"
    case .send(let message, let connection): "send \(message.kindName)\(message.changeCount > 0 ? "(\(message.changeCount))" : "") on \(connection)"
    case .close(let connection, let reason): "close \(connection)\(reason.map { " \($0.rawValue)" } ?? "")"
    case .schedule(let timer, let at): "schedule \(timer) at \(at)"
    case .note(let note): "note \(note)"
    }
}

extension Array where Element == ReplicationDriver.Directive {
    var lines: [String] { map(line) }
    /// The messages sent, in order.
    var sent: [(GossipMessage, ConnectionID)] {
        compactMap { if case .send(let message, let connection) = $0 { (message, connection) } else { nil } }
    }
}
