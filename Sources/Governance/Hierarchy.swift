import Replication

/// A residents' committee (居委会) and where it sits: street (街道) and district (区).
public struct Committee: Hashable, Sendable, Codable {
    public var id: String
    public var name: String
    public var street: String
    public var district: String

    public init(id: String, name: String, street: String, district: String) {
        self.id = id
        self.name = name
        self.street = street
        self.district = district
    }

    /// The change that creates or renames the committee (made by the street that owns it).
    public static func define(_ committee: Committee, author: String) -> ChangeDraft {
        ChangeDraft(
            scope: .committee(committee.id), kind: EntityKind.committee.rawValue, entity: committee.id, op: .assign,
            fields: ["name": .string(committee.name), "street": .string(committee.street), "district": .string(committee.district)],
            author: author)
    }

    /// Reads the committee from its merged fields.
    public init?(_ record: EntityRecord) {
        guard record.kind == .committee, let name = record["name"].string, let street = record["street"].string,
              let district = record["district"].string else { return nil }
        self.init(id: record.id, name: name, street: street, district: district)
    }
}

/// Who is acting: a member of a committee, or an officer of a street, district or the city.
public struct Actor: Hashable, Sendable {
    public var memberID: String
    public var role: Role
    public var status: MemberStatus
    /// The committee of a committee role; nil for officers.
    public var committee: String?
    /// The officer's street, district, or nil for the city.
    public var unit: String?

    public init(memberID: String, role: Role, status: MemberStatus, committee: String?, unit: String?) {
        self.memberID = memberID
        self.role = role
        self.status = status
        self.committee = committee
        self.unit = unit
    }

    /// Whether this actor is an approved member of `committee`.
    public func isMember(of committee: Committee) -> Bool {
        status == .approved && self.committee == committee.id
    }

    /// Whether this actor has staff powers over `committee`: its cadres and secretary,
    /// and the officers whose street, district or city contains it.
    public func isStaff(of committee: Committee) -> Bool {
        guard status == .approved else { return false }
        switch role {
        case .cadre, .secretary: return self.committee == committee.id
        case .streetOfficer: return unit == committee.street
        case .districtOfficer: return unit == committee.district
        case .cityOfficer: return true
        default: return false
        }
    }

    /// Whether this actor may read the committee's boards, polls and tickets.
    public func canRead(_ committee: Committee) -> Bool { isMember(of: committee) || isStaff(of: committee) }

    /// Refuses an actor who may not read the committee (a pending member is told why).
    public func requireReader(_ committee: Committee) throws(GovernanceError) {
        guard canRead(committee) else {
            if status == .pending { throw .forbidden("your membership is waiting for a cadre's approval") }
            throw .forbidden("not a member of committee \(committee.id)")
        }
    }

    /// Refuses an actor without staff powers over the committee.
    public func requireStaff(_ committee: Committee) throws(GovernanceError) {
        guard isStaff(of: committee) else { throw .forbidden("only the committee's cadres may do this") }
    }
}

