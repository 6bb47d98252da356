import Foundation
import Federation
import GRDB
import Replication
import Synchronization

/// The store as replication sees it (`Federation.ReplicaStore`): the change log and the saved coverage, and received
/// changes applied in one write transaction with the coverage they bring — or, inside `applyingTogether`, many
/// received batches in one transaction, each in a savepoint of its own.
extension Store: ReplicaStore {
    public func savedCoverage() throws -> VersionVector { try readNow { try $0.coverage() } }

    public func loggedChanges(origin: NodeID, seqs: ClosedRange<UInt64>, limit: Int, scopes: [Scope]?) throws -> [Change] {
        try readNow { try $0.changes(origin: origin, seqs: seqs, limit: limit, scopes: scopes) }
    }

    public func applyRemote(_ changes: [Change], coverage: (RemoteApplyResult) throws -> (VersionVector, origins: Set<NodeID>)) throws -> RemoteApplyResult {
        func apply(_ tx: inout WriteTransaction) throws -> RemoteApplyResult {
            let result = try tx.applyRemote(changes)
            let (vector, origins) = try coverage(result)
            try tx.saveCoverage(vector, origins: origins)
            return result
        }
        guard let batch = remoteBatch.withLock({ $0 }) else { return try writeNow(apply) }
        var result = RemoteApplyResult()
        var tx = WriteTransaction(db: batch.db, store: self)
        try batch.db.inSavepoint {
            result = try apply(&tx)
            return .commit
        }
        batch.nested.append(tx)
        return result
    }

    public func applyingTogether<T>(_ body: () throws -> T) throws -> T {
        try writeNow { tx in
            let batch = RemoteBatch(db: tx.db)
            remoteBatch.withLock { $0 = batch }
            defer { remoteBatch.withLock { $0 = nil } }
            let result = try body()
            for nested in batch.nested { tx.absorb(nested) }
            return result
        }
    }
}

/// The transaction `Store.applyingTogether` holds open while the replication driver applies several received batches,
/// and the savepoints' transactions nested in it, whose changes and notifications it announces once it commits. Used
/// only on the writer's connection, by the batch that opened it.
final class RemoteBatch: @unchecked Sendable {
    let db: Database
    var nested: [WriteTransaction] = []
    init(db: Database) { self.db = db }
}
