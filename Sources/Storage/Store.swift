import Foundation
import GRDB
import Governance
import Logging
import Metrics
import Replication
import Synchronization

/// One node's database: the change log, the merged CRDT state, the entity index, and the local-only
/// tables (residents' personal data, tokens, join codes). One `Store` per database file, one writer.
///
/// Every write goes through `write(_:)`: the closure reads current state, asks Governance for
/// drafts, and appends them; stamping, logging and applying happen in that one transaction.
public final class Store: Sendable {
    /// This node's id: the origin of every change it stamps.
    public let nodeID: NodeID
    let writer: any DatabaseWriter
    let clock: Mutex<HybridLogicalClock>
    let wallMillis: @Sendable () -> UInt64
    let random: Mutex<any RandomNumberGenerator & Sendable>
    let signer: (@Sendable ([UInt8]) -> [UInt8])?
    let logger: Logger
    let localChangesContinuation: AsyncStream<[Change]>.Continuation
    /// This node's key for secret-ballot pseudonyms, made on first open and kept only here (local `meta`).
    public let ballotSecret: BallotSecret
    let recovering: Mutex<Bool>
    /// The highest sequence number of this node's own changes in the log, kept up to date as transactions commit.
    let ownHighest: Mutex<UInt64>
    /// Every batch of changes this node makes, after its transaction commits: what eager push sends.
    public let localChanges: AsyncStream<[Change]>
    /// Every change this node commits, its own and received ones, for open pages (`GET /v1/me/events`).
    public let feed = ChangeFeed()
    /// The transaction received batches join while `applyingTogether` runs (Store+ReplicaStore.swift); nil otherwise.
    let remoteBatch = Mutex<RemoteBatch?>(nil)
    private let lifetimesSetting = Mutex(AccessLifetimes.standard)
    private let searchSetting = Mutex(false)
    private let inboxSetting = Mutex((inboxes: false, webhook: false))
    /// Whether members' notifications are derived as changes apply (`Inbox`): on street nodes, where members read them.
    public var keepsInboxes: Bool {
        get { inboxSetting.withLock { $0.inboxes } }
        set { inboxSetting.withLock { $0.inboxes = newValue } }
    }
    /// Whether each new notification also queues a webhook delivery (`WebhookOutbox`): when the node has a webhook.
    public var sendsWebhooks: Bool {
        get { inboxSetting.withLock { $0.webhook } }
        set { inboxSetting.withLock { $0.webhook = newValue } }
    }
    /// Whether applied posts, topics and tickets are kept in the full-text index: on street nodes, where residents
    /// search (the node turns it on there); off elsewhere — districts and the city serve no app, and the simulator's
    /// hundreds of stores need none.
    public var indexesSearch: Bool {
        get { searchSetting.withLock { $0 } }
        set { searchSetting.withLock { $0 = newValue } }
    }
    private let departmentsSetting = Mutex<[String]>([])
    /// The departments a district dispatches tickets to (`dispatch.departments`, on district nodes): a district officer's
    /// `assign` must name one. Empty: any assignee (streets, and a district that configured none).
    public var departments: [String] {
        get { departmentsSetting.withLock { $0 } }
        set { departmentsSetting.withLock { $0 = newValue } }
    }
    /// How long sessions, tokens and sign-in codes last (the node sets them from its configuration).
    public var lifetimes: AccessLifetimes {
        get { lifetimesSetting.withLock { $0 } }
        set { lifetimesSetting.withLock { $0 = newValue } }
    }

    /// Opens (creating if needed) the database at `path`, or an in-memory one for `nil`.
    /// - Parameters:
    ///   - wallMillis: physical time in ms since the epoch; tests and the simulator inject their own.
    ///   - random: the source of ids, join codes and tokens; seeded in the simulator.
    ///   - signer: signs each local change's `signedBytes` (the node's Ed25519 key); nil leaves changes unsigned.
    ///   - ballotSecret: the secret-ballot key to keep when the database has none yet (a federated node's, from the
    ///     backup file beside its key, so that a database rebuilt empty keeps it); nil makes a random one.
    public convenience init(path: String?, nodeID: NodeID, wallMillis: @escaping @Sendable () -> UInt64 = Store.systemMillis,
                            random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
                            signer: (@Sendable ([UInt8]) -> [UInt8])? = nil, ballotSecret: BallotSecret? = nil,
                            pageCache: PageCacheBudget = .standard, logger: Logger = Logger(label: "shequ.storage")) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let readers = configuration.maximumReaderCount
        // The checkpointer lives as long as the pool's configuration, which holds this closure: the writer's connection
        // never outlives it.
        let checkpointer = path.map { WALCheckpointer(path: $0) }
        configuration.prepareDatabase { db in
            // WAL with NORMAL sync: a commit survives a process crash; a power cut may lose the last
            // commits but never corrupts. The WAL is copied back by `WALCheckpointer` on its own thread, so that a burst
            // of remote changes is not paced by checkpoints; the page caches share `pageCache`.
            let writes = !db.configuration.readonly
            let cache = writes ? pageCache.writerKibibytes : pageCache.readerKibibytes(readers: readers)
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -\(cache); PRAGMA temp_store = MEMORY")
            if writes { try checkpointer?.attach(to: db) }
        }
        let writer: any DatabaseWriter = if let path {
            try DatabasePool(path: path, configuration: configuration)
        } else {
            try DatabaseQueue(configuration: configuration)
        }
        try Migrations.migrator.migrate(writer)
        try self.init(writer: writer, nodeID: nodeID, wallMillis: wallMillis, random: random, signer: signer, ballotSecret: ballotSecret, logger: logger)
    }

    /// The same node started again over the same database, as after a crash: only what was committed is there; the
    /// clock, the recovery flag and the stream of local changes start afresh. The simulator's restart.
    public func restarted(random: any RandomNumberGenerator & Sendable) throws -> Store {
        try Store(writer: writer, nodeID: nodeID, wallMillis: wallMillis, random: random, signer: signer, logger: logger)
    }

    private init(writer: any DatabaseWriter, nodeID: NodeID, wallMillis: @escaping @Sendable () -> UInt64,
                 random: any RandomNumberGenerator & Sendable, signer: (@Sendable ([UInt8]) -> [UInt8])?,
                 ballotSecret: BallotSecret? = nil, logger: Logger) throws {
        self.writer = writer
        self.nodeID = nodeID
        self.wallMillis = wallMillis
        self.random = Mutex(random)
        self.signer = signer
        self.logger = logger
        let fresh: [UInt8]
        if let ballotSecret {
            fresh = ballotSecret.key
        } else {
            fresh = self.random.withLock { random in (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) } }
        }
        let (last, secret, recovering, ownHighest) = try writer.write { db -> (HLCTimestamp, String, Bool, UInt64) in
            if let stored = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'node_id'"), stored != nodeID {
                throw StorageError.nodeMismatch("database belongs to node \(stored), not \(nodeID)")
            }
            try db.execute(sql: "INSERT OR IGNORE INTO meta(key, value) VALUES ('node_id', ?)", arguments: [nodeID])
            try db.execute(sql: "INSERT OR IGNORE INTO meta(key, value) VALUES ('ballot_secret', ?)", arguments: [Data(fresh).base64EncodedString()])
            let secret = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'ballot_secret'") ?? ""
            let recovering = try Bool.fetchOne(db, sql: "SELECT 1 FROM meta WHERE key = 'recovering'") ?? false
            let ownHighest = try ReadView(db: db, store: nil).highestSequence(of: nodeID)
            // The latest stamp ever logged here (`ChangeApplier.finish()` keeps it): the clock starts past it.
            let latest = try Int64.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'latest_hlc'") ?? 0
            return (HLCTimestamp(rawValue: UInt64(latest)), secret, recovering, ownHighest)
        }
        self.recovering = Mutex(recovering)
        self.ownHighest = Mutex(ownHighest)
        self.ballotSecret = BallotSecret(Array(Data(base64Encoded: secret) ?? Data(fresh)))
        self.clock = Mutex(HybridLogicalClock(last: last))
        (localChanges, localChangesContinuation) = AsyncStream.makeStream(of: [Change].self, bufferingPolicy: .bufferingNewest(10_000))
    }

    /// The system clock in milliseconds since the Unix epoch.
    @Sendable public static func systemMillis() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    // MARK: - Backup and recovery

    /// Copies the database, while it serves, into a new file at `path` with SQLite's online backup API (a consistent
    /// snapshot, page by page); `progress` gets (pages copied, pages in all) along the way.
    public func backup(to path: String, progress: @escaping (Int, Int) -> Void = { _, _ in }) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw StorageError.corruptRow("\(path) exists; refusing to overwrite it") }
        let copy = try DatabaseQueue(path: path)
        try writer.backup(to: copy, pagesPerStep: 4_096) { step in
            progress(step.completedPageCount, step.totalPageCount)
        }
        try copy.close()
    }

    /// A restored node (from a backup, or empty) must not write under its own origin until it has fetched back the
    /// changes it made after the backup — they still exist at its district and the city, and new writes would reuse
    /// their sequence numbers. Until `finishRecovery`, local writes fail with `StorageError.recovering` (HTTP 503).
    public func beginRecovery() throws {
        try writer.write { db in try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('recovering', '1')") }
        recovering.withLock { $0 = true }
    }

    /// Ends recovery: every peer this node dials has shown that it holds nothing of this node's beyond its log.
    public func finishRecovery() throws {
        try writer.write { db in try db.execute(sql: "DELETE FROM meta WHERE key = 'recovering'") }
        recovering.withLock { $0 = false }
    }

    /// Whether local writes wait for recovery (see `beginRecovery`).
    public var isRecovering: Bool { recovering.withLock { $0 } }

    /// The node's current physical time in ms, as the store sees it (injected in tests).
    public var nowMillis: Int64 { Int64(wallMillis()) }

    // MARK: - Transactions

    /// Runs `body` in one write transaction; whatever it appends is stamped, logged and applied
    /// atomically with it.
    public func write<T: Sendable>(_ body: @escaping @Sendable (inout WriteTransaction) throws -> T) async throws -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { StoreMetrics.writeDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started)) }
        let (result, made, received, notified, ownHighest) = try await writer.write { db in
            var transaction = WriteTransaction(db: db, store: self)
            return (try body(&transaction), transaction.made, transaction.received, transaction.notified, transaction.ownHighest)
        }
        committed(made: made, received: received, notified: notified, ownHighest: ownHighest)
        return result
    }

    /// The same, blocking the caller: for the command line, tests and the simulator.
    public func writeNow<T>(_ body: (inout WriteTransaction) throws -> T) throws -> T {
        let started = DispatchTime.now().uptimeNanoseconds
        defer { StoreMetrics.writeDuration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started)) }
        var made: [Change] = [], received: [Change] = []
        var notified: [InboxNotification] = []
        var ownHighest: UInt64 = 0
        let result = try writer.write { db in
            var transaction = WriteTransaction(db: db, store: self)
            let result = try body(&transaction)
            made = transaction.made
            received = transaction.received
            notified = transaction.notified
            ownHighest = transaction.ownHighest
            return result
        }
        committed(made: made, received: received, notified: notified, ownHighest: ownHighest)
        return result
    }

    /// How often one SQL statement ran, and the time SQLite spent running it (`Store.countingStatements`).
    public struct StatementTally: Sendable, Equatable {
        public var runs = 0
        public var seconds = 0.0
    }

    /// Runs `body` counting the SQL statements the writer's connection runs meanwhile, by their text, and the time each
    /// took (SQLite's profile trace, the commit's included): the count is a measure of the apply path's work that does not
    /// vary with the machine's load (`bench apply`), the time says which of them that work is. Statements SQLite runs
    /// inside its own modules (the full-text index's) are left out.
    public func countingStatements<T>(_ body: () throws -> T) throws -> (result: T, statements: [String: StatementTally]) {
        let tallies = Mutex<[String: StatementTally]>([:])
        try writer.writeWithoutTransaction { db in
            db.trace(options: [.statement, .profile]) { event in
                switch event {
                case .statement(let statement) where !statement.sql.hasPrefix("--"):
                    tallies.withLock { $0[statement.sql, default: StatementTally()].runs += 1 }
                case .profile(let statement, let duration) where !statement.sql.hasPrefix("--"):
                    tallies.withLock { $0[statement.sql, default: StatementTally()].seconds += duration }
                default:
                    break
                }
            }
        }
        defer { try? writer.writeWithoutTransaction { db in db.trace(options: [.statement, .profile], nil) } }
        let result = try body()
        return (result, tallies.withLock { $0 })
    }

    /// After a write transaction commits: announce the changes it committed (those it made to eager push, all of them
    /// to the feed), and move the own-sequence mark.
    private func committed(made: [Change], received: [Change], notified: [InboxNotification], ownHighest: UInt64) {
        if ownHighest > 0 { self.ownHighest.withLock { $0 = max($0, ownHighest) } }
        if !made.isEmpty { localChangesContinuation.yield(made) }
        if !made.isEmpty || !received.isEmpty { feed.publish(made + received, notified: notified) }
        if !notified.isEmpty { inboxChanged() }
    }

    /// Wakes whoever waits for new notifications (the webhook's sender).
    private func inboxChanged() { inboxWaiters.withLock { waiters in for w in waiters { w.yield() } } }
    private let inboxWaiters = Mutex<[AsyncStream<Void>.Continuation]>([])

    /// A signal each time new notifications commit (coalesced: a slow reader sees one signal for many).
    public func inboxSignals() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        inboxWaiters.withLock { $0.append(continuation) }
        return stream
    }

    /// The highest sequence number of this node's own changes in its log (as `ReadView.highestSequence(of: nodeID)`
    /// reads it), without a query: kept as write transactions commit, its own and those that bring its own changes
    /// back from peers after a restore.
    public var highestOwnSequence: UInt64 { ownHighest.withLock { $0 } }

    /// Runs `body` against a consistent snapshot.
    public func read<T: Sendable>(_ body: @escaping @Sendable (ReadView) throws -> T) async throws -> T {
        if writer is DatabaseQueue { return try await writer.unsafeRead { db in try body(ReadView(db: db, store: self)) } }
        return try await writer.read { db in try body(ReadView(db: db, store: self)) }
    }

    /// The same, blocking the caller.
    public func readNow<T>(_ body: (ReadView) throws -> T) throws -> T {
        // An in-memory store (tests, the simulator) is one serialized connection: nothing can write while `body` runs,
        // so it is a snapshot without a transaction — and without GRDB's `PRAGMA query_only` on and off around every
        // read, which expired every cached statement (re-parsed on next use: a tenth of the simulator's time).
        if writer is DatabaseQueue { return try writer.unsafeRead { db in try body(ReadView(db: db, store: self)) } }
        return try writer.read { db in try body(ReadView(db: db, store: self)) }
    }

    // MARK: - Ids and secrets

    /// A fresh entity id for `kind`: its prefix, the time in ms (10 base-32 digits) and 40 random bits,
    /// as a ULID does. Ids made later sort later, so new rows land together at the right edge of each
    /// B-tree instead of dirtying pages all over it (this alone made remote apply several times faster).
    public func mintID(_ kind: EntityKind) -> String {
        var millis = wallMillis()
        var time = [Character](repeating: "0", count: 10)
        for i in (0..<10).reversed() {
            time[i] = Self.idAlphabet[Int(millis & 31)]
            millis >>= 5
        }
        return "\(kind.idPrefix)_\(String(time))\(randomString(length: 8, alphabet: Self.idAlphabet))"
    }

    /// Crockford's base 32, lower case: sorts in the same order as the numbers it spells.
    static let idAlphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

    /// A random string over `alphabet`.
    public func randomString(length: Int, alphabet: [Character]) -> String {
        random.withLock { rng in
            String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
    }

    /// A bearer token: 256 random bits, hex.
    func newToken() -> String {
        random.withLock { rng in
            (0..<4).map { _ in
                let s = String(rng.next(), radix: 16)
                return String(repeating: "0", count: 16 - s.count) + s
            }.joined()
        }
    }
}

/// The storage metrics (swift-metrics; the node exports them in the Prometheus format).
enum StoreMetrics {
    static let writeDuration = Metrics.Timer(label: "shequ_sqlite_write_duration_seconds")
    static let appliedLocal = Counter(label: "shequ_changes_applied_total", dimensions: [("source", "local")])
    static let appliedRemote = Counter(label: "shequ_changes_applied_total", dimensions: [("source", "remote")])
    static let duplicates = Counter(label: "shequ_changes_duplicate_total")
}
