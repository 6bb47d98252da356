import Governance
import Replication

/// Members: a resident joins with the committee's code and waits for a cadre; cadres decide; members set their badges;
/// staff are appointed by the node that hosts them.
extension WriteTransaction {
    /// 扫码登记: a resident's application. With `joinCode`, it must match the committee's code on this node (only the
    /// committee's own street node hosts it); seeding passes nil. The real name, phone and room stay on this node
    /// (`residents`); what replicates is a masked member with a household pseudonym. Returns the new member, pending.
    public mutating func join(_ application: JoinApplication, committee committeeID: String, checkingCode joinCode: String?) throws -> Member {
        let committee = try view.requireCommittee(committeeID)
        if let joinCode {
            guard let code = try view.joinCode(committee: committeeID) else {
                throw GovernanceError(.conflict, "not_hosted", "committee \(committeeID) is joined at its own street node")
            }
            guard Self.constantTimeEqual(code, joinCode.uppercased()) else {
                throw GovernanceError(.forbidden, "wrong_join_code", "the join code does not match this committee")
            }
        }
        let year = ShanghaiCalendar.year(ofMillis: nowMillis)
        let clean = try application.validated(currentYear: year)
        let id = mintID(.member)
        try append(Member.join(clean, committee: committee, id: id, household: Member.household(committee: committeeID, application: clean),
                               currentYear: year))
        try saveResident(member: id, committee: committeeID, application: clean)
        return try view.member(id)!
    }

    /// A cadre approves or rejects a member of their committee; deciding what is already decided writes nothing.
    public mutating func decideMember(_ memberID: String, _ status: MemberStatus, committee committeeID: String, by actor: Actor) throws -> Member {
        let committee = try view.requireCommittee(committeeID)
        try actor.requireStaff(committee)
        guard let member = try view.member(memberID), member.committee == committeeID else { throw GovernanceError.notFound("member \(memberID)") }
        if member.status == status { return member }
        try append(try member.decide(status, by: actor, in: committee))
        return try view.member(memberID)!
    }

    /// A member shows (or hides) their 党员 and 志愿者 badges.
    public mutating func setBadges(partyMember: Bool?, volunteer: Bool?, by actor: Actor) throws -> Member {
        guard let committeeID = actor.committee else { throw GovernanceError.forbidden("officers have no badges") }
        let committee = try view.requireCommittee(committeeID)
        guard let me = try view.member(actor.memberID) else { throw GovernanceError.notFound("member \(actor.memberID)") }
        try append(try me.setBadges(partyMember: partyMember, volunteer: volunteer, by: actor, in: committee))
        return try view.member(actor.memberID)!
    }

    /// Appoints staff (a cadre, a secretary, an officer) written by the node that hosts them.
    @discardableResult
    public mutating func appointStaff(id: String, role: Role, displayName: String, committee: String?, unit: String?, scope: Scope) throws -> Member {
        try append(Member.staff(id: id, role: role, displayName: displayName, committee: committee, unit: unit, scope: scope, author: store.nodeID))
        return try view.member(id)!
    }

    /// Compares in time independent of where the strings differ (join codes).
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
