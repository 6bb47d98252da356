import Foundation
import Governance
import Hummingbird
import Replication
import Storage

extension APIServer {
    func addMemberRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store
        let identity = self.identity

        router.get("/v1/committees") { _, _ in
            let committees = try await store.read { try $0.committees() }
            return JSONResponse.make(.object(["items": .list(committees.map(Representation.committee))]))
        }

        router.get("/v1/me") { _, context in
            let actor = try context.requireActor()
            let resident = try await store.read { try $0.resident(actor.memberID) }
            var body = Representation.member(context.member!).object!
            if let resident {
                body["personal"] = .object(["realName": .string(resident.realName), "phone": .string(resident.phone),
                                            "building": .string(resident.building), "room": .string(resident.room),
                                            "birthYear": .int(Int64(resident.birthYear))])
            }
            return JSONResponse.make(.object(body))
        }

        // 扫码登记: join with the committee's code; pending until a cadre approves.
        router.post("/v1/committees/:cid/join") { request, context in
            let cid = try context.parameters.require("cid")
            let body = try await JSONBody.read(request)
            let application = JoinApplication(
                joinCode: try body.string("joinCode"), realName: try body.string("realName"), phone: try body.string("phone"),
                building: try body.string("building"), room: try body.string("room"), birthYear: try body.int("birthYear"),
                partyMember: try body.bool("partyMember", default: false))
            let (memberID, token) = try await store.write { tx in
                let committee = try tx.view.requireCommittee(cid)
                guard let code = try tx.view.joinCode(committee: cid) else {
                    throw APIError(.conflict, "not_hosted", "committee \(cid) is joined at its own street node")
                }
                guard Self.constantTimeEqual(code, application.joinCode.uppercased()) else {
                    throw APIError(.forbidden, "wrong_join_code", "the join code does not match this committee")
                }
                let year = ShanghaiCalendar.year(ofMillis: tx.nowMillis)
                let clean = try domain { () throws(GovernanceError) in try application.validated(currentYear: year) }
                let id = tx.mintID(.member)
                let household = String(Digest.hex(of: "\(cid)|\(clean.building)|\(clean.room)").prefix(16))
                try tx.append(Member.join(clean, committee: committee, id: id, household: household, currentYear: year))
                try tx.saveResident(member: id, committee: cid, application: clean)
                return (id, try tx.issueToken(member: id))
            }
            return JSONResponse.make(.object(["memberId": .string(memberID), "token": .string(token), "status": .string("pending")]), status: .accepted)
        }

        router.get("/v1/committees/:cid/join-code") { _, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let code = try await Self.hostedJoinCode(cid, for: actor, in: store)
            return JSONResponse.make(.object(["joinCode": .string(code), "joinUrl": .string(Self.joinURL(identity, cid, code))]))
        }

        router.get("/v1/committees/:cid/qr") { _, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let code = try await Self.hostedJoinCode(cid, for: actor, in: store)
            guard let svg = QRCode.svg(for: Self.joinURL(identity, cid, code)) else {
                throw APIError(.internalServerError, "qr_failed", "the QR code could not be made")
            }
            var headers = HTTPFields()
            headers[.contentType] = "image/svg+xml"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: .init(string: svg)))
        }

        router.get("/v1/committees/:cid/members") { request, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let page = try Page(request)
            let statusText = request.uri.queryParameters.get("status")
            let status = statusText.flatMap(MemberStatus.init(rawValue:))
            if statusText != nil, status == nil { throw APIError.invalid("status", "pending, approved or rejected") }
            let members = try await store.read { view -> [Member] in
                try actor.requireStaff(try view.requireCommittee(cid))
                return try view.members(committee: cid, status: status, limit: page.limit,
                                        beforeCreated: page.before)
            }
            // Members are listed oldest first; the cursor continues after the last one.
            return JSONResponse.make(page.envelope(members.map(Representation.member), lastCreated: members.last.map { Int64($0.created.rawValue) }))
        }

        for decision in ["approve", "reject"] {
            router.post("/v1/committees/:cid/members/:mid/\(decision)") { _, context in
                let cid = try context.parameters.require("cid")
                let mid = try context.parameters.require("mid")
                let actor = try context.requireActor()
                let member = try await store.write { tx -> Member in
                    let committee = try tx.view.requireCommittee(cid)
                    try actor.requireStaff(committee)
                    guard let member = try tx.view.member(mid), member.committee == cid else { throw APIError.notFound("member \(mid)") }
                    let status: MemberStatus = decision == "approve" ? .approved : .rejected
                    if member.status == status { return member }
                    try tx.append(try domain { () throws(GovernanceError) in try member.decide(status, by: actor, in: committee) })
                    return try tx.view.member(mid)!
                }
                return JSONResponse.make(Representation.member(member))
            }
        }

        router.patch("/v1/me/badges") { request, context in
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let partyMember = try body.optionalBool("partyMember")
            let volunteer = try body.optionalBool("volunteer")
            let member = try await store.write { tx -> Member in
                guard let cid = actor.committee else { throw APIError.forbidden("officers have no badges") }
                let committee = try tx.view.requireCommittee(cid)
                let me = try tx.view.member(actor.memberID)!
                try tx.append(try domain { () throws(GovernanceError) in
                    try me.setBadges(partyMember: partyMember, volunteer: volunteer, by: actor, in: committee)
                })
                return try tx.view.member(actor.memberID)!
            }
            return JSONResponse.make(Representation.member(member))
        }
    }

    /// The join code of a committee this node hosts, for its staff; 409 on a node that only replicates it.
    static func hostedJoinCode(_ cid: String, for actor: Actor, in store: Store) async throws -> String {
        try await store.read { view -> String in
            try actor.requireStaff(try view.requireCommittee(cid))
            guard let code = try view.joinCode(committee: cid) else { throw APIError(.conflict, "not_hosted", "committee \(cid) is not hosted here") }
            return code
        }
    }

    static func joinURL(_ identity: NodeIdentity, _ committee: String, _ code: String) -> String {
        "\(identity.publicURL)/join?committee=\(committee)&code=\(code)"
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
