import Foundation
import GRDB
import Governance
import Replication

/// Keeps the full-text index (`search_docs` and the FTS5 table `search_text`, trigram tokenizer) in step with the
/// posts, topics and tickets a batch of changes touched, in the transaction that applied them.
enum SearchIndex {
    /// Re-indexes one entity: its current title and text, or nothing once it is deleted or not a committee's.
    static func refresh(_ id: String, kind: EntityKind, view: ReadView, db: Database) throws {
        let existing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT rowid FROM search_docs WHERE entity = ?"), arguments: [id])
        // A ticket's title and description are written once: its later events need no re-indexing.
        if kind == .ticket, existing != nil { return }
        if let existing {
            try db.cachedStatement(sql: "DELETE FROM search_text WHERE rowid = ?").execute(arguments: [existing])
            try db.cachedStatement(sql: "DELETE FROM search_docs WHERE rowid = ?").execute(arguments: [existing])
        }
        guard let record = try view.record(id), let committee = record.scope.committee,
              record[Cell.tombstoneField] != .bool(true), !HiddenMark.isHidden(record) else { return }
        let owner = record[kind == .ticket ? "reporter" : "author"].string ?? ""
        let body = record[kind == .post ? "body" : "description"].string ?? ""
        try db.cachedStatement(sql: "INSERT INTO search_docs(entity, committee, kind, owner, created) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [id, committee, kind.rawValue, owner, Int64(record.created.hlc.rawValue)])
        try db.cachedStatement(sql: "INSERT INTO search_text(rowid, title, body) VALUES (?, ?, ?)")
            .execute(arguments: [db.lastInsertedRowID, record["title"].string ?? "", body])
    }
}

/// One search result.
public struct SearchHit: Sendable, Hashable {
    public var kind: EntityKind
    public var id: String
    public var title: String
    /// The start of the text.
    public var excerpt: String
    public var createdMillis: Int64
}

extension ReadView {
    /// The longest query accepted, in characters.
    public static let maxSearchLength = 64

    /// A committee's posts and topics, and the tickets `member` may see (their own; every one for `staff`), whose title
    /// or text contains `query`, newest first. Three characters or more use the trigram index; one or two (a Chinese
    /// word is often two) scan the committee's own rows.
    public func search(_ query: String, committee: String, member: String, staff: Bool, limit: Int) throws -> [SearchHit] {
        let text = query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return [] }
        let visible = staff ? "1" : "(d.kind != 'ticket' OR d.owner = :member)"
        let rows: [Row]
        if text.count >= 3 {
            // A phrase query: the text as one quoted string ("" escapes a quote), so no operator of FTS5's syntax applies.
            let phrase = "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            rows = try Row.fetchAll(db, sql: """
                SELECT d.kind, d.entity, d.created, t.title, t.body FROM search_text t JOIN search_docs d ON d.rowid = t.rowid
                WHERE search_text MATCH :phrase AND d.committee = :committee AND \(visible)
                ORDER BY d.created DESC LIMIT :limit
                """, arguments: ["phrase": phrase, "committee": committee, "member": member, "limit": limit])
        } else {
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            rows = try Row.fetchAll(db, sql: """
                SELECT d.kind, d.entity, d.created, t.title, t.body FROM search_docs d JOIN search_text t ON t.rowid = d.rowid
                WHERE d.committee = :committee AND \(visible) AND (t.title LIKE :pattern ESCAPE '\\' OR t.body LIKE :pattern ESCAPE '\\')
                ORDER BY d.created DESC LIMIT :limit
                """, arguments: ["pattern": "%\(escaped)%", "committee": committee, "member": member, "limit": limit])
        }
        return rows.compactMap { row in
            guard let kind = EntityKind(rawValue: row["kind"]) else { return nil }
            let created: Int64 = row["created"]
            return SearchHit(kind: kind, id: row["entity"], title: row["title"], excerpt: String((row["body"] as String).prefix(80)),
                             createdMillis: Int64(HLCTimestamp(rawValue: UInt64(created)).millis))
        }
    }
}
