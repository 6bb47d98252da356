/// A board (版块). Committee boards exist in every committee; district-wide boards are run by the
/// district and shown in every committee of it.
public struct Board: Hashable, Sendable {
    /// The stable slug used in URLs.
    public let slug: String
    /// The Chinese name residents see.
    public let name: String
    /// Roles that may post, besides what `openToMembers` allows.
    public let posters: Set<Role>
    /// Whether every approved member of the committee may post.
    public let openToMembers: Bool
    /// Whether the board belongs to the district rather than to each committee.
    public let districtWide: Bool

    /// The committee boards of api.md, in display order.
    public static let committeeBoards: [Board] = [
        Board(slug: "announcements", name: "社区公告", posters: [.cadre, .secretary], openToMembers: false, districtWide: false),
        Board(slug: "party", name: "党建园地", posters: [.secretary], openToMembers: false, districtWide: false),
        Board(slug: "deliberation", name: "议事厅", posters: [], openToMembers: true, districtWide: false),
        Board(slug: "affairs", name: "居务公开", posters: [.cadre, .secretary], openToMembers: false, districtWide: false),
        Board(slug: "property", name: "物业之窗", posters: [.property, .cadre, .secretary], openToMembers: false, districtWide: false),
        Board(slug: "owners", name: "业委连线", posters: [.owners, .cadre, .secretary], openToMembers: false, districtWide: false),
        Board(slug: "police", name: "警民直通车", posters: [.police, .cadre, .secretary], openToMembers: false, districtWide: false),
        Board(slug: "doctor", name: "家庭医生", posters: [.doctor, .cadre, .secretary], openToMembers: false, districtWide: false),
        Board(slug: "legal", name: "公共法律服务", posters: [.lawyer, .cadre, .secretary], openToMembers: false, districtWide: false),
        Board(slug: "around-me", name: "身边事", posters: [], openToMembers: true, districtWide: false),
        Board(slug: "neighbours", name: "邻居", posters: [], openToMembers: true, districtWide: false),
    ]

    /// District-wide boards: written by district officers, shown in every committee of the district.
    public static let districtBoards: [Board] = [
        Board(slug: "district-survey", name: "大调研", posters: [.districtOfficer], openToMembers: false, districtWide: true),
    ]

    /// Every board, committee boards first.
    public static let all: [Board] = committeeBoards + districtBoards

    /// The board with this slug.
    public static func named(_ slug: String) -> Board? { all.first { $0.slug == slug } }

    /// Whether `actor` may post on this board as seen from `committee`.
    /// Officers of a unit containing the committee may post announcements; the party corner is the secretary's alone.
    public func allowsPost(by actor: Actor, in committee: Committee) -> Bool {
        guard actor.status == .approved else { return false }
        if districtWide {
            return (actor.role == .districtOfficer && actor.unit == committee.district) || actor.role == .cityOfficer
        }
        if slug == "party" { return actor.role == .secretary && actor.committee == committee.id }
        if actor.role.isOfficer { return slug == "announcements" && actor.isStaff(of: committee) }
        guard actor.committee == committee.id else { return false }
        return openToMembers || posters.contains(actor.role)
    }
}
