import Federation
import Foundation
import Gossip
import Logging
import Replication
import Storage

/// The node's `ReplicaEngine` behind an actor: received batches are admitted and applied one at a time, in order,
/// and /v1/cluster/replication reads its figures from here.
public actor Replicator {
    private var engine: ReplicaEngine

    public typealias PeerStats = ReplicaEngine.PeerStats

    public init(store: Store, topology: Topology, local: NodeID, logger: Logger) throws {
        engine = try ReplicaEngine(store: store, topology: topology, local: local, logger: logger)
    }

    var coverage: VersionVector { engine.coverage }

    func sync(for peer: NodeID) -> GossipMessage { engine.sync(for: peer) }

    func pushes(for changes: [Change]) -> [NodeID: [Change]] { engine.pushes(for: changes) }

    func batches(for peer: NodeID, theirs: VersionVector) throws -> [GossipMessage] { try engine.batches(for: peer, theirs: theirs) }

    func receive(_ changes: [Change], claims: [NodeID: GossipMessage.Claim], from peer: NodeID) throws -> RemoteApplyResult {
        try engine.receive(changes, claims: claims, from: peer)
    }

    func connected(_ peer: NodeID, _ up: Bool) { engine.connected(peer, up) }

    func sent(_ peer: NodeID, changes: Int, payloadBytes: Int, wireBytes: Int) {
        engine.sent(peer, changes: changes, payloadBytes: payloadBytes, wireBytes: wireBytes)
    }

    func heard(_ peer: NodeID, payloadBytes: Int) { engine.heard(peer, payloadBytes: payloadBytes) }

    func holdsNothingBeyondLog(_ theirs: VersionVector) throws -> (clear: Bool, own: UInt64) { try engine.holdsNothingBeyondLog(theirs) }

    /// The figures for /v1/cluster/replication.
    public func snapshot() -> (coverage: VersionVector, peers: [NodeID: PeerStats], rejections: [RejectionReason: Int]) {
        (engine.coverage, engine.peers, engine.rejections)
    }
}
