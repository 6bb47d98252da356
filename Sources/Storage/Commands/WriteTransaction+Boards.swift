import Governance
import Replication

/// The boards' commands: each looks up what it needs, asks Governance to decide, appends the change and returns the
/// result as merged. HTTP routes, demo seeding, the simulator's workload and the benches all write through these.
extension WriteTransaction {
    /// A post on a board of `committeeID` (a district-wide board posts to the committee's district). `id` is minted
    /// unless given (a replayed history names its entities ahead).
    public mutating func createPost(_ input: PostInput, board: Board, committee committeeID: String, by actor: Actor, id: String? = nil) throws -> Post {
        let committee = try view.requireCommittee(committeeID)
        try actor.requireReader(committee)
        try Moderation.requireNotSuspended(try view.member(actor.memberID), nowMillis: nowMillis)
        let id = id ?? mintID(.post)
        let view = self.view
        try append(try Post.create(input, board: board, in: committee, by: actor, id: id) { mentioned in
            ((try? view.member(mentioned))??.actor.isStaff(of: committee)) ?? false
        })
        return try self.view.post(id)!
    }

    /// Edits a post the actor may see (Governance decides whether it is theirs to edit).
    public mutating func editPost(_ id: String, title: String?, body: String?, photos: [String]?, by actor: Actor) throws -> Post {
        let (post, _) = try view.visiblePost(id, to: actor)
        try append(try post.edit(title: title, body: body, photos: photos, by: actor, nowMillis: nowMillis))
        return try view.post(id)!
    }

    public mutating func deletePost(_ id: String, by actor: Actor) throws {
        let (post, committee) = try view.visiblePost(id, to: actor)
        try append(try post.delete(by: actor, in: committee))
    }

    public mutating func comment(on postID: String, body: String, by actor: Actor) throws -> Comment {
        let (post, committee) = try view.visiblePost(postID, to: actor)
        try Moderation.requireNotSuspended(try view.member(actor.memberID), nowMillis: nowMillis)
        let id = mintID(.comment)
        try append(try Comment.create(on: post, body: body, in: committee, by: actor, id: id))
        return try view.record(id).flatMap(Comment.init)!
    }

    /// Likes (or unlikes) a post; idempotent: liking twice, or unliking what was never liked, writes nothing.
    /// Returns the post's like count.
    @discardableResult
    public mutating func setLike(_ on: Bool, post postID: String, by actor: Actor) throws -> Int {
        let (post, committee) = try view.visiblePost(postID, to: actor)
        if try view.likes(post: postID, member: actor.memberID) != on {
            try append(try Like.set(on, post: post, in: committee, by: actor))
        }
        return try view.likeCount(post: postID)
    }

    /// A private message to a member of the committee (a resident to a cadre, or back).
    public mutating func sendMessage(to recipientID: String, body: String, committee committeeID: String, by actor: Actor) throws -> Message {
        let committee = try view.requireCommittee(committeeID)
        try actor.requireReader(committee)
        guard let recipient = try view.member(recipientID) else { throw GovernanceError.invalid("to", "no member \(recipientID)") }
        let id = mintID(.message)
        try append(try Message.send(to: recipient, body: body, in: committee, by: actor, id: id))
        return try view.record(id).flatMap(Message.init)!
    }
}
