import Foundation
import GRDB
import Governance
import Replication

/// A write in progress: reads see the state as of this transaction, and `append` stamps drafts as
/// this node's changes and applies them before the transaction commits.
public struct WriteTransaction {
    let db: Database
    let store: Store
    /// The node's key for secret-ballot pseudonyms (see `BallotSecret`).
    public var ballotSecret: BallotSecret { store.ballotSecret }
    private var nextSeq: UInt64?
    private var applier: ChangeApplier
    /// The changes this transaction made here, announced once it commits.
    public private(set) var made: [Change] = []
    /// The remote changes it applied (not duplicates, not refused), for the change feed.
    private(set) var received: [Change] = []
    /// The notifications its changes caused (on nodes that keep inboxes), for the change feed.
    var notified: [InboxNotification] { caused + alertedNow }
    private var caused: [InboxNotification] = []
    /// Notifications it added itself (overdue alerts), not caused by a change.
    var alertedNow: [InboxNotification] = []
    /// The highest sequence number of this node's own changes the transaction logged (0 if none).
    private(set) var ownHighest: UInt64 = 0

    init(db: Database, store: Store) {
        self.db = db
        self.store = store
        self.applier = ChangeApplier(db: db, indexesSearch: store.indexesSearch, inbox: store.keepsInboxes, webhook: store.sendsWebhooks,
                                     nowMillis: store.nowMillis)
    }

    /// Reads over the transaction's state.
    public var view: ReadView { ReadView(db: db, store: store) }

    /// Physical time now, as the store's clock sees it.
    public var nowMillis: Int64 { store.nowMillis }

    /// A fresh id for a new entity of `kind`.
    public func mintID(_ kind: EntityKind) -> String { store.mintID(kind) }

    /// Stamps the drafts as this node's next changes (sequence numbers without gaps, one HLC tick each),
    /// signs them, appends them to the log and applies them. Returns the changes.
    @discardableResult
    public mutating func append(_ drafts: [ChangeDraft]) throws -> [Change] {
        guard !store.isRecovering else { throw StorageError.recovering }
        var seq = try nextSeq ?? view.highestSequence(of: store.nodeID) + 1
        var changes: [Change] = []
        let wall = store.wallMillis()
        for draft in drafts {
            let hlc = store.clock.withLock { $0.tick(wallMillis: wall) }
            var change = Change(id: ChangeID(origin: store.nodeID, seq: seq), hlc: hlc, draft: draft)
            if let signer = store.signer { change.signature = signer(change.signedBytes) }
            _ = try applier.apply(change, receivedAt: Int64(wall))
            changes.append(change)
            seq += 1
        }
        nextSeq = seq
        if seq > 1 { ownHighest = max(ownHighest, seq - 1) }
        try applier.finish()
        caused += applier.takeNotified()
        made += changes
        StoreMetrics.appliedLocal.increment(by: Int64(changes.count))
        return changes
    }

    /// Appends one draft.
    @discardableResult
    public mutating func append(_ draft: ChangeDraft) throws -> Change { try append([draft])[0] }

    /// Applies changes received from other nodes, skipping those already logged.
    /// Each stamp is first observed by the clock; one too far ahead is refused (see `HybridLogicalClock`).
    /// Checking signatures and authority is the caller's job (Gossip), before this.
    public mutating func applyRemote(_ changes: [Change]) throws -> RemoteApplyResult {
        var result = RemoteApplyResult()
        let wall = store.wallMillis()
        for change in changes {
            do {
                _ = try store.clock.withLock { clock throws(ClockError) in try clock.observe(change.hlc, wallMillis: wall) }
            } catch {
                result.refusedClock.append(change.id)
                continue
            }
            if try applier.apply(change, receivedAt: Int64(wall)) {
                result.applied += 1
                if store.feed.isActive { received.append(change) }
                if change.id.origin == store.nodeID { ownHighest = max(ownHighest, change.id.seq) }
            } else {
                result.duplicates += 1
            }
        }
        try applier.finish()
        caused += applier.takeNotified()
        StoreMetrics.appliedRemote.increment(by: Int64(result.applied))
        StoreMetrics.duplicates.increment(by: Int64(result.duplicates))
        return result
    }

    /// Takes on what a transaction nested in this one (a savepoint's, see `Store.applyingTogether`) made, received and
    /// caused, to be announced when this one commits.
    mutating func absorb(_ nested: WriteTransaction) {
        made += nested.made
        received += nested.received
        caused += nested.notified
        ownHighest = max(ownHighest, nested.ownHighest)
    }

    /// Records what this node covers for the given origins (in the transaction that applied the changes).
    public func saveCoverage(_ coverage: VersionVector, origins: Set<NodeID>) throws {
        for origin in origins.sorted() {
            let progress = coverage[origin]
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO coverage(origin, contiguous, beyond) VALUES (?, ?, ?)")
                .execute(arguments: [origin, Int64(progress.contiguous), Value.list(progress.beyond.sorted().map { .int(Int64($0)) }).canonicalJSON])
        }
    }

    // MARK: - Local-only data

    /// Records a resident's personal data on this node only.
    public func saveResident(member: String, committee: String, application: JoinApplication) throws {
        try db.execute(sql: """
            INSERT OR REPLACE INTO residents(member, committee, real_name, phone, building, room, birth_year, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [member, committee, application.realName, application.phone, application.building, application.room,
                             application.birthYear ?? 0, nowMillis])
    }

    /// Issues a bearer token for a member; only its hash is kept. Returns the token.
    public func issueToken(member: String) throws -> String {
        let token = store.newToken()
        try db.execute(sql: "INSERT INTO tokens(hash, member, created_at, expires_at) VALUES (?, ?, ?, ?)",
                       arguments: [Digest.hex(of: token), member, nowMillis, nowMillis + store.lifetimes.tokenMillis])
        return token
    }

    /// Revokes every bearer token of a member (a lost phone, a cadre who left); returns how many there were.
    @discardableResult
    public func revokeTokens(member: String) throws -> Int {
        try db.execute(sql: "DELETE FROM tokens WHERE member = ?", arguments: [member])
        return db.changesCount
    }

    /// Sets (or replaces) a committee's join code; returns it.
    @discardableResult
    public func setJoinCode(committee: String, code: String? = nil) throws -> String {
        let code = code ?? store.randomString(length: 8, alphabet: Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))
        try db.execute(sql: "INSERT OR REPLACE INTO join_codes(committee, code) VALUES (?, ?)", arguments: [committee, code])
        return code
    }
}
