import Replication

/// Why a post or comment is hidden, and by whom.
public struct HiddenMark: Hashable, Sendable {
    public var reason: String
    public var by: String

    /// Whether an entity's record carries a hidden mark.
    public static func isHidden(_ record: EntityRecord) -> Bool { HiddenMark(record["hidden"]) != nil }

    init?(_ value: Value) {
        guard let o = value.object, let reason = o["reason"]?.string, let by = o["by"]?.string else { return nil }
        self.reason = reason
        self.by = by
    }
}

/// Moderation (管理): residents flag a post or comment; the committee's cadres and the officers over it hide it (it
/// replicates as hidden, with the reason, seen by staff only), lock a post's thread, and suspend a member's posting for a
/// time. Each is a field of the entity it acts on — `flag:<member>`, `hidden`, `locked`, `suspendedUntil` — written
/// last-writer-wins, so a node of the release before keeps them as cells it does not read.
public enum Moderation {
    public static let maxReason = 200
    /// The longest suspension: a year.
    public static let maxSuspensionMillis: Int64 = 365 * 86_400_000

    /// The field a member's flag is kept in.
    public static func flagField(_ member: String) -> String { "flag:\(member)" }

    /// The flags on an entity: member → reason (a flag taken back is gone).
    public static func flags(_ record: EntityRecord) -> [String: String] {
        var flags: [String: String] = [:]
        for (field, cell) in record.cells where field.hasPrefix("flag:") {
            if let reason = cell.value.string { flags[String(field.dropFirst(5))] = reason }
        }
        return flags
    }

    /// Only a committee's own posts and comments are moderated here (a district-wide board is its district's).
    static func requireCommitteeScope(_ record: EntityRecord) throws(GovernanceError) {
        guard record.kind == .post || record.kind == .comment, !record.isDeleted else { throw .notFound(record.kind.rawValue) }
        guard case .committee = record.scope else { throw .conflict("district_board", "a district-wide board is moderated at the district") }
    }

    /// A member flags (举报) a post or comment of their committee, or takes the flag back (`reason` nil).
    public static func flag(_ record: EntityRecord, reason: String?, in committee: Committee, by actor: Actor) throws(GovernanceError) -> ChangeDraft {
        try requireCommitteeScope(record)
        try actor.requireReader(committee)
        guard record["author"].string != actor.memberID else { throw .invalid("reason", "one does not flag one's own words") }
        var value = Value.null
        if let reason { value = .string(try Text.required(reason, field: "reason", max: maxReason)) }
        return ChangeDraft(scope: record.scope, kind: record.kind.rawValue, entity: record.id, op: .assign,
                           fields: [flagField(actor.memberID): value], author: actor.memberID)
    }

    /// Staff hide a post or comment with a reason, or show it again (`reason` nil).
    public static func hide(_ record: EntityRecord, reason: String?, in committee: Committee, by actor: Actor) throws(GovernanceError) -> ChangeDraft {
        try requireCommitteeScope(record)
        guard actor.isStaff(of: committee) else { throw .forbidden("only the committee's cadres and officers hide posts") }
        var value = Value.null
        if let reason { value = .object(["reason": .string(try Text.required(reason, field: "reason", max: maxReason)), "by": .string(actor.memberID)]) }
        return ChangeDraft(scope: record.scope, kind: record.kind.rawValue, entity: record.id, op: .assign, fields: ["hidden": value], author: actor.memberID)
    }

    /// Staff lock a post's thread (no more comments but by staff) or unlock it.
    public static func lock(_ post: Post, _ locked: Bool, in committee: Committee, by actor: Actor) throws(GovernanceError) -> ChangeDraft {
        guard !post.deleted else { throw .notFound("post") }
        guard case .committee = post.scope else { throw .conflict("district_board", "a district-wide board is moderated at the district") }
        guard actor.isStaff(of: committee) else { throw .forbidden("only the committee's cadres and officers lock threads") }
        return ChangeDraft(scope: post.scope, kind: EntityKind.post.rawValue, entity: post.id, op: .assign, fields: ["locked": .bool(locked)], author: actor.memberID)
    }

    /// Staff suspend a member's posting and commenting until a time (nil: lift it), with a reason.
    public static func suspend(_ member: Member, until: Int64?, reason: String, nowMillis: Int64, in committee: Committee, by actor: Actor) throws(GovernanceError) -> ChangeDraft {
        guard actor.isStaff(of: committee), member.committee == committee.id else { throw .forbidden("only the committee's cadres and officers suspend its members") }
        guard !member.role.isCommitteeStaff, !member.role.isOfficer else { throw .forbidden("staff are not suspended here") }
        if let until {
            guard until > nowMillis, until - nowMillis <= maxSuspensionMillis else { throw .invalid("until", "in the future, at most a year away") }
        }
        let text = try Text.optional(reason, field: "reason", max: maxReason)
        if until != nil, text.isEmpty { throw .invalid("reason", "a suspension needs a reason") }
        return ChangeDraft(scope: .committee(committee.id), kind: EntityKind.member.rawValue, entity: member.id, op: .assign,
                           fields: ["suspendedUntil": .optional(until), "suspendReason": .string(text)], author: actor.memberID)
    }

    /// Refuses a suspended member's post or comment.
    public static func requireNotSuspended(_ member: Member?, nowMillis: Int64) throws(GovernanceError) {
        guard let until = member?.suspendedUntilMillis, until > nowMillis else { return }
        throw .forbidden("posting is suspended until \(ShanghaiCalendar.dateTime(ofMillis: until))")
    }
}
