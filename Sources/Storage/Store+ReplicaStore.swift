import Federation
import Replication

/// The store as replication sees it (`Federation.ReplicaStore`): the change log and the saved coverage, and received
/// changes applied in one write transaction with the coverage they bring.
extension Store: ReplicaStore {
    public func savedCoverage() throws -> VersionVector { try readNow { try $0.coverage() } }

    public func loggedChanges(origin: NodeID, seqs: ClosedRange<UInt64>, limit: Int, scopes: [Scope]?) throws -> [Change] {
        try readNow { try $0.changes(origin: origin, seqs: seqs, limit: limit, scopes: scopes) }
    }

    public func applyRemote(_ changes: [Change], coverage: (RemoteApplyResult) throws -> (VersionVector, origins: Set<NodeID>)) throws -> RemoteApplyResult {
        try writeNow { tx in
            let result = try tx.applyRemote(changes)
            let (vector, origins) = try coverage(result)
            try tx.saveCoverage(vector, origins: origins)
            return result
        }
    }
}
