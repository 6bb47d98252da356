import Governance
import Replication

/// Moderation's commands: flags by members; hiding, locking and suspending by the committee's staff (Governance's
/// `Moderation` decides who may). Each is a field of the entity it acts on; `ModerationLog` lists them.
extension WriteTransaction {
    /// The post or comment `id` and the committee it belongs to, if the actor may see it.
    func moderated(_ id: String, by actor: Actor) throws -> (EntityRecord, Committee) {
        guard let record = try view.record(id), record.kind == .post || record.kind == .comment, !record.isDeleted else {
            throw GovernanceError.notFound("post or comment \(id)")
        }
        let postID = record.kind == .post ? id : (record["post"].string ?? "")
        let (_, committee) = try view.visiblePost(postID, to: actor)
        if record.kind == .comment, HiddenMark.isHidden(record), !actor.isStaff(of: committee) { throw GovernanceError.notFound("comment \(id)") }
        return (record, committee)
    }

    /// Flags a post or comment (`reason` nil: takes the flag back).
    public mutating func flag(_ id: String, reason: String?, by actor: Actor) throws {
        let (record, committee) = try moderated(id, by: actor)
        try append(try Moderation.flag(record, reason: reason, in: committee, by: actor))
    }

    /// Hides a post or comment with a reason (`reason` nil: shows it again).
    public mutating func hide(_ id: String, reason: String?, by actor: Actor) throws {
        let (record, committee) = try moderated(id, by: actor)
        try append(try Moderation.hide(record, reason: reason, in: committee, by: actor))
    }

    /// Locks or unlocks a post's thread.
    public mutating func lock(post id: String, _ locked: Bool, by actor: Actor) throws -> Post {
        let (post, committee) = try view.visiblePost(id, to: actor)
        try append(try Moderation.lock(post, locked, in: committee, by: actor))
        return try view.post(id)!
    }

    /// Suspends a member's posting until `until` (nil: lifts it).
    public mutating func suspend(member id: String, until: Int64?, reason: String, committee committeeID: String, by actor: Actor) throws -> Member {
        let committee = try view.requireCommittee(committeeID)
        guard let member = try view.member(id), member.committee == committeeID else { throw GovernanceError.notFound("member \(id)") }
        try append(try Moderation.suspend(member, until: until, reason: reason, nowMillis: nowMillis, in: committee, by: actor))
        return try view.member(id)!
    }
}

extension ReadView {
    /// A board's posts as `actor` sees them through `committee`: hidden ones for staff only.
    public func posts(board: String, scopes: [Scope], limit: Int, after cursor: PageCursor? = nil, shownTo actor: Actor, via committee: Committee) throws -> [Post] {
        try posts(board: board, scopes: scopes, limit: limit, after: cursor).filter { $0.isVisible(to: actor, via: committee) }
    }

    /// A post's comments as `actor` sees them through `committee`: hidden ones for staff only.
    public func comments(post: String, shownTo actor: Actor, via committee: Committee) throws -> [Comment] {
        let staff = actor.isStaff(of: committee)
        return try comments(post: post).filter { staff || $0.hidden == nil }
    }
}
