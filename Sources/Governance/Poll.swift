import Replication

/// The four kinds of vote in mission.md.
public enum PollKind: String, Sendable, Codable, CaseIterable {
    /// 方案投票: choosing between designs.
    case proposal
    /// 征询: consulting residents (elevators, parking, waste sorting).
    case consultation
    /// 居委会换届: the committee election.
    case election
    /// 年终考核线上评议: the annual evaluation of cadres.
    case evaluation
}

/// What a cadre types to open a poll.
public struct PollInput: Hashable, Sendable {
    public var title: String
    public var kind: PollKind
    public var options: [String]
    public var maxChoices: Int
    public var secret: Bool
    public var opensAtMillis: Int64
    public var closesAtMillis: Int64
    public var quorum: Int

    public init(title: String, kind: PollKind, options: [String], maxChoices: Int, secret: Bool, opensAtMillis: Int64, closesAtMillis: Int64, quorum: Int) {
        self.title = title
        self.kind = kind
        self.options = options
        self.maxChoices = maxChoices
        self.secret = secret
        self.opensAtMillis = opensAtMillis
        self.closesAtMillis = closesAtMillis
        self.quorum = quorum
    }
}

/// A poll and, given its ballots, the tally.
///
/// A ballot counts when it is stamped at or after `opensAt`, before `closesAt`, and before the
/// stamp of a manual close. The decision uses stamps only, never arrival, so every replica counts the
/// same ballots. Each voter's latest counting ballot is the one that counts.
public struct Poll: Hashable, Sendable {
    public var id: String
    public var committee: String
    public var title: String
    public var kind: PollKind
    public var options: [String]
    public var maxChoices: Int
    public var secret: Bool
    public var opensAtMillis: Int64
    public var closesAtMillis: Int64
    public var quorum: Int
    public var createdBy: String
    /// The stamp of the earliest manual close, if any.
    public var closedStamp: WriteStamp?

    public static let maxOptions = 50
    public static let maxOptionLength = 200

    public init?(_ record: EntityRecord) {
        guard record.kind == .poll, let committee = record.scope.committee, let kind = PollKind(rawValue: record["kind"].string ?? "") else { return nil }
        self.id = record.id
        self.committee = committee
        self.title = record["title"].string ?? ""
        self.kind = kind
        self.options = record["options"].strings
        self.maxChoices = Int(record["maxChoices"].int ?? 1)
        self.secret = record["secret"].bool ?? false
        self.opensAtMillis = record["opensAt"].int ?? 0
        self.closesAtMillis = record["closesAt"].int ?? 0
        self.quorum = Int(record["quorum"].int ?? 0)
        self.createdBy = record["createdBy"].string ?? ""
        self.closedStamp = record.cells["closed"]?.stamp
    }

    /// Whether the poll is closed at `nowMillis`, by time or by hand.
    public func isClosed(nowMillis: Int64) -> Bool { closedStamp != nil || nowMillis >= closesAtMillis }

    /// Whether a ballot with this stamp counts.
    public func counts(_ stamp: WriteStamp) -> Bool {
        let millis = Int64(stamp.hlc.millis)
        guard millis >= opensAtMillis, millis < closesAtMillis else { return false }
        if let closedStamp, stamp >= closedStamp { return false }
        return true
    }

    /// The id under which a voter's ballots are filed: the member id, or for a secret poll a pseudonym keyed with the
    /// street node's ballot secret, so that the replicated ballot names nobody — not even to someone who knows every
    /// member id (an unkeyed hash of poll and member could be recomputed by any replica).
    public func voterKey(for memberID: String, secret ballotSecret: BallotSecret) -> String {
        secret ? "anon-" + ballotSecret.pseudonym(of: "\(id)|\(memberID)") : memberID
    }

    /// The result of counting.
    public struct Tally: Hashable, Sendable {
        /// Votes per option, every option present.
        public var counts: [String: Int]
        /// How many voters' ballots count.
        public var ballots: Int
        /// Whether `ballots` reaches the quorum.
        public var quorumMet: Bool
    }

    /// Counts ballots: each voter's latest counting ballot, in stamp order — the same on every replica.
    public func tally(_ ballots: [Ballot]) -> Tally {
        var latest: [String: Ballot] = [:]
        for ballot in ballots where ballot.poll == id && counts(ballot.stamp) {
            if let current = latest[ballot.voter], current.stamp > ballot.stamp { continue }
            latest[ballot.voter] = ballot
        }
        var counts = Dictionary(uniqueKeysWithValues: options.map { ($0, 0) })
        for ballot in latest.values {
            for choice in Set(ballot.choices) where counts[choice] != nil { counts[choice]! += 1 }
        }
        return Tally(counts: counts, ballots: latest.count, quorumMet: latest.count >= quorum)
    }

    /// Whether the tally may be shown at `nowMillis`: open polls show it live, secret polls only once closed.
    public func tallyVisible(nowMillis: Int64) -> Bool { !secret || isClosed(nowMillis: nowMillis) }

    // MARK: - Commands

    /// Opens a poll (cadres and officers over the committee).
    public static func create(_ input: PollInput, in committee: Committee, by actor: Actor, id: String, nowMillis: Int64) throws(GovernanceError) -> ChangeDraft {
        guard actor.isStaff(of: committee) else { throw .forbidden("only cadres open polls") }
        let title = try Text.required(input.title, field: "title", max: 100)
        let options = try Text.references(input.options, field: "options", maxCount: maxOptions, maxLength: maxOptionLength)
        guard options.count >= 2 else { throw .invalid("options", "at least two options") }
        guard Set(options).count == options.count else { throw .invalid("options", "options must differ") }
        guard (1...options.count).contains(input.maxChoices) else { throw .invalid("maxChoices", "between 1 and the number of options") }
        guard input.closesAtMillis > input.opensAtMillis else { throw .invalid("closesAt", "must be after opensAt") }
        guard input.closesAtMillis > nowMillis else { throw .invalid("closesAt", "must be in the future") }
        guard input.quorum >= 0, input.quorum <= 10_000_000 else { throw .invalid("quorum", "between 0 and 10000000") }
        return ChangeDraft(
            scope: .committee(committee.id), kind: EntityKind.poll.rawValue, entity: id, op: .add,
            fields: [
                "title": .string(title), "kind": .string(input.kind.rawValue), "options": .strings(options),
                "maxChoices": .int(Int64(input.maxChoices)), "secret": .bool(input.secret),
                "opensAt": .int(input.opensAtMillis), "closesAt": .int(input.closesAtMillis),
                "quorum": .int(Int64(input.quorum)), "createdBy": .string(actor.memberID),
            ],
            author: actor.memberID)
    }

    /// Casts (or replaces) the actor's ballot. One ballot per voter counts: the latest before the close.
    public func vote(_ choices: [String], in committee: Committee, by actor: Actor, id: String, nowMillis: Int64,
                     ballotSecret: BallotSecret) throws(GovernanceError) -> ChangeDraft {
        guard committee.id == self.committee, actor.isMember(of: committee), !actor.role.isOfficer else {
            throw .forbidden("only approved members of the committee vote")
        }
        guard nowMillis >= opensAtMillis else { throw .conflict("poll_not_open", "the poll opens later") }
        guard !isClosed(nowMillis: nowMillis) else { throw .conflict("poll_closed", "the poll is closed") }
        guard !choices.isEmpty, choices.count <= maxChoices else { throw .invalid("choices", "choose between 1 and \(maxChoices) options") }
        guard Set(choices).count == choices.count else { throw .invalid("choices", "an option may be chosen once") }
        for choice in choices where !options.contains(choice) { throw .invalid("choices", "unknown option \(choice)") }
        return ChangeDraft(scope: .committee(self.committee), kind: EntityKind.ballot.rawValue, entity: id, op: .add,
                           fields: ["poll": .string(self.id), "voter": .string(voterKey(for: actor.memberID, secret: ballotSecret)), "choices": .strings(choices)],
                           author: voterKey(for: actor.memberID, secret: ballotSecret))
    }

    /// Closes the poll by hand; concurrent closes keep the earliest.
    public func close(in committee: Committee, by actor: Actor, nowMillis: Int64) throws(GovernanceError) -> ChangeDraft {
        guard actor.isStaff(of: committee) else { throw .forbidden("only cadres close polls") }
        guard !isClosed(nowMillis: nowMillis) else { throw .conflict("poll_closed", "the poll is already closed") }
        return ChangeDraft(scope: .committee(self.committee), kind: EntityKind.poll.rawValue, entity: id, op: .add,
                           fields: ["closed": .bool(true), "closedBy": .string(actor.memberID)], author: actor.memberID)
    }
}

/// One ballot as cast. Re-voting casts a new ballot; the tally keeps each voter's latest that counts.
public struct Ballot: Hashable, Sendable {
    public var id: String
    public var poll: String
    public var voter: String
    public var choices: [String]
    public var stamp: WriteStamp

    public init?(_ record: EntityRecord) {
        guard record.kind == .ballot, let poll = record["poll"].string, let voter = record["voter"].string else { return nil }
        self.id = record.id
        self.poll = poll
        self.voter = voter
        self.choices = record["choices"].strings
        self.stamp = record.created
    }

    public init(id: String, poll: String, voter: String, choices: [String], stamp: WriteStamp) {
        self.id = id
        self.poll = poll
        self.voter = voter
        self.choices = choices
        self.stamp = stamp
    }
}
