import Foundation
import Governance
import GRDB
import Histogram
import Replication
import Storage
import Synchronization

/// `shequ bench rollup`: the p50/p99 of each rollup a district officer asks for, read from the incrementally
/// maintained tables, beside the same answer computed by a GROUP BY scan of one-row-per-entity facts, in one run
/// on one district store filled through the real apply path.
public enum RollupBenchmark {
    public struct Shape: Sendable {
        public var committees: Int
        public var tickets: Int
        public var iterations: Int
        public init(committees: Int, tickets: Int, iterations: Int) {
            self.committees = committees
            self.tickets = tickets
            self.iterations = iterations
        }
        public static let full = Shape(committees: 300, tickets: 1_000_000, iterations: 200)
        public static let quick = Shape(committees: 20, tickets: 4_000, iterations: 20)
    }

    public struct Row: Sendable {
        public var name: String
        public var rollup: (p50: Double, p99: Double)
        public var scan: (p50: Double, p99: Double)
        public var sameAnswer: Bool
    }

    /// Fills a district store at `path` (1 year of tickets, members, posts, polls) and measures every rollup. With
    /// `reuse`, a store already at `path` (left by an earlier run of the same shape) is measured without filling it again.
    public static func run(shape: Shape, path: String, reuse: Bool = false, progress: (String) -> Void) throws -> (rows: [Row], changes: Int, fillSeconds: Double) {
        let reused = reuse && FileManager.default.fileExists(atPath: path)
        let hour: Int64 = 3_600_000
        let start: Int64 = 1_767_196_800_000  // 2026-01-01 00:00 +08:00
        let clock = Mutex<Int64>(start)
        let store = try Store(path: path, nodeID: "district.bench", wallMillis: { UInt64(clock.withLock { $0 }) }, random: SplitMix64(seed: 42))
        var rng = SplitMix64(seed: 42)
        let streets = max(1, shape.committees / 30)
        let committees = (0..<shape.committees).map { Committee(id: "c\($0)", name: "居委会\($0)", street: "s\($0 % streets)", district: "bench") }
        let hours = 365 * 24
        let began = Date()
        var changes = 0

        if reused {
            changes = try store.readNow { try $0.changeCount() }
            progress("  reusing \(path): \(changes) changes")
        } else {
            func append(_ drafts: [ChangeDraft], at millis: Int64) throws {
                guard !drafts.isEmpty else { return }
                clock.withLock { $0 = millis }
                try store.writeNow { tx in _ = try tx.append(drafts) }
                changes += drafts.count
            }

            // People and their activity: 100 members per committee, posts with comments and likes, polls with ballots.
            var drafts: [ChangeDraft] = committees.map { Committee.define($0, author: "district.bench") }
            for committee in committees {
                for m in 0..<100 {
                    let id = "m-\(committee.id)-\(m)"
                    let application = JoinApplication(joinCode: "", realName: "王小明", phone: "13800000000", building: "\(m / 4)号楼", room: "\(m % 4)01",
                                                      birthYear: 1940 + Int(rng.next() % 70), partyMember: rng.next() % 8 == 0)
                    drafts.append(Member.join(application, committee: committee, id: id, household: "h-\(committee.id)-\(m / 3)", currentYear: 2026))
                    drafts.append(ChangeDraft(scope: .committee(committee.id), kind: EntityKind.member.rawValue, entity: id, op: .assign,
                                              fields: ["status": .string("approved"), "volunteer": .bool(rng.next() % 6 == 0)], author: id))
                }
            }
            try append(drafts, at: start)
            progress("  \(changes) changes: committees and members")

            // A year of tickets, hour by hour, each event filed under the hour it happens.
            var pending: [Int: [ChangeDraft]] = [:]
            var made = 0, madePosts = 0
            for h in 0..<hours {
                let now = start + Int64(h) * hour
                let due = shape.tickets * (h + 1) / hours - made
                var batch = pending.removeValue(forKey: h) ?? []
                for _ in 0..<due {
                    let committee = committees[Int(rng.next() % UInt64(committees.count))]
                    let id = "t-\(made)"
                    made += 1
                    let category = TicketCategory.allCases[Int(rng.next() % UInt64(TicketCategory.allCases.count))]
                    batch.append(ChangeDraft(scope: .committee(committee.id), kind: EntityKind.ticket.rawValue, entity: id, op: .add, fields: [
                        "category": .string(category.rawValue), "title": "问题", "description": "", "photos": .list([]),
                        "location": .object(["address": ""]), "reporter": .string("m-\(committee.id)-1"),
                    ], author: "m-\(committee.id)-1"))
                    func event(_ type: TicketEventType, after delay: Int, staff: Bool = true, extra: [String: Value] = [:]) {
                        var fields: [String: Value] = ["ticket": .string(id), "type": .string(type.rawValue), "actor": "cadre", "byStaff": .bool(staff), "note": ""]
                        fields.merge(extra) { $1 }
                        pending[h + delay, default: []].append(ChangeDraft(scope: .committee(committee.id), kind: EntityKind.ticketEvent.rawValue,
                                                                           entity: "\(id)-\(type.rawValue)", op: .add, fields: fields, author: "cadre"))
                    }
                    let respond = Int(rng.next() % 100) < 92 ? Int(rng.next() % 20) : nil
                    guard let respond else { continue }
                    event(.acknowledge, after: respond)
                    if rng.next() % 10 == 0 { event(.escalate, after: respond + 2, extra: ["level": "street"]) }
                    if rng.next() % 10 < 8 { event(.resolve, after: respond + 3 + Int(rng.next() % 72)) }
                }
                // Board life: a post for every 20 tickets, with comments and likes a little later.
                let posts = shape.tickets / 20 * (h + 1) / hours - madePosts
                madePosts += posts
                for _ in 0..<posts {
                    let committee = committees[Int(rng.next() % UInt64(committees.count))]
                    let post = "p-\(h)-\(rng.next() % 1_000_000)"
                    let category = TicketCategory.allCases[Int(rng.next() % UInt64(TicketCategory.allCases.count))]
                    batch.append(ChangeDraft(scope: .committee(committee.id), kind: EntityKind.post.rawValue, entity: post, op: .add, fields: [
                        "board": "neighbours", "author": .string("m-\(committee.id)-2"), "title": "话题", "body": "内容", "photos": .list([]),
                        "mentions": .list([]), "category": .string(category.rawValue),
                    ], author: "m-\(committee.id)-2"))
                    for c in 0..<Int(rng.next() % 4) {
                        pending[h + 1 + c, default: []].append(ChangeDraft(scope: .committee(committee.id), kind: EntityKind.comment.rawValue,
                                                                            entity: "\(post)-c\(c)", op: .add,
                                                                            fields: ["post": .string(post), "author": "m", "body": "支持"], author: "m"))
                    }
                    for l in 0..<Int(rng.next() % 6) {
                        let member = "m-\(committee.id)-\(l)"
                        pending[h + 2 + l, default: []].append(ChangeDraft(scope: .committee(committee.id), kind: EntityKind.like.rawValue,
                                                                            entity: Like.id(post: post, member: member), op: .assign,
                                                                            fields: ["post": .string(post), "member": .string(member), "on": .bool(true)], author: member))
                    }
                }
                // A poll a month per committee (at full size), with ballots over the following days.
                if h % (24 * 30) == 0 {
                    for committee in committees {
                        let poll = "v-\(committee.id)-\(h)"
                        batch.append(ChangeDraft(scope: .committee(committee.id), kind: EntityKind.poll.rawValue, entity: poll, op: .add, fields: [
                            "title": "议题", "kind": "consultation", "options": .strings(["同意", "不同意"]), "maxChoices": .int(1), "secret": .bool(false),
                            "opensAt": .int(now), "closesAt": .int(now + 7 * 24 * hour), "quorum": .int(10), "createdBy": "cadre",
                        ], author: "cadre"))
                        for v in 0..<20 {
                            pending[h + 1 + v * 6, default: []].append(ChangeDraft(scope: .committee(committee.id), kind: EntityKind.ballot.rawValue,
                                                                                    entity: "\(poll)-b\(v)", op: .add, fields: [
                                "poll": .string(poll), "voter": .string("m-\(committee.id)-\(v)"), "choices": .strings([v % 3 == 0 ? "不同意" : "同意"]),
                            ], author: "m"))
                        }
                    }
                }
                try append(batch, at: now)
                if h % (24 * 30) == 0 { progress("  \(changes) changes: day \(h / 24) of 365") }
            }
            for h in pending.keys.sorted() { try append(pending[h]!, at: start + Int64(h) * hour) }
        }
        let fillSeconds = Date().timeIntervalSince(began)
        progress("  filled: \(changes) changes in \(String(format: "%.0f", fillSeconds)) s; measuring ...")

        let scope = RollupScope.district("bench")
        let now = start + Int64(hours) * hour
        let lastMonth = ShanghaiCalendar.day(ofMillis: now - 30 * 24 * hour), today = ShanghaiCalendar.day(ofMillis: now)
        let lastWeek = ShanghaiCalendar.day(ofMillis: now - 6 * 24 * hour)
        clock.withLock { $0 = now }

        // The baseline's raw SQL runs on a connection of its own to the same file (read-only; nothing writes meanwhile).
        var readOnly = Configuration()
        readOnly.readonly = true
        let raw = try DatabaseQueue(path: path, configuration: readOnly)
        var rows: [Row] = []
        func measure<T: Equatable>(_ name: String, rollup: (ReadView) throws -> T, scan: (Database, ReadView) throws -> T) throws {
            var fast = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            var slow = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            var same = true
            try store.readNow { view in try raw.read { db in
                // The scan is slow by design: time it a tenth as often.
                for i in 0..<shape.iterations {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let a = try rollup(view)
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    _ = fast.record((t1 - t0) / 1_000)
                    guard i % 10 == 0 else { continue }
                    let b = try scan(db, view)
                    _ = slow.record((DispatchTime.now().uptimeNanoseconds - t1) / 1_000)
                    same = same && a == b
                }
            } }
            func ms(_ h: Histogram<UInt64>, _ p: Double) -> Double { Double(h.valueAtPercentile(p)) / 1_000 }
            rows.append(Row(name: name, rollup: (ms(fast, 50), ms(fast, 99)), scan: (ms(slow, 50), ms(slow, 99)), sameAnswer: same))
            progress("  \(name): done")
        }

        try measure("tickets by street, 30 days", rollup: { view in
            try view.ticketRollup(groupBy: .street, scope: scope, since: lastMonth, until: today).map { [$0.key: $0.byStage] }
        }, scan: { db, _ in
            try grouped(db, sql: """
                SELECT u.street AS k, f.stage AS s, COUNT(*) AS n FROM ticket_facts f JOIN committee_units u ON u.committee = f.committee
                WHERE u.district = 'bench' AND f.day >= ? AND f.day <= ? GROUP BY k, s ORDER BY k
                """, [lastMonth, today])
        })
        try measure("tickets by committee, year", rollup: { view in
            try view.ticketRollup(groupBy: .committee, scope: scope).map { [$0.key: $0.byStage] }
        }, scan: { db, _ in
            try grouped(db, sql: """
                SELECT u.committee AS k, f.stage AS s, COUNT(*) AS n FROM ticket_facts f JOIN committee_units u ON u.committee = f.committee
                WHERE u.district = 'bench' GROUP BY k, s ORDER BY k
                """, [])
        })
        try measure("SLA by committee (counts, overdue, p50/p90)", rollup: { view in
            try view.slaRollup(groupBy: .committee, scope: scope, nowMillis: now).map { [$0.tickets, $0.respondedInTime, $0.overdue, $0.firstResponseP90Minutes ?? -1] }
        }, scan: { db, _ in
            var rows: [String: [Int]] = [:]
            var buckets: [String: [Int: Int]] = [:]
            for row in try GRDB.Row.fetchAll(db, sql: """
                SELECT f.committee AS k, f.created_ms AS c, f.first_response_ms AS r, f.waiting AS w FROM ticket_facts f
                JOIN committee_units u ON u.committee = f.committee WHERE u.district = 'bench'
                """) {
                let k: String = row["k"], created: Int64 = row["c"], response: Int64? = row["r"], waiting: Bool = row["w"]
                var r = rows[k] ?? [0, 0, 0]
                r[0] += 1
                if let response {
                    if response - created <= Ticket.responseSLAMillis { r[1] += 1 }
                    buckets[k, default: [:]][TicketRollupQuantile.bucket(millis: response - created), default: 0] += 1
                }
                if waiting && created < now - Ticket.responseSLAMillis { r[2] += 1 }
                rows[k] = r
            }
            return rows.keys.sorted().map { rows[$0]! + [TicketRollupQuantile.of(0.9, buckets[$0] ?? [:]) ?? -1] }
        })
        try measure("hot topics, 7 days", rollup: { view in
            try view.hotCategories(scope: scope, since: lastWeek, until: today).map { [$0.category: $0.score] }
        }, scan: { db, _ in
            try GRDB.Row.fetchAll(db, sql: """
                SELECT a.category AS k, COUNT(*) AS n FROM activity_facts a JOIN committee_units u ON u.committee = a.unit
                WHERE u.district = 'bench' AND a.day >= ? AND a.day <= ? GROUP BY k ORDER BY n DESC, k
                """, arguments: [lastWeek, today]).map { [$0["k"] as String: $0["n"] as Int] }
        })
        try measure("participation by street", rollup: { view in
            try view.participationRollup(groupBy: .street, scope: scope).map { [$0.members, $0.households, $0.under50, $0.volunteers] }
        }, scan: { db, _ in
            try GRDB.Row.fetchAll(db, sql: """
                SELECT u.street AS k, COUNT(*) AS m, COUNT(DISTINCT f.committee || '|' || f.household) AS h, SUM(f.under50) AS y, SUM(f.volunteer) AS v
                FROM member_facts f JOIN committee_units u ON u.committee = f.committee WHERE u.district = 'bench' GROUP BY k ORDER BY k
                """).map { [$0["m"], $0["h"], $0["y"], $0["v"]] }
        })
        try measure("closed polls, latest 20", rollup: { view in
            try view.closedPolls(scope: scope, nowMillis: now, limit: 20).map { [$0.poll: $0.results.map(\.votes)] }
        }, scan: { db, view in
            // Without the poll facts: count each poll's ballots again, by the same rule.
            let polls = try String.fetchAll(db, sql: """
                SELECT id FROM entities WHERE kind = 'poll' AND json_extract(cells, '$.closesAt[0]') <= ?
                ORDER BY json_extract(cells, '$.closesAt[0]') DESC, id LIMIT 20
                """, arguments: [now])
            return try polls.compactMap { id in
                guard let poll = try view.poll(id) else { return nil }
                let tally = poll.tally(try view.ballots(poll: id))
                return [id: poll.options.map { tally.counts[$0] ?? 0 }]
            }
        })
        return (rows, changes, fillSeconds)
    }

    private static func grouped(_ db: Database, sql: String, _ arguments: StatementArguments) throws -> [[String: [String: Int]]] {
        var result: [String: [String: Int]] = [:]
        var order: [String] = []
        for row in try GRDB.Row.fetchAll(db, sql: sql, arguments: arguments) {
            let k: String = row["k"]
            if result[k] == nil { order.append(k) }
            result[k, default: [:]][row["s"]] = row["n"]
        }
        return order.map { [$0: result[$0]!] }
    }

    public static func report(_ rows: [Row], shape: Shape, changes: Int, fillSeconds: Double) -> String {
        var out = "bench rollup: one district of \(shape.committees) committees, \(shape.tickets) tickets (\(changes) changes applied in "
            + "\(String(format: "%.0f", fillSeconds)) s), \(shape.iterations) reads of each rollup, \((shape.iterations + 9) / 10) of each scan\n"
        out += "  rollup                                        p50 ms    p99 ms   scan p50   scan p99   scan/rollup p99  same answer\n"
        for row in rows {
            let ratio = row.rollup.p99 > 0 ? row.scan.p99 / row.rollup.p99 : 0
            out += "  " + row.name.padding(toLength: 44, withPad: " ", startingAt: 0)
                + String(format: "%8.2f  %8.2f  %9.2f  %9.2f  %15.1fx  %@\n", row.rollup.p50, row.rollup.p99, row.scan.p50, row.scan.p99, ratio,
                         row.sameAnswer ? "yes" : "NO")
        }
        let worst = rows.map(\.rollup.p99).max() ?? 0
        out += "  worst rollup p99: \(String(format: "%.2f", worst)) ms (target < 20 ms)\n"
        return out
    }
}
