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
        batch.received += tx.received
        batch.notified += tx.notified
        batch.ownHighest = max(batch.ownHighest, tx.ownHighest)
        return result
    }

    public func applyingTogether<T>(_ body: () throws -> T) throws -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { StoreMetrics.writeDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started)) }
        var received: [Change] = [], notified: [InboxNotification] = [], ownHighest: UInt64 = 0
        let result = try writer.write { db in
            let batch = RemoteBatch(db: db)
            remoteBatch.withLock { $0 = batch }
            defer { remoteBatch.withLock { $0 = nil } }
            let result = try body()
            (received, notified, ownHighest) = (batch.received, batch.notified, batch.ownHighest)
            return result
        }
        committed(made: [], received: received, notified: notified, ownHighest: ownHighest)
        return result
    }
}

/// The transaction `Store.applyingTogether` holds open while the replication driver applies several received batches:
/// what they brought, announced once it commits. Used only on the writer's connection, by the batch that opened it.
final class RemoteBatch: @unchecked Sendable {
    let db: Database
    var received: [Change] = []
    var notified: [InboxNotification] = []
    var ownHighest: UInt64 = 0
    init(db: Database) { self.db = db }
}
