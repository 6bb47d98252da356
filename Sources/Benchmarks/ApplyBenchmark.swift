import Foundation
import Governance
import Replication
import Storage

/// `shequ bench apply`: remote changes per second through the full apply path (log, CRDT merge,
/// entity index, derived status) beside plain SQLite inserts of the same rows, in the same run.
public enum ApplyBenchmark {
    public struct Result: Sendable {
        public var changes: Int
        public var batch: Int
        public var applySeconds: Double
        public var plainSeconds: Double
        /// The seconds plain SQLite took to write each change's log row and its entity's row (`PlainInsertBaseline.insertWithState`):
        /// the floor under any apply path, what the target's third of plain leaves room for.
        public var floorSeconds: Double
        public var applyRate: Double { Double(changes) / applySeconds }
        public var plainRate: Double { Double(changes) / plainSeconds }
        public var floorRate: Double { Double(changes) / floorSeconds }
        public var ratio: Double { applyRate / plainRate }
        /// The SQL statements the apply path ran, by their text, with how often each ran (the same for the same changes,
        /// however loaded the machine) and the time SQLite took over it.
        public var statements: [String: Store.StatementTally] = [:]
        /// How many changes (the first ones) `statements` counts over.
        public var statementChanges = 1
        public var statementsPerChange: Double { Double(statements.values.reduce(0) { $0 + $1.runs }) / Double(statementChanges) }
        /// The time SQLite took over the counted changes' statements, per change (under the trace, so longer than untraced).
        public var statementSecondsPerChange: Double { statements.values.reduce(0) { $0 + $1.seconds } / Double(statementChanges) }
        /// Bytes the process wrote while applying (the WAL's frames and the checkpoints'), and the plain inserts', when
        /// the system says (`wchar` in /proc/self/io).
        public var bytesWritten: (apply: Int, plain: Int)?
        /// The process's CPU time (user and system, every thread) while applying and while inserting plainly: less moved by
        /// other processes on the machine than the seconds on the clock.
        public var cpuSeconds: (apply: Double, plain: Double)?
        /// The CPU time of the thread that applied (SQLite's writer; the checkpoints run on a thread of their own).
        public var writerCPUSeconds: Double?
        /// The largest the write-ahead log grew while applying (its file's size after each batch): what the checkpoints
        /// keep bounded.
        public var largestLogBytes = 0

        public var report: String {
            """
            bench apply: \(changes) remote changes, batches of \(batch)
              shequ apply path : \(Int(applyRate)) changes/s (\(String(format: "%.3f", applySeconds)) s)
              plain SQLite     : \(Int(plainRate)) rows/s (\(String(format: "%.3f", plainSeconds)) s)
              ratio            : \(String(format: "%.2f", ratio)) of plain (target >= 0.33)
              log + entity row : \(Int(floorRate)) changes/s in plain SQLite (\(String(format: "%.2f", floorRate / plainRate)) of plain; the apply path at \(String(format: "%.2f", applyRate / floorRate)) of it)
              CPU time         : \(cpuSeconds.map { String(format: "%.1f µs per change (plain: %.1f)", $0.apply * 1e6 / Double(changes), $0.plain * 1e6 / Double(changes)) } ?? "not known here")\(writerCPUSeconds.map { String(format: "; the writer's thread %.1f", $0 * 1e6 / Double(changes)) } ?? "")
              largest WAL      : \(String(format: "%.1f MiB", Double(largestLogBytes) / 1_048_576))
              bytes written    : \(bytesWritten.map { String(format: "%.0f per change (plain: %.0f)", Double($0.apply) / Double(changes), Double($0.plain) / Double(changes)) } ?? "not known here")
              SQL statements   : \(String(format: "%.2f", statementsPerChange)) per change over the first \(statementChanges) (plain: 1); the most run:
            \(top(5, by: \.runs).joined(separator: "\n"))
              SQL time         : \(String(format: "%.1f", statementSecondsPerChange * 1e6)) µs per change in SQLite under the trace; the most:
            \(top(10, by: \.seconds).joined(separator: "\n"))
            """
        }

        /// The first `count` statements by `measure` (runs or seconds), each with its runs per change, its share of the
        /// statements' time and its first words.
        func top(_ count: Int, by measure: KeyPath<Store.StatementTally, some Comparable>) -> [String] {
            let total = max(statements.values.reduce(0) { $0 + $1.seconds }, .leastNonzeroMagnitude)
            return statements.sorted { ($0.value[keyPath: measure], $1.key) > ($1.value[keyPath: measure], $0.key) }.prefix(count).map { sql, tally in
                let words = sql.split(whereSeparator: \.isWhitespace).prefix(8).joined(separator: " ")
                return "    " + String(format: "%.2f %3.0f%%", Double(tally.runs) / Double(statementChanges), 100 * tally.seconds / total) + "  " + words
            }
        }
    }

    /// A realistic mix made by a real street node: posts, comments, likes, ballots, tickets and their events.
    public static func makeChanges(count: Int, seed: UInt64 = 7) throws -> [Change] {
        let source = try Store(path: nil, nodeID: "street.bench", random: SplitMix64(seed: seed))
        let committee = Committee(id: "bench-01", name: "基准居委会", street: "bench", district: "bench-district")
        let cadre = Actor(memberID: "m_cadre", role: .cadre, status: .approved, committee: committee.id, unit: nil)
        var rng = SplitMix64(seed: seed)
        try source.writeNow { tx in
            try tx.append(Committee.define(committee, author: "street.bench"))
            let now = tx.nowMillis
            let poll = try tx.createPoll(PollInput(title: "花园方案", kind: .proposal, options: ["一", "二", "三"], maxChoices: 1, secret: false,
                                                   opensAtMillis: now, closesAtMillis: now + 86_400_000, quorum: 0), committee: committee.id, by: cadre)
            var posts: [String] = [], tickets: [String] = []
            while tx.made.count < count {
                let resident = Actor(memberID: "m_\(rng.next() % 5_000)", role: .resident, status: .approved, committee: committee.id, unit: nil)
                switch rng.next() % 10 {
                case 0:
                    let post = try tx.createPost(PostInput(title: "邻里互助 \(posts.count)", body: "周末一起打扫楼道，欢迎报名参加。", category: "environment"),
                                                 board: Board.named("neighbours")!, committee: committee.id, by: resident)
                    posts.append(post.id)
                case 1, 2, 3:
                    guard let post = posts.randomElement(using: &rng) else { continue }
                    try tx.setLike(rng.next() % 4 != 0, post: post, by: resident)
                case 4, 5:
                    guard let post = posts.randomElement(using: &rng) else { continue }
                    _ = try tx.comment(on: post, body: "支持，希望尽快落实！", by: resident)
                case 6, 7:
                    try tx.vote([poll.options[Int(rng.next() % 3)]], poll: poll.id, by: resident)
                case 8:
                    tickets.append(try tx.raiseTicket(TicketInput(category: .greening, title: "树胶滴在车上", description: "请修剪", photos: ["p.jpg"],
                                                                  location: Location(address: "12号楼")), committee: committee.id, by: resident).id)
                default:
                    guard let id = tickets.randomElement(using: &rng), let ticket = try tx.view.ticket(id), ticket.stage.isOpen else { continue }
                    _ = try tx.ticketEvent(.comment, ticket: id, note: "已记录", by: cadre)
                }
            }
        }
        return try source.readNow { try $0.changes(origin: "street.bench", afterSeq: 0, limit: count) }
    }

    /// The changes whose SQL statements `run` counts (on a second store, untimed).
    static let statementSample = 20_000

    /// Applies the changes at a fresh district store, inserts them plainly and with their entities' rows, timing each; then
    /// counts the SQL statements of the first `statementSample` applied again at another.
    public static func run(changes: [Change], batch: Int, directory: String) throws -> Result {
        let beforePlain = writtenBytes(), cpuBeforePlain = cpuTime()
        let plain = try PlainInsertBaseline.insert(changes, batch: batch, path: (directory as NSString).appendingPathComponent("plain.sqlite"))
        let afterPlain = writtenBytes(), cpuAfterPlain = cpuTime()
        let districtPath = (directory as NSString).appendingPathComponent("district.sqlite")
        let district = try Store(path: districtPath, nodeID: "district.bench")
        let beforeApply = writtenBytes(), cpuBeforeApply = cpuTime(), threadBeforeApply = cpuTime(thread: true)
        let start = DispatchTime.now().uptimeNanoseconds
        var largestLog = 0
        let applied = try apply(changes, batch: batch, at: district) {
            let size = (try? FileManager.default.attributesOfItem(atPath: districtPath + "-wal")[.size] as? Int) ?? 0
            largestLog = max(largestLog, size)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let afterApply = writtenBytes(), cpuAfterApply = cpuTime(), threadAfterApply = cpuTime(thread: true)
        precondition(applied == changes.count, "applied \(applied) of \(changes.count)")
        // After the apply, so that the kernel's writing back of its pages does not fall in the apply's time.
        let floor = try PlainInsertBaseline.insertWithState(changes, batch: batch, path: (directory as NSString).appendingPathComponent("floor.sqlite"))
        // Counted apart, untimed: SQLite's statement trace halves the rate it watches.
        let counted = Array(changes.prefix(statementSample))
        let second = try Store(path: (directory as NSString).appendingPathComponent("counted.sqlite"), nodeID: "district.bench")
        let (_, statements) = try second.countingStatements { try apply(counted, batch: batch, at: second) }
        var result = Result(changes: changes.count, batch: batch, applySeconds: seconds, plainSeconds: plain, floorSeconds: floor, statements: statements,
                            statementChanges: counted.count)
        if let beforePlain, let afterPlain, let beforeApply, let afterApply {
            result.bytesWritten = (afterApply - beforeApply, afterPlain - beforePlain)
        }
        result.cpuSeconds = (cpuAfterApply - cpuBeforeApply, cpuAfterPlain - cpuBeforePlain)
        result.writerCPUSeconds = threadAfterApply - threadBeforeApply
        result.largestLogBytes = largestLog
        return result
    }

    /// Applies the changes at `store` in batches of `batch`, one transaction each, calling `afterEach` after each;
    /// returns how many were applied.
    private static func apply(_ changes: [Change], batch: Int, at store: Store, afterEach: () -> Void = {}) throws -> Int {
        try stride(from: 0, to: changes.count, by: batch).reduce(0) { applied, offset in
            defer { afterEach() }
            return applied + (try store.applyRemote(Array(changes[offset..<min(offset + batch, changes.count)])).applied)
        }
    }

    /// The CPU time this process (or only the calling thread) has used so far, user and system, in seconds. A write
    /// through the store runs on the calling thread (GRDB's writer queue is entered with `sync`).
    static func cpuTime(thread: Bool = false) -> Double {
        var usage = rusage()
        // RUSAGE_THREAD (1) is Linux's; Glibc's module map does not carry it.
        getrusage(thread ? __rusage_who_t(1) : RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// The bytes this process has passed to `write` and `pwrite` so far (Linux's `wchar`), nil where it is not known.
    static func writtenBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("wchar:") {
            return Int(line.dropFirst("wchar:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
