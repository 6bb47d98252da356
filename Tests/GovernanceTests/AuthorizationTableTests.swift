import Governance
import Replication
import Testing

/// Authorization as a table: every role × action × scope, with the answer written out.
@Suite struct AuthorizationTableTests {
    static let home = Committee(id: "c-home", name: "本村", street: "s1", district: "d1")
    static let neighbour = Committee(id: "c-next", name: "邻村", street: "s1", district: "d1")
    static let elsewhere = Committee(id: "c-far", name: "远村", street: "s9", district: "d9")

    /// An approved actor of each role: committee roles in `home`, officers over s1 / d1 / the city.
    static func actor(_ role: Role) -> Actor {
        switch role {
        case .streetOfficer: Actor(memberID: "o-s", role: role, status: .approved, committee: nil, unit: "s1")
        case .districtOfficer: Actor(memberID: "o-d", role: role, status: .approved, committee: nil, unit: "d1")
        case .cityOfficer: Actor(memberID: "o-c", role: role, status: .approved, committee: nil, unit: nil)
        default: Actor(memberID: "m-\(role.rawValue)", role: role, status: .approved, committee: home.id, unit: nil)
        }
    }

    enum Action: String, CaseIterable {
        case read, manageMembers, postAnnouncement, postParty, postDeliberation, postProperty, postPolice, postDistrictSurvey
        case createPoll, vote, createTicket, acknowledgeTicket, createCampaign
    }

    /// Whether `actor` may do `action` in `committee`, asked of Governance itself.
    static func allowed(_ action: Action, _ actor: Actor, _ committee: Committee) -> Bool {
        let now: Int64 = 1_000
        func ok(_ body: () throws(GovernanceError) -> Void) -> Bool {
            do { try body(); return true } catch { return error.code != .forbidden }
        }
        let poll = Poll(EntityRecord(id: "v1", kind: .poll, scope: .committee(committee.id), cells: [
            "kind": cell(.string("proposal")), "options": cell(.strings(["a", "b"])), "closesAt": cell(.int(10_000)),
            "opensAt": cell(.int(0)), "maxChoices": cell(.int(1)), "title": cell(.string("t")),
        ]))!
        let ticket = Ticket(EntityRecord(id: "t1", kind: .ticket, scope: .committee(committee.id), cells: [
            "category": cell(.string("greening")), "title": cell(.string("t")), "reporter": cell(.string("someone")),
        ]), events: [])!
        func post(_ slug: String) -> Bool {
            ok { () throws(GovernanceError) in
                _ = try Post.create(PostInput(title: "t", body: "b"), board: Board.named(slug)!, in: committee, by: actor, id: "p") { _ in true }
            }
        }
        switch action {
        case .read: return actor.canRead(committee)
        case .manageMembers: return actor.isStaff(of: committee)
        case .postAnnouncement: return post("announcements")
        case .postParty: return post("party")
        case .postDeliberation: return post("deliberation")
        case .postProperty: return post("property")
        case .postPolice: return post("police")
        case .postDistrictSurvey: return post("district-survey")
        case .createPoll:
            return ok { () throws(GovernanceError) in
                _ = try Poll.create(PollInput(title: "t", kind: .proposal, options: ["a", "b"], maxChoices: 1, secret: false, opensAtMillis: 0, closesAtMillis: 10_000, quorum: 0),
                                    in: committee, by: actor, id: "v", nowMillis: now)
            }
        case .vote: return ok { () throws(GovernanceError) in _ = try poll.vote(["a"], in: committee, by: actor, id: "b", nowMillis: now, ballotSecret: BallotSecret([1, 2, 3])) }
        case .createTicket:
            return ok { () throws(GovernanceError) in
                _ = try Ticket.create(TicketInput(category: .greening, title: "t", description: "", photos: [], location: Location(address: "")), in: committee, by: actor, id: "t")
            }
        case .acknowledgeTicket:
            return ok { () throws(GovernanceError) in _ = try ticket.event(.acknowledge, note: "", assignee: nil, rating: nil, in: committee, by: actor, id: "e") }
        case .createCampaign:
            return ok { () throws(GovernanceError) in _ = try Campaign.create(title: "t", description: "", capacity: 3, startsAtMillis: nil, in: committee, by: actor, id: "cp") }
        }
    }

    static func cell(_ value: Value) -> Cell { Cell(value: value, stamp: WriteStamp(hlc: HLCTimestamp(millis: 1, counter: 0), origin: "n"), op: .add) }

    /// The expected answers in `home`; Y = allowed. Columns follow `Action.allCases`.
    static let expectedInHome: [Role: String] = [
        //                 read mgmt ann party delib prop police survey poll vote ticket ack camp
        .resident:        "Y    .    .   .     Y     .    .      .      .    Y    Y      .   .",
        .volunteer:       "Y    .    .   .     Y     .    .      .      .    Y    Y      .   .",
        .cadre:           "Y    Y    Y   .     Y     Y    Y      .      Y    Y    Y      Y   Y",
        .secretary:       "Y    Y    Y   Y     Y     Y    Y      .      Y    Y    Y      Y   Y",
        .property:        "Y    .    .   .     Y     Y    .      .      .    Y    Y      .   .",
        .owners:          "Y    .    .   .     Y     .    .      .      .    Y    Y      .   .",
        .police:          "Y    .    .   .     Y     .    Y      .      .    Y    Y      .   .",
        .doctor:          "Y    .    .   .     Y     .    .      .      .    Y    Y      .   .",
        .lawyer:          "Y    .    .   .     Y     .    .      .      .    Y    Y      .   .",
        .streetOfficer:   "Y    Y    Y   .     .     .    .      .      Y    .    Y      Y   Y",
        .districtOfficer: "Y    Y    Y   .     .     .    .      Y      Y    .    Y      Y   Y",
        .cityOfficer:     "Y    Y    Y   .     .     .    .      Y      Y    .    Y      Y   Y",
    ]

    @Test(arguments: Role.allCases)
    func homeCommittee(_ role: Role) {
        let expected = Self.expectedInHome[role]!.split(separator: " ").map { $0 == "Y" }
        for (action, want) in zip(Action.allCases, expected) {
            #expect(Self.allowed(action, Self.actor(role), Self.home) == want, "\(role.rawValue) \(action.rawValue) in home")
        }
    }

    @Test(arguments: Role.allCases)
    func otherCommittees(_ role: Role) {
        let actor = Self.actor(role)
        for action in Action.allCases {
            // A committee role has no power in a neighbouring committee; the street officer covers both of s1's;
            // the district officer all of d1; only the city officer reaches a committee of another district.
            let inNeighbour = Self.allowed(action, actor, Self.neighbour)
            let inHome = Self.allowed(action, actor, Self.home)
            #expect(inNeighbour == (role.isOfficer ? inHome : false), "\(role.rawValue) \(action.rawValue) in neighbour")
            let far = Self.allowed(action, actor, Self.elsewhere)
            #expect(far == (role == .cityOfficer ? inHome : false), "\(role.rawValue) \(action.rawValue) elsewhere")
        }
    }

    @Test func pendingAndRejectedMembersMayDoNothing() {
        for status in [MemberStatus.pending, .rejected] {
            var actor = Self.actor(.cadre)
            actor.status = status
            for action in Action.allCases {
                #expect(!Self.allowed(action, actor, Self.home), "\(status) \(action)")
            }
        }
    }
}
