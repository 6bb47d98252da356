import Foundation
import GRDB
import Governance
import Replication

/// Read access to a node's state, inside a read or a write transaction.
/// Entities come back as `EntityRecord`s and typed Governance views built from them.
public struct ReadView {
    let db: Database
    let store: Store?
    /// Records already read, where no cell can change while the view is in use (the rollup refresh at the end of an
    /// apply): a post read for each of its comments and likes in a batch is read once.
    var cache: RecordCache? = nil

    /// Physical time now, as the store's clock sees it.
    public var nowMillis: Int64 { store?.nowMillis ?? 0 }

    /// The departments this node's district dispatches to (`Store.departments`).
    public var departments: [String] { store?.departments ?? [] }

    /// An entity's cells from the text of its row's `cells` column (`CellsText`).
    static func cells(_ text: String, of id: String) throws -> [String: Cell] {
        do { return try CellsText.decode(text) } catch { throw StorageError.corruptRow("cells of \(id): \(error)") }
    }

    /// The value of one cell, if written.
    public func cellValue(entity: String, field: String) throws -> Value? {
        try record(entity)?.cells[field]?.value
    }

    // MARK: - Records

    /// Records read once per apply batch (see `cache`); a class so that copies of the view share it.
    final class RecordCache {
        var records: [String: EntityRecord?] = [:]
    }

    /// One entity with all its cells.
    public func record(_ id: String) throws -> EntityRecord? {
        if let cache, let hit = cache.records[id] { return hit }
        let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT kind, scope, cells FROM entities WHERE id = ?"), arguments: [id])
        let record = try row.map { try Self.record(id: id, row: $0, at: 0) }
        cache?.records[id] = record
        return record
    }

    /// An entity from its kind, scope and cells in columns `first` to `first + 2`.
    private static func record(id: String, row: Row, at first: Int) throws -> EntityRecord {
        try record(id: id, kind: row[first], scope: row[first + 1], cells: row[first + 2])
    }

    /// An entity from the text of its row's kind, scope and cells columns.
    static func record(id: String, kind kindText: String, scope scopeText: String, cells text: String) throws -> EntityRecord {
        guard let kind = EntityKind(rawValue: kindText), let scope = Scope(scopeText) else {
            throw StorageError.corruptRow("entity \(id): kind \(kindText), scope \(scopeText)")
        }
        return EntityRecord(id: id, kind: kind, scope: scope, cells: try cells(text, of: id))
    }

    /// Entities matching a filter on the entity index, newest first (or oldest first), at most `limit`.
    /// - Parameter after: a pagination cursor: only entities past it in the list's order, (created, id).
    public func records(where filter: String, _ arguments: StatementArguments, limit: Int, newestFirst: Bool = true,
                        after cursor: PageCursor? = nil) throws -> [EntityRecord] {
        var filter = filter
        var arguments = arguments
        if let cursor {
            let past = newestFirst ? "<" : ">"
            filter += " AND (created \(past) ? OR (created = ? AND id \(past) ?))"
            arguments += [cursor.created, cursor.created, cursor.id]
        }
        let direction = newestFirst ? "DESC" : "ASC"
        let sql = "SELECT id, kind, scope, cells FROM entities WHERE \(filter) ORDER BY created \(direction), id \(direction) LIMIT ?"
        arguments += [limit]
        var result: [EntityRecord] = []
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        while let row = try rows.next() { result.append(try Self.record(id: row[0], row: row, at: 1)) }
        return result
    }

    /// Children of an entity (a post's comments and likes, a ticket's events), oldest first.
    public func children(of parent: String, kind: EntityKind, limit: Int = 10_000) throws -> [EntityRecord] {
        let (filter, arguments) = Self.children(of: parent, kind: kind)
        return try records(where: filter, arguments, limit: limit, newestFirst: false)
    }

    /// The filter on the entity index for an entity's children of one kind: by their parent, or for likes, which the index
    /// keeps no parent for (`EntityKind.indexesParent`), by the range of ids `Like.ids(post:)` names and their post.
    static func children(of parent: String, kind: EntityKind) -> (filter: String, arguments: StatementArguments) {
        guard kind == .like else { return ("parent = ? AND kind = ?", [parent, kind.rawValue]) }
        let ids = Like.ids(post: parent)
        // `+kind`: the kind is checked, not looked up in the index on it, which would read every like.
        return ("id >= ? AND id < ? AND +kind = 'like' AND json_extract(cells, '$.post[0]') = ?", [ids.lower, ids.upper, parent])
    }

    // MARK: - Hierarchy and members

    /// A committee hosted or replicated here.
    public func committee(_ id: String) throws -> Committee? {
        try record(id).flatMap(Committee.init)
    }

    /// Every committee hosted or replicated here, by id.
    public func committees() throws -> [Committee] {
        try records(where: "kind = 'committee'", [], limit: 100_000, newestFirst: false).compactMap(Committee.init).sorted { $0.id < $1.id }
    }

    /// A member by id.
    public func member(_ id: String) throws -> Member? { try record(id).flatMap(Member.init) }

    /// A committee's members, optionally only those with one status.
    public func members(committee: String, status: MemberStatus? = nil, limit: Int = 100_000, after cursor: PageCursor? = nil) throws -> [Member] {
        var filter = "kind = 'member' AND scope = ?"
        var arguments: StatementArguments = [Scope.committee(committee).description]
        if let status {
            filter += " AND status = ?"
            arguments += [status.rawValue]
        }
        return try records(where: filter, arguments, limit: limit, newestFirst: false, after: cursor).compactMap(Member.init)
    }

    /// The member a bearer token belongs to, if the token has not expired.
    public func member(forToken token: String) throws -> Member? {
        let now = store?.nowMillis ?? Int64.min
        guard let id = try String.fetchOne(db.cachedStatement(sql: "SELECT member FROM tokens WHERE hash = ? AND (expires_at IS NULL OR expires_at > ?)"),
                                           arguments: [Digest.hex(of: token), now]) else {
            return nil
        }
        return try member(id)
    }

    /// A committee's join code.
    public func joinCode(committee: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT code FROM join_codes WHERE committee = ?", arguments: [committee])
    }

    /// A resident's personal data, held only on the street node that owns their committee.
    public func resident(_ member: String) throws -> ResidentRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM residents WHERE member = ?", arguments: [member]).map {
            ResidentRecord(member: $0["member"], committee: $0["committee"], realName: $0["real_name"], phone: $0["phone"],
                           building: $0["building"], room: $0["room"], birthYear: $0["birth_year"])
        }
    }

    // MARK: - Boards

    /// A post by id.
    public func post(_ id: String) throws -> Post? { try record(id).flatMap(Post.init) }

    /// Posts on a board within the given scopes, newest first, not deleted.
    public func posts(board: String, scopes: [Scope], limit: Int, after cursor: PageCursor? = nil) throws -> [Post] {
        guard !scopes.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: scopes.count).joined(separator: ",")
        // The board is a write-once field; the entity index does not carry it, so filter on the cell in each post's row,
        // newest first, until the page is full.
        let filter = "kind = 'post' AND deleted = 0 AND scope IN (\(marks)) AND json_extract(cells, '$.board[0]') = ?"
        let arguments = StatementArguments(scopes.map(\.description)) + [board]
        return try records(where: filter, arguments, limit: limit, after: cursor).compactMap(Post.init)
    }

    /// A post's comments, oldest first, not deleted.
    public func comments(post: String, limit: Int = 1_000) throws -> [Comment] {
        try records(where: "parent = ? AND kind = 'comment' AND deleted = 0", [post], limit: limit, newestFirst: false).compactMap(Comment.init)
    }

    /// How many members like a post: counted from the like flags that are on, never a stored counter.
    public func likeCount(post: String) throws -> Int {
        let (filter, arguments) = Self.children(of: post, kind: .like)
        return try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM entities WHERE \(filter) AND cells -> '$.on[0]' = 'true'"),
                                arguments: arguments) ?? 0
    }

    /// Whether a member currently likes a post.
    public func likes(post: String, member: String) throws -> Bool {
        try cellValue(entity: Like.id(post: post, member: member), field: "on") == .bool(true)
    }

    /// Private messages to or from a member, newest first.
    public func messages(for member: String, limit: Int = 200) throws -> [Message] {
        let filter = "kind = 'message' AND (json_extract(cells, '$.to[0]') = ? OR json_extract(cells, '$.from[0]') = ?)"
        return try records(where: filter, [member, member], limit: limit).compactMap(Message.init)
    }

    /// Posts mentioning a member, newest first.
    public func mentions(of member: String, limit: Int = 200) throws -> [Post] {
        let filter = "kind = 'post' AND deleted = 0 AND cells -> '$.mentions[0]' LIKE ?"
        return try records(where: filter, ["%" + Value.string(member).canonicalJSON + "%"], limit: limit).compactMap(Post.init)
    }

    // MARK: - Polls

    /// A poll by id.
    public func poll(_ id: String) throws -> Poll? { try record(id).flatMap(Poll.init) }

    /// A committee's polls, newest first.
    public func polls(committee: String, limit: Int = 100) throws -> [Poll] {
        try records(where: "kind = 'poll' AND scope = ?", [Scope.committee(committee).description], limit: limit).compactMap(Poll.init)
    }

    /// Every ballot cast in a poll.
    public func ballots(poll: String) throws -> [Ballot] {
        try children(of: poll, kind: .ballot, limit: 10_000_000).compactMap(Ballot.init)
    }

    // MARK: - Tickets and topics

    /// A ticket with its history folded in.
    public func ticket(_ id: String) throws -> Ticket? {
        guard let record = try record(id), record.kind == .ticket else { return nil }
        let events = try children(of: id, kind: .ticketEvent).compactMap(TicketEvent.init)
        return Ticket(record, events: events)
    }

    /// A committee's tickets, newest first, optionally in one stage.
    public func tickets(committee: String, stage: TicketStage? = nil, limit: Int, after cursor: PageCursor? = nil) throws -> [Ticket] {
        var filter = "kind = 'ticket' AND scope = ?"
        var arguments: StatementArguments = [Scope.committee(committee).description]
        if let stage {
            filter += " AND status = ?"
            arguments += [stage.rawValue]
        }
        return try records(where: filter, arguments, limit: limit, after: cursor).compactMap { record in
            Ticket(record, events: try children(of: record.id, kind: .ticketEvent).compactMap(TicketEvent.init))
        }
    }

    /// Tickets held here created in `from..<to` (ms), newest first: optionally only some categories, only open
    /// (or only resolved and closed) ones; at most `limit`. Read from the ticket facts, not by folding every ticket.
    public func ticketIDs(categories: [String]? = nil, open: Bool? = nil, createdFrom from: Int64, to: Int64, limit: Int) throws -> [String] {
        var sql = "SELECT ticket FROM ticket_facts WHERE created_ms >= ? AND created_ms < ?"
        var arguments: StatementArguments = [from, to]
        if let categories {
            sql += " AND category IN (\(Array(repeating: "?", count: categories.count).joined(separator: ", ")))"
            arguments += StatementArguments(categories)
        }
        if let open {
            sql += " AND resolved = ?"
            arguments += [!open]
        }
        sql += " ORDER BY created_ms DESC, ticket LIMIT ?"
        arguments += [limit]
        return try String.fetchAll(db, sql: sql, arguments: arguments)
    }

    /// A topic with its history.
    public func topic(_ id: String) throws -> Topic? {
        guard let record = try record(id), record.kind == .topic else { return nil }
        return Topic(record, events: try children(of: id, kind: .topicEvent).compactMap(TopicEvent.init))
    }

    /// A committee's topics, newest first.
    public func topics(committee: String, limit: Int = 100) throws -> [Topic] {
        try records(where: "kind = 'topic' AND scope = ?", [Scope.committee(committee).description], limit: limit).compactMap { record in
            Topic(record, events: try children(of: record.id, kind: .topicEvent).compactMap(TopicEvent.init))
        }
    }

    // MARK: - Campaigns and queues

    /// A campaign by id.
    public func campaign(_ id: String) throws -> Campaign? { try record(id).flatMap(Campaign.init) }

    /// A campaign's sign-ups with their stamps.
    public func signups(campaign: String) throws -> [(member: String, stamp: WriteStamp)] {
        try children(of: campaign, kind: .signup, limit: 1_000_000).compactMap { record in
            record.isDeleted ? nil : record["member"].string.map { ($0, record.created) }
        }
    }

    /// A member's sign-ups or bookings under a campaign or queue, every attempt (cancelled ones too), oldest first.
    public func attempts(under parent: String, kind: EntityKind, member: String) throws -> [EntityRecord] {
        try records(where: "parent = ? AND kind = ? AND json_extract(cells, '$.member[0]') = ?",
                    [parent, kind.rawValue, member], limit: 1_000, newestFirst: false)
    }

    /// A committee's volunteer campaigns, newest first.
    public func campaigns(committee: String, limit: Int = 100) throws -> [Campaign] {
        try records(where: "kind = 'campaign' AND scope = ?", [Scope.committee(committee).description], limit: limit).compactMap(Campaign.init)
    }

    /// A queue by id.
    public func queue(_ id: String) throws -> Queue? { try record(id).flatMap(Queue.init) }

    /// A committee's appointment queues, newest first.
    public func queues(committee: String, limit: Int = 100) throws -> [Queue] {
        try records(where: "kind = 'queue' AND scope = ?", [Scope.committee(committee).description], limit: limit).compactMap(Queue.init)
    }

    /// How many numbers a queue has handed out.
    public func bookingCount(queue: String) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: "SELECT count(*) FROM entities WHERE parent = ? AND kind = 'booking'"), arguments: [queue]) ?? 0
    }

    /// A member's booking in a queue: number and slot.
    public func booking(queue: String, member: String) throws -> (number: Int, slot: String)? {
        guard let record = try attempts(under: queue, kind: .booking, member: member).last(where: { !$0.isDeleted }),
              let number = record["number"].int else { return nil }
        return (Int(number), record["slot"].string ?? "")
    }
}

/// A resident's personal data as held on the owning street node.
public struct ResidentRecord: Hashable, Sendable {
    public var member: String
    public var committee: String
    public var realName: String
    public var phone: String
    public var building: String
    public var room: String
    public var birthYear: Int
}
