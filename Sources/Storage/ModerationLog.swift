import Foundation
import GRDB
import Governance
import Replication

/// Keeps the moderation tables in step with the changes applied, on every node (street, district and city alike): the
/// audit list of acts (`moderation_log`) and the standing flags (`moderation_flags`, mirroring the merged cells).
enum ModerationLog {
    static func record(_ change: Change, kind: EntityKind, db: Database) throws {
        let view = ReadView(db: db, store: nil)
        var committee = change.scope.committee
        if kind == .member, committee == nil { committee = try view.cellValue(entity: change.entity, field: "committee")?.string }
        func log(_ action: String, reason: String, detail: String? = nil) throws {
            try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO moderation_log(origin, seq, action, at, actor, committee, kind, entity, reason, detail)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [change.id.origin, Int64(change.id.seq), action, Int64(change.hlc.millis), change.author, committee,
                                         kind.rawValue, change.entity, reason, detail])
        }
        for (field, value) in change.fields {
            switch field {
            case "hidden":
                try log(value == .null ? "show" : "hide", reason: value.object?["reason"]?.string ?? "")
            case "locked":
                try log(value == .bool(true) ? "lock" : "unlock", reason: "")
            case "suspendedUntil":
                try log(value == .null ? "lift" : "suspend", reason: change.fields["suspendReason"]?.string ?? "",
                        detail: value.int.map { ShanghaiCalendar.dateTime(ofMillis: $0) })
            case _ where field.hasPrefix("flag:"):
                // The flag as merged (a concurrent older write may arrive after a newer one).
                let member = String(field.dropFirst(5))
                if let reason = try view.cellValue(entity: change.entity, field: field)?.string, let committee {
                    try db.cachedStatement(sql: "INSERT OR REPLACE INTO moderation_flags(entity, member, committee, reason, at) VALUES (?, ?, ?, ?, ?)")
                        .execute(arguments: [change.entity, member, committee, reason, Int64(change.hlc.millis)])
                } else {
                    try db.cachedStatement(sql: "DELETE FROM moderation_flags WHERE entity = ? AND member = ?").execute(arguments: [change.entity, member])
                }
            default:
                break
            }
        }
    }
}

/// One moderation act, as the audit list shows it.
public struct ModerationAct: Sendable, Hashable {
    public var action: String
    public var atMillis: Int64
    public var actor: String
    public var committee: String?
    public var kind: EntityKind
    public var entity: String
    public var reason: String
    public var detail: String?
    /// Which node wrote it, and its sequence there: the act's id.
    public var origin: String
    public var seq: Int64
}

/// A post or comment members flagged, awaiting a cadre's look.
public struct FlaggedItem: Sendable, Hashable {
    public var entity: String
    public var kind: EntityKind
    public var flags: Int
    public var reasons: [String]
    public var latestMillis: Int64
}

extension ReadView {
    /// The moderation acts in `scope` (a committee, a street's, a district's, or all), newest first, before `beforeMillis`.
    public func moderationActs(scope: TicketQueueScope, beforeMillis: Int64?, limit: Int) throws -> [ModerationAct] {
        var sql = "SELECT l.* FROM moderation_log l"
        var conditions: [String] = []
        var arguments: StatementArguments = []
        switch scope {
        case .committee(let id): conditions.append("l.committee = ?"); arguments += [id]
        case .street(let id): sql += " JOIN committee_units u ON u.committee = l.committee"; conditions.append("u.street = ?"); arguments += [id]
        case .district(let id): sql += " JOIN committee_units u ON u.committee = l.committee"; conditions.append("u.district = ?"); arguments += [id]
        case .city: break
        }
        if let beforeMillis { conditions.append("l.at < ?"); arguments += [beforeMillis] }
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY l.at DESC, l.origin DESC, l.seq DESC LIMIT ?"
        arguments += [limit]
        return try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
            guard let kind = EntityKind(rawValue: row["kind"]) else { return nil }
            return ModerationAct(action: row["action"], atMillis: row["at"], actor: row["actor"], committee: row["committee"], kind: kind,
                                 entity: row["entity"], reason: row["reason"], detail: row["detail"], origin: row["origin"], seq: row["seq"])
        }
    }

    /// A committee's flagged posts and comments that are neither hidden nor deleted, most flagged first.
    public func flaggedItems(committee: String, limit: Int) throws -> [FlaggedItem] {
        try Row.fetchAll(db, sql: """
            SELECT f.entity, e.kind, count(*) AS n, group_concat(f.reason, char(31)) AS reasons, max(f.at) AS latest
            FROM moderation_flags f JOIN entities e ON e.id = f.entity
            WHERE f.committee = ? AND e.deleted = 0
              AND json_extract(e.cells, '$.hidden[0]') IS NULL
            GROUP BY f.entity ORDER BY n DESC, latest DESC LIMIT ?
            """, arguments: [committee, limit]).compactMap { row in
            guard let kind = EntityKind(rawValue: row["kind"]) else { return nil }
            let reasons: String = row["reasons"] ?? ""
            return FlaggedItem(entity: row["entity"], kind: kind, flags: row["n"], reasons: reasons.split(separator: "\u{1F}").map(String.init),
                               latestMillis: row["latest"])
        }
    }
}
