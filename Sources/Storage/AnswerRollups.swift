import Foundation
import GRDB
import Governance
import Replication

/// How fast cadres answer (the seeds' "24-hour secretary"), kept as changes apply on every node: a question is a private
/// message from a resident to a cadre (or officer), or a post @-mentioning one; it is answered by that cadre's next
/// message back to the resident, or their comment on the post. `answer_facts` holds one row per question;
/// `rollup_answers` their sums per committee. An answer that arrives before its question (another path through the
/// federation) is found when the question comes, so every node ends with the same figures.
enum AnswerRollups {
    static let day: Int64 = 86_400_000

    /// Records what one applied message, post or comment asks or answers. Only the change that made it names its
    /// ends (an edit or a tombstone does not), and that change is the record as far as this needs: no read of it.
    static func record(_ change: Change, kind: EntityKind, rollups: RollupDelta) throws {
        let named = switch kind {
        case .message: change.fields["from"] != nil && change.fields["to"] != nil
        case .comment: change.fields["author"] != nil && change.fields["post"] != nil
        case .post: change.fields["author"] != nil && change.fields["mentions"] != nil
        default: false
        }
        guard named else { return }
        let stamp = WriteStamp(hlc: change.hlc, origin: change.id.origin)
        let record = EntityRecord(id: change.entity, kind: kind, scope: change.scope,
                                  cells: change.fields.mapValues { Cell(value: $0, stamp: stamp, op: change.op) })
        try Self.record(record, rollups: rollups)
    }

    static func record(_ record: EntityRecord, rollups: RollupDelta) throws {
        let db = rollups.db
        let view = ReadView(db: db, store: nil)
        let at = record.createdMillis
        func isStaff(_ member: String) throws -> Bool {
            guard let role = try view.cellValue(entity: member, field: "role")?.string.flatMap(Role.init(rawValue:)) else { return false }
            return role.isCommitteeStaff || role.isOfficer
        }
        switch record.kind {
        case .message:
            guard let committee = record.scope.committee, let from = record["from"].string, let to = record["to"].string else { return }
            if try isStaff(from) {
                try answer(answerer: from, asker: to, post: nil, at: at, rollups: rollups)
            } else if try isStaff(to) {
                // The first message back after it, if already here.
                let reply = try Int64.fetchOne(db, sql: """
                    SELECT min(created) FROM entities
                    WHERE kind = 'message' AND scope = ? AND created >= ? AND json_extract(cells, '$.from[0]') = ? AND json_extract(cells, '$.to[0]') = ?
                    """, arguments: [record.scope.description, Int64(record.created.hlc.rawValue), to, from])
                try ask(question: record.id, committee: committee, asker: from, answerer: to, post: nil, at: at,
                        answered: reply.map { Int64(HLCTimestamp(rawValue: UInt64($0)).millis) }, rollups: rollups)
            }
        case .post:
            guard let committee = record.scope.committee, let author = record["author"].string else { return }
            for mentioned in record["mentions"].strings where mentioned != author {
                let reply = try view.comments(post: record.id).filter { $0.author == mentioned && $0.createdMillis >= at }.map(\.createdMillis).min()
                try ask(question: "\(record.id):\(mentioned)", committee: committee, asker: author, answerer: mentioned, post: record.id,
                        at: at, answered: reply, rollups: rollups)
            }
        case .comment:
            guard let author = record["author"].string, let post = record["post"].string else { return }
            try answer(answerer: author, asker: nil, post: post, at: at, rollups: rollups)
        default:
            return
        }
    }

    static func ask(question: String, committee: String, asker: String, answerer: String, post: String?, at: Int64, answered: Int64?,
                    rollups: RollupDelta) throws {
        let db = rollups.db
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO answer_facts(question, committee, asker, answerer, post, asked_ms, answered_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [question, committee, asker, answerer, post, at, answered])
        guard db.changesCount > 0 else { return }
        try rollups.add("rollup_answers", keys: ["committee": committee], counts: [
            "asked": 1, "answered": answered == nil ? 0 : 1, "answered_in_day": answered.map { $0 - at <= day ? 1 : 0 } ?? 0,
        ])
    }

    /// `answerer` spoke at `at`: to `asker` (a message), or on `post` (a comment). Their questions asked before it and not
    /// answered sooner are answered now.
    static func answer(answerer: String, asker: String?, post: String?, at: Int64, rollups: RollupDelta) throws {
        let db = rollups.db
        var read = try DirectStatement(db, sql: """
            SELECT question, committee, asked_ms, answered_ms FROM answer_facts
            WHERE answerer = ? AND \(post == nil ? "asker = ? AND post IS NULL" : "post = ?") AND asked_ms <= ? AND (answered_ms IS NULL OR answered_ms > ?)
            """)
        read.bind(answerer)
        read.bind(post ?? asker ?? "")
        read.bind(at)
        read.bind(at)
        let rows = try read.all { row in (question: row.text(0), committee: row.text(1), asked: row.int64(2), before: row.isNull(3) ? nil : row.int64(3)) }
        for (question, committee, asked, before) in rows {
            try db.cachedStatement(sql: "UPDATE answer_facts SET answered_ms = ? WHERE question = ?").execute(arguments: [at, question])
            let wasInDay = before.map { $0 - asked <= day } ?? false
            try rollups.add("rollup_answers", keys: ["committee": committee], counts: [
                "asked": 0, "answered": before == nil ? 1 : 0, "answered_in_day": (at - asked <= day ? 1 : 0) - (wasInDay ? 1 : 0),
            ])
        }
    }
}

/// How a unit's cadres answer: questions asked, answered, answered within a day, and those waiting longer.
public struct AnswerRollupRow: Hashable, Sendable {
    public var key: String
    public var asked: Int
    public var answered: Int
    public var answeredInDay: Int
    /// Unanswered after 24 hours, at the time asked.
    public var waitingOverDay: Int

    public init(key: String, asked: Int, answered: Int, answeredInDay: Int, waitingOverDay: Int) {
        self.key = key
        self.asked = asked
        self.answered = answered
        self.answeredInDay = answeredInDay
        self.waitingOverDay = waitingOverDay
    }
    /// Answered within a day, of those asked more than a day ago or answered.
    public var inDayShare: Double? {
        let judged = answered + waitingOverDay
        return judged > 0 ? Double(answeredInDay) / Double(judged) : nil
    }
}

extension ReadView {
    public func answerRollup(groupBy: RollupGrouping, scope: RollupScope, nowMillis: Int64) throws -> [AnswerRollupRow] {
        let key = "u.\(groupBy.isUnit ? groupBy.rawValue : "committee")"
        let (predicate, arguments) = scope.predicate
        var result: [String: AnswerRollupRow] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT \(key) AS k, SUM(a.asked) AS asked, SUM(a.answered) AS answered, SUM(a.answered_in_day) AS in_day
            FROM rollup_answers a JOIN committee_units u ON u.committee = a.committee WHERE \(predicate) GROUP BY k
            """, arguments: arguments) {
            result[row["k"]] = AnswerRollupRow(key: row["k"], asked: row["asked"], answered: row["answered"], answeredInDay: row["in_day"], waitingOverDay: 0)
        }
        for row in try Row.fetchAll(db, sql: """
            SELECT \(key) AS k, COUNT(*) AS n FROM answer_facts a JOIN committee_units u ON u.committee = a.committee
            WHERE a.answered_ms IS NULL AND a.asked_ms < ? AND \(predicate) GROUP BY k
            """, arguments: [nowMillis - AnswerRollups.day] + arguments) {
            result[row["k"]]?.waitingOverDay = row["n"]
        }
        return result.keys.sorted().map { result[$0]! }
    }
}
