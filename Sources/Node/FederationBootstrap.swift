import Gossip
import Governance
import Replication
import Storage

/// What a node does with its topology at start: a street defines the committees it owns.
public enum FederationBootstrap {
    public static func defineCommittees(store: Store, topology: Topology, node: NodeID) throws {
        guard let me = topology.nodes[node], me.role == .street, let unit = me.unit, let district = topology.district(of: node)?.unit else { return }
        // A recovering street gets its committees back from its district; defining them again would write under a
        // sequence number it may already have used. New ones in the topology are defined at the next start or reload.
        guard !store.isRecovering else { return }
        try store.writeNow { tx in
            for (id, name) in me.committees.sorted(by: { $0.key < $1.key }) where try tx.view.committee(id) == nil {
                try tx.append(Committee.define(Committee(id: id, name: name, street: unit, district: district), author: node))
                if try tx.view.joinCode(committee: id) == nil { try tx.setJoinCode(committee: id) }
            }
        }
    }
}
