/// A member's role. Committee roles belong to one committee; officers to a street, district or the city.
public enum Role: String, Sendable, Codable, CaseIterable, Hashable {
    case resident
    case volunteer
    case cadre
    case secretary
    /// 物业: the property management company's representative.
    case property
    /// 业委会: the owners' committee.
    case owners
    /// 社区民警: the community police officer.
    case police
    /// 家庭医生: the family doctor.
    case doctor
    /// 公共法律服务: the lawyer.
    case lawyer
    case streetOfficer = "street_officer"
    case districtOfficer = "district_officer"
    case cityOfficer = "city_officer"

    /// Roles that belong to one committee.
    public var isCommitteeRole: Bool { !isOfficer }
    /// Street, district and city officers.
    public var isOfficer: Bool { self == .streetOfficer || self == .districtOfficer || self == .cityOfficer }
    /// Cadres and the secretary run a committee.
    public var isCommitteeStaff: Bool { self == .cadre || self == .secretary }
    /// The partners who own a board of their own.
    public var isPartner: Bool { [.property, .owners, .police, .doctor, .lawyer].contains(self) }
    /// Chinese label for the dashboard and demo data.
    public var label: String {
        switch self {
        case .resident: "居民"
        case .volunteer: "志愿者"
        case .cadre: "居委干部"
        case .secretary: "书记"
        case .property: "物业"
        case .owners: "业委会"
        case .police: "社区民警"
        case .doctor: "家庭医生"
        case .lawyer: "法律顾问"
        case .streetOfficer: "街道干部"
        case .districtOfficer: "区干部"
        case .cityOfficer: "市级干部"
        }
    }
}

/// A member's standing in the committee they joined.
public enum MemberStatus: String, Sendable, Codable, CaseIterable {
    case pending, approved, rejected
}
