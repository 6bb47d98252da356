import Replication

/// What replication needs of a node's storage, and nothing more: its clock, its change log read by origin and
/// sequence number, the coverage it saved, and one transaction that applies received changes together with the
/// coverage they bring. `Storage.Store` conforms (SQLite); the protocol keeps `Federation` free of SQL.
public protocol ReplicaStore: AnyObject, Sendable {
    /// The node this store belongs to.
    var nodeID: NodeID { get }
    /// Physical time now, ms, as the store's clock sees it (the only clock replication reads).
    var nowMillis: Int64 { get }
    /// The highest sequence number of this node's own changes in its log (kept as transactions commit).
    var highestOwnSequence: UInt64 { get }
    /// Whether local writes wait for recovery (a node restored from a backup, or empty).
    var isRecovering: Bool { get }
    /// Ends recovery: local writes are taken again.
    func finishRecovery() throws
    /// What this node covers, as last saved.
    func savedCoverage() throws -> VersionVector
    /// `origin`'s logged changes with sequence numbers in `seqs`, in order, at most `limit`; with `scopes`, only those
    /// in one of them (the rest are passed over without being read).
    func loggedChanges(origin: NodeID, seqs: ClosedRange<UInt64>, limit: Int, scopes: [Scope]?) throws -> [Change]
    /// In one transaction: applies `changes` (already admitted), then saves the coverage that `coverage` works out
    /// from what happened (for the origins it names). Returns what happened.
    func applyRemote(_ changes: [Change], coverage: (RemoteApplyResult) throws -> (VersionVector, origins: Set<NodeID>)) throws -> RemoteApplyResult
    /// Runs `body`, in which every `applyRemote` joins one transaction, each in a savepoint of its own (one that fails
    /// is rolled back alone and throws as before): a node that fell behind pays one commit for many received batches.
    /// Nothing inside may read the log expecting to see those changes before the commit (the driver puts only
    /// `changes` messages in it; a `sync` answer reads the log).
    func applyingTogether<T>(_ body: () throws -> T) throws -> T
}

extension ReplicaStore {
    /// Without a transaction to share, each `applyRemote` stays its own.
    public func applyingTogether<T>(_ body: () throws -> T) throws -> T { try body() }
}
