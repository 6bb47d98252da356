import Replication

/// What a member types to post on a board.
public struct PostInput: Hashable, Sendable {
    public var title: String
    public var body: String
    public var photos: [String]
    public var mentions: [String]
    /// Optional topic category (e.g. `traffic` 交通出行), used by the hot-topic ranking.
    public var category: String?

    public init(title: String, body: String, photos: [String] = [], mentions: [String] = [], category: String? = nil) {
        self.title = title
        self.body = body
        self.photos = photos
        self.mentions = mentions
        self.category = category
    }
}

/// A post on a board, derived from its changes. Likes and comments are counted from their own entities.
public struct Post: Hashable, Sendable {
    public var id: String
    public var scope: Scope
    public var board: String
    public var author: String
    public var title: String
    public var body: String
    public var photos: [String]
    public var mentions: [String]
    public var category: String?
    public var createdMillis: Int64
    public var editedMillis: Int64?
    public var deleted: Bool
    /// The HLC of the first write: the order lists are sorted and paginated by.
    public var created: HLCTimestamp
    /// Hidden by staff (seen by staff only), and why.
    public var hidden: HiddenMark?
    /// No more comments but by staff.
    public var locked: Bool
    /// Members' flags: member → reason.
    public var flags: [String: String]

    public static let maxTitle = 100
    public static let maxBody = 5_000
    public static let maxPhotos = 9
    public static let maxMentions = 10

    public init?(_ record: EntityRecord) {
        guard record.kind == .post, let board = record["board"].string else { return nil }
        self.id = record.id
        self.scope = record.scope
        self.board = board
        self.author = record["author"].string ?? ""
        self.title = record["title"].string ?? ""
        self.body = record["body"].string ?? ""
        self.photos = record["photos"].strings
        self.mentions = record["mentions"].strings
        self.category = record["category"].string
        self.createdMillis = record.createdMillis
        self.created = record.created.hlc
        self.editedMillis = record["editedAt"].int
        self.deleted = record.isDeleted
        self.hidden = HiddenMark(record["hidden"])
        self.locked = record["locked"].bool ?? false
        self.flags = Moderation.flags(record)
    }

    /// Validates an input; `mentionable` says whether a member id may be @mentioned (cadres of the committee).
    static func validate(_ input: PostInput, mentionable: (String) -> Bool) throws(GovernanceError) -> PostInput {
        var clean = input
        clean.title = try Text.required(input.title, field: "title", max: maxTitle)
        clean.body = try Text.required(input.body, field: "body", max: maxBody)
        clean.photos = try Text.references(input.photos, field: "photos", maxCount: maxPhotos)
        clean.mentions = try Text.references(input.mentions, field: "mentions", maxCount: maxMentions)
        for id in clean.mentions where !mentionable(id) {
            throw .invalid("mentions", "\(id) is not a cadre of this committee")
        }
        if let category = input.category {
            guard TicketCategory(rawValue: category) != nil else { throw .invalid("category", "unknown category \(category)") }
        }
        return clean
    }

    // MARK: - Commands

    /// Posts on a board. District-wide boards take the district's scope; the rest the committee's.
    public static func create(_ input: PostInput, board: Board, in committee: Committee, by actor: Actor, id: String,
                              mentionable: (String) -> Bool) throws(GovernanceError) -> ChangeDraft {
        guard board.allowsPost(by: actor, in: committee) else { throw .forbidden("\(actor.role.rawValue) may not post on \(board.slug)") }
        let clean = try validate(input, mentionable: mentionable)
        let scope: Scope = board.districtWide ? .district(committee.district) : .committee(committee.id)
        return ChangeDraft(
            scope: scope, kind: EntityKind.post.rawValue, entity: id, op: .assign,
            fields: [
                "board": .string(board.slug), "author": .string(actor.memberID), "title": .string(clean.title),
                "body": .string(clean.body), "photos": .strings(clean.photos), "mentions": .strings(clean.mentions),
                "category": .optional(clean.category),
            ],
            author: actor.memberID)
    }

    /// The author edits title, body or photos; concurrent edits resolve last-writer-wins per field.
    public func edit(title: String?, body: String?, photos: [String]?, by actor: Actor, nowMillis: Int64) throws(GovernanceError) -> ChangeDraft {
        guard !deleted else { throw .notFound("post") }
        guard actor.memberID == author else { throw .forbidden("only the author edits a post") }
        var fields: [String: Value] = ["editedAt": .int(nowMillis)]
        if let title { fields["title"] = .string(try Text.required(title, field: "title", max: Self.maxTitle)) }
        if let body { fields["body"] = .string(try Text.required(body, field: "body", max: Self.maxBody)) }
        if let photos { fields["photos"] = .strings(try Text.references(photos, field: "photos", maxCount: Self.maxPhotos)) }
        guard fields.count > 1 else { throw .invalid("body", "nothing to change") }
        return ChangeDraft(scope: scope, kind: EntityKind.post.rawValue, entity: id, op: .assign, fields: fields, author: actor.memberID)
    }

    /// The author or the committee's staff delete a post; the tombstone wins over any concurrent edit.
    public func delete(by actor: Actor, in committee: Committee) throws(GovernanceError) -> ChangeDraft {
        guard !deleted else { throw .notFound("post") }
        guard actor.memberID == author || actor.isStaff(of: committee) else { throw .forbidden("only the author or a cadre deletes a post") }
        return ChangeDraft(scope: scope, kind: EntityKind.post.rawValue, entity: id, op: .remove, fields: [:], author: actor.memberID)
    }

    /// Whether `actor`, reading through `committee`, may see this post (a hidden one: staff only).
    public func isVisible(to actor: Actor, via committee: Committee) -> Bool {
        guard actor.canRead(committee) else { return false }
        if hidden != nil, !actor.isStaff(of: committee) { return false }
        switch scope {
        case .committee(let id): return id == committee.id
        case .district(let id): return id == committee.district
        case .street(let id): return id == committee.street
        case .city: return true
        }
    }
}

/// A comment on a post.
public struct Comment: Hashable, Sendable {
    public var id: String
    public var post: String
    public var author: String
    public var body: String
    public var createdMillis: Int64
    public var deleted: Bool
    /// Hidden by staff (seen by staff only), and why.
    public var hidden: HiddenMark?
    /// Members' flags: member → reason.
    public var flags: [String: String]

    public static let maxBody = 2_000

    public init?(_ record: EntityRecord) {
        guard record.kind == .comment, let post = record["post"].string else { return nil }
        self.id = record.id
        self.post = post
        self.author = record["author"].string ?? ""
        self.body = record["body"].string ?? ""
        self.createdMillis = record.createdMillis
        self.deleted = record.isDeleted
        self.hidden = HiddenMark(record["hidden"])
        self.flags = Moderation.flags(record)
    }

    /// Comments on a post the actor can see. The comment takes the post's scope, so it goes wherever the post goes: on a
    /// district-wide post, every street of the district sees the whole thread (a street may write its district's
    /// scope for comments and likes, `Topology.threadKinds`).
    public static func create(on post: Post, body: String, in committee: Committee, by actor: Actor, id: String) throws(GovernanceError) -> ChangeDraft {
        guard !post.deleted, post.isVisible(to: actor, via: committee) else { throw .notFound("post") }
        guard !post.locked || actor.isStaff(of: committee) else { throw .conflict("thread_locked", "the thread is locked") }
        let text = try Text.required(body, field: "body", max: maxBody)
        return ChangeDraft(scope: post.scope, kind: EntityKind.comment.rawValue,
                           entity: id, op: .add,
                           fields: ["post": .string(post.id), "author": .string(actor.memberID), "body": .string(text)],
                           author: actor.memberID)
    }
}

/// Likes (点赞): one entity per (post, member), a last-writer-wins on/off flag.
/// The count is derived by counting the flags that are on, never a replicated counter.
public enum Like {
    /// The deterministic id, so a member's likes on one post always land on one entity.
    public static func id(post: String, member: String) -> String { "l:\(post):\(member)" }

    /// The ids `id(post:member:)` gives for this post's likes, whatever the member: they share the prefix `l:<post>:`
    /// and so lie in `lower..<upper` in the order of their bytes (SQLite's for text). A like of another post whose id
    /// extends this one past a colon lies there too: filter on the like's post as well.
    public static func ids(post: String) -> (lower: String, upper: String) { ("l:\(post):", "l:\(post);") }

    /// Likes or unlikes a post; idempotent.
    public static func set(_ on: Bool, post: Post, in committee: Committee, by actor: Actor) throws(GovernanceError) -> ChangeDraft {
        guard !post.deleted, post.isVisible(to: actor, via: committee) else { throw .notFound("post") }
        return ChangeDraft(scope: post.scope, kind: EntityKind.like.rawValue,
                           entity: id(post: post.id, member: actor.memberID), op: .assign,
                           fields: ["post": .string(post.id), "member": .string(actor.memberID), "on": .bool(on)],
                           author: actor.memberID)
    }
}

/// A private message (私信) from a member to one of the committee's cadres, or a cadre's reply.
public struct Message: Hashable, Sendable {
    public var id: String
    public var committee: String
    public var from: String
    public var to: String
    public var body: String
    public var createdMillis: Int64

    public static let maxBody = 2_000

    public init?(_ record: EntityRecord) {
        guard record.kind == .message, let committee = record.scope.committee else { return nil }
        self.id = record.id
        self.committee = committee
        self.from = record["from"].string ?? ""
        self.to = record["to"].string ?? ""
        self.body = record["body"].string ?? ""
        self.createdMillis = record.createdMillis
    }

    /// Sends a message. A member writes to a cadre of their committee; a cadre may answer any member of it.
    public static func send(to recipient: Member, body: String, in committee: Committee, by actor: Actor, id: String) throws(GovernanceError) -> ChangeDraft {
        guard actor.canRead(committee) else { throw .forbidden("not a member of this committee") }
        guard recipient.committee == committee.id || recipient.actor.isStaff(of: committee) else { throw .notFound("recipient") }
        let toStaff = recipient.actor.isStaff(of: committee)
        guard toStaff || actor.isStaff(of: committee) else { throw .invalid("to", "private messages go to a cadre of the committee") }
        let text = try Text.required(body, field: "body", max: maxBody)
        return ChangeDraft(scope: .committee(committee.id), kind: EntityKind.message.rawValue, entity: id, op: .add,
                           fields: ["from": .string(actor.memberID), "to": .string(recipient.id), "body": .string(text)],
                           author: actor.memberID)
    }
}
