import Replication

/// A resident's application to join a committee, as typed by them (after scanning the join code).
/// Real name, phone and room stay on the street node; only the pseudonymous parts replicate.
public struct JoinApplication: Hashable, Sendable {
    public var joinCode: String
    public var realName: String
    public var phone: String
    public var building: String
    public var room: String
    /// Optional: without it the member has no age band (and does not count as under 50).
    public var birthYear: Int?
    public var partyMember: Bool

    public init(joinCode: String, realName: String, phone: String, building: String, room: String, birthYear: Int?, partyMember: Bool) {
        self.joinCode = joinCode
        self.realName = realName
        self.phone = phone
        self.building = building
        self.room = room
        self.birthYear = birthYear
        self.partyMember = partyMember
    }

    /// Checks lengths and formats; returns the cleaned application.
    public func validated(currentYear: Int) throws(GovernanceError) -> JoinApplication {
        var copy = self
        copy.realName = try Text.required(realName, field: "realName", max: 32)
        copy.building = try Text.required(building, field: "building", max: 32)
        copy.room = try Text.required(room, field: "room", max: 16)
        let digits = phone.filter(\.isNumber)
        guard digits.count == 11, digits.first == "1", digits == phone.filter({ !$0.isWhitespace && $0 != "-" }) else {
            throw .invalid("phone", "must be an 11-digit mainland mobile number")
        }
        copy.phone = digits
        if let birthYear, !((currentYear - 120)...currentYear ~= birthYear) {
            throw .invalid("birthYear", "must be a year between \(currentYear - 120) and \(currentYear)")
        }
        return copy
    }
}

/// A member as every replica sees it: pseudonymous.
public struct Member: Hashable, Sendable {
    public var id: String
    public var committee: String?
    public var unit: String?
    public var role: Role
    public var status: MemberStatus
    /// The name shown to others: the surname and a mask (e.g. 王*), or a staff member's chosen name.
    public var displayName: String
    /// A stable pseudonym for the household (building + room), for counting households without naming them.
    public var household: String?
    /// Age band, e.g. `30-49`; never the birth year.
    public var ageBand: String?
    /// 党员亮身份: the member shows the party-member badge.
    public var partyMember: Bool
    public var volunteer: Bool
    public var joinedMillis: Int64
    /// The HLC of the first write: the order lists are sorted and paginated by.
    public var created: HLCTimestamp
    /// Posting and commenting suspended until then (staff's moderation), and why.
    public var suspendedUntilMillis: Int64?
    public var suspendReason: String

    public init?(_ record: EntityRecord) {
        guard record.kind == .member, let role = Role(rawValue: record["role"].string ?? ""),
              let status = MemberStatus(rawValue: record["status"].string ?? "") else { return nil }
        self.id = record.id
        self.committee = record["committee"].string
        self.unit = record["unit"].string
        self.role = role
        self.status = status
        self.displayName = record["displayName"].string ?? ""
        self.household = record["household"].string
        self.ageBand = record["ageBand"].string
        self.partyMember = record["partyMember"].bool ?? false
        self.volunteer = record["volunteer"].bool ?? false
        self.joinedMillis = record.createdMillis
        self.created = record.created.hlc
        self.suspendedUntilMillis = record["suspendedUntil"].int
        self.suspendReason = record["suspendReason"].string ?? ""
    }

    /// Whether the member counts in the participation figures: approved, of a committee, and not an officer.
    public var countsInParticipation: Bool { status == .approved && committee != nil && !role.isOfficer }
    /// Whether the member's age band lies under 50 (the seeds report that share).
    public var isUnder50: Bool { ageBand.map(Self.under50Bands.contains) ?? false }
    /// The bands of `ageBand(birthYear:currentYear:)` below 50.
    public static let under50Bands: Set<String> = ["<30", "30-49"]

    /// The acting identity of this member.
    public var actor: Actor { Actor(memberID: id, role: role, status: status, committee: committee, unit: unit) }

    /// The age bands used for demographics; 50 is a boundary because the seeds report the share under 50.
    public static func ageBand(birthYear: Int, currentYear: Int) -> String {
        switch currentYear - birthYear {
        case ..<30: "<30"
        case 30..<50: "30-49"
        case 50..<70: "50-69"
        case 70..<90: "70-89"
        default: "90+"
        }
    }

    /// The masked display name: surname and one star per remaining character (王小明 → 王**).
    public static func maskedName(_ realName: String) -> String {
        guard let first = realName.first else { return "*" }
        return String(first) + String(repeating: "*", count: max(1, realName.count - 1))
    }

    // MARK: - Commands

    /// A resident joins: the member is pending until a cadre approves.
    /// The household pseudonym of an application: the same for everyone of one building and room in a committee,
    /// and nothing else can be read from it.
    public static func household(committee: String, application: JoinApplication) -> String {
        String(Digest.hex(of: "\(committee)|\(application.building)|\(application.room)").prefix(16))
    }

    /// `household` is a pseudonym (`household(committee:application:)`) derived from building and room.
    public static func join(_ application: JoinApplication, committee: Committee, id: String, household: String, currentYear: Int) -> ChangeDraft {
        ChangeDraft(
            scope: .committee(committee.id), kind: EntityKind.member.rawValue, entity: id, op: .assign,
            fields: [
                "committee": .string(committee.id), "role": .string(Role.resident.rawValue),
                "status": .string(MemberStatus.pending.rawValue), "displayName": .string(maskedName(application.realName)),
                "household": .string(household), "ageBand": .optional(application.birthYear.map { ageBand(birthYear: $0, currentYear: currentYear) }),
                "partyMember": .bool(application.partyMember), "volunteer": .bool(false),
            ],
            author: id)
    }

    /// Staff accounts (cadres, partners, officers) are created approved by an administrator.
    public static func staff(id: String, role: Role, displayName: String, committee: String?, unit: String?, scope: Scope, author: String) -> ChangeDraft {
        ChangeDraft(
            scope: scope, kind: EntityKind.member.rawValue, entity: id, op: .assign,
            fields: [
                "committee": .optional(committee), "unit": .optional(unit), "role": .string(role.rawValue),
                "status": .string(MemberStatus.approved.rawValue), "displayName": .string(displayName),
                "partyMember": .bool(false), "volunteer": .bool(role == .volunteer),
            ],
            author: author)
    }

    /// A cadre approves or rejects a pending member.
    public func decide(_ status: MemberStatus, by actor: Actor, in committee: Committee) throws(GovernanceError) -> ChangeDraft {
        guard actor.isStaff(of: committee) else { throw .forbidden("only the committee's cadres approve or reject members") }
        guard self.committee == committee.id else { throw .notFound("member") }
        guard status != .pending else { throw .invalid("status", "a decision is approve or reject") }
        return ChangeDraft(scope: .committee(committee.id), kind: EntityKind.member.rawValue, entity: id, op: .assign,
                           fields: ["status": .string(status.rawValue)], author: actor.memberID)
    }

    /// The member shows or hides badges, or a cadre marks a volunteer.
    public func setBadges(partyMember: Bool?, volunteer: Bool?, by actor: Actor, in committee: Committee) throws(GovernanceError) -> ChangeDraft {
        var fields: [String: Value] = [:]
        if let partyMember {
            guard actor.memberID == id else { throw .forbidden("only the member shows or hides the party badge") }
            fields["partyMember"] = .bool(partyMember)
        }
        if let volunteer {
            guard actor.memberID == id || actor.isStaff(of: committee) else { throw .forbidden("not your badge") }
            fields["volunteer"] = .bool(volunteer)
        }
        guard !fields.isEmpty else { throw .invalid("badges", "nothing to change") }
        return ChangeDraft(scope: .committee(committee.id), kind: EntityKind.member.rawValue, entity: id, op: .assign, fields: fields, author: actor.memberID)
    }
}
