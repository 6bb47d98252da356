import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the write-ahead log back into the database mostly on a connection and a thread of its own, so that the
/// writer's commits are not paced by checkpoints. SQLite's automatic checkpoint copies the whole log inside the commit
/// that crosses its threshold: in `bench apply` that was 7 % of the writer's time (the copy and two fsyncs).
///
/// The writer's connection reports each commit's WAL length (`sqlite3_wal_hook`, which replaces the automatic
/// checkpoint). Past `wake` frames the checkpointer copies the log on its thread, while the writer goes on (a passive
/// checkpoint takes no lock the writer needs). The log can start over from its beginning only once a checkpoint has
/// copied all of it before the writer's next transaction begins, which a writer committing batch after batch never
/// leaves time for; so at its first commit after the checkpointer is done, the writer copies what it appended meanwhile
/// — a batch or two, not the whole log — and the next transaction starts the log afresh. Should the log still reach
/// `limit` (four times `wake`: a long read keeps frames from being copied), the writer checkpoints itself as SQLite
/// would.
final class WALCheckpointer: @unchecked Sendable {
    private let path: String
    private let bytes: Int
    private struct State {
        /// The WAL length in pages that wakes the checkpointer: set by `attach` from the database's page size.
        var wake: Int32 = 0
        /// The length at which the writer copies it all itself.
        var limit: Int32 { wake * 4 }
        /// The log's length when the checkpointer last copied it all; 0 when there is nothing of its work to finish.
        var copied: Int32 = 0
        /// Checkpoints so far: on the checkpointer's thread, the writer's finishing ones, and the writer's at the limit.
        var background = 0, finishing = 0, atLimit = 0
    }
    private let state = Mutex(State())
    /// The checkpointing connection, opened on first use and only touched on `queue`.
    private var connection: OpaquePointer?
    private let queue = DispatchQueue(label: "shequ.storage.checkpoint")
    private let running = Atomic<Bool>(false)

    /// - Parameter bytes: the WAL size that wakes the checkpointer.
    init(path: String, bytes: Int = 32 << 20) {
        self.path = path
        self.bytes = bytes
    }

    /// Checkpoints run so far: on the checkpointer's thread, the writer's finishing ones, and the writer's at the limit.
    var checkpoints: (background: Int, finishing: Int, atLimit: Int) { state.withLock { ($0.background, $0.finishing, $0.atLimit) } }

    /// Takes over checkpointing from `db`, the writer's connection. Nothing may set `wal_autocheckpoint` on the
    /// connection after this: it would replace the hook.
    func attach(to db: Database) throws {
        let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4_096
        let wake = Int32(max(16, bytes / max(pageSize, 512)))
        state.withLock { $0.wake = wake }
        sqlite3_wal_hook(db.sqliteConnection, { context, connection, _, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(frames: frames, writer: connection)
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// After each of the writer's commits, with the log's length in frames.
    private func committed(frames: Int32, writer: OpaquePointer?) {
        let (wake, limit, copied) = state.withLock { state in
            // A log shorter than the checkpointer last saw has started over: its work there is done.
            if frames < state.copied { state.copied = 0 }
            return (state.wake, state.limit, state.copied)
        }
        guard frames >= wake, let writer else { return }
        let idle = !running.load(ordering: .acquiring)
        if frames >= limit || (idle && copied > 0) {
            // Copy the rest on the writer: what it appended since the checkpointer's pass, or all of it at the limit.
            guard sqlite3_wal_checkpoint_v2(writer, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil) == SQLITE_OK else { return }
            state.withLock { state in
                state.copied = 0
                if frames >= limit { state.atLimit += 1 } else { state.finishing += 1 }
            }
        } else if idle, !running.exchange(true, ordering: .acquiringAndReleasing) {
            queue.async { [self] in
                defer { running.store(false, ordering: .releasing) }
                copyOnThisThread()
            }
        }
    }

    /// One passive checkpoint on the checkpointer's connection.
    private func copyOnThisThread() {
        if connection == nil {
            var handle: OpaquePointer?
            // A connection finds the database in WAL mode when it first reads it; until then a checkpoint does nothing.
            guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
                  sqlite3_exec(handle, "PRAGMA schema_version", nil, nil, nil) == SQLITE_OK else {
                sqlite3_close_v2(handle)
                return
            }
            connection = handle
        }
        var log: Int32 = 0, copied: Int32 = 0
        guard sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) == SQLITE_OK, log > 0 else { return }
        state.withLock { state in
            state.background += 1
            state.copied = copied
        }
    }

    /// Waits for a checkpoint under way on the checkpointer's thread to end.
    func drain() { queue.sync {} }

    deinit {
        if let connection { sqlite3_close_v2(connection) }
    }
}
