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
                                            "birthYear": resident.birthYear > 0 ? .int(Int64(resident.birthYear)) : .null])
            }
            return JSONResponse.make(.object(body))
        }

        // 扫码登记: join with the committee's code; pending until a cadre approves.
        router.post("/v1/committees/:cid/join") { request, context in
            let cid = try context.parameters.require("cid")
            let body = try await JSONBody.read(request)
            let application = JoinApplication(
                joinCode: try body.string("joinCode"), realName: try body.string("realName"), phone: try body.string("phone"),
                building: try body.string("building"), room: try body.string("room"), birthYear: try body.optionalInt("birthYear"),
                partyMember: try body.bool("partyMember", default: false))
            let (memberID, token) = try await store.write { tx in
                let member = try tx.join(application, committee: cid, checkingCode: application.joinCode)
                return (member.id, try tx.issueToken(member: member.id))
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
                                        after: page.after)
            }
            // Members are listed oldest first; the cursor continues after the last one.
            return JSONResponse.make(page.envelope(members.map(Representation.member), last: members.last.map { PageCursor(created: Int64($0.created.rawValue), id: $0.id) }))
        }

        for decision in ["approve", "reject"] {
            router.post("/v1/committees/:cid/members/:mid/\(decision)") { _, context in
                let cid = try context.parameters.require("cid")
                let mid = try context.parameters.require("mid")
                let actor = try context.requireActor()
                let member = try await store.write { tx in
                    try tx.decideMember(mid, decision == "approve" ? .approved : .rejected, committee: cid, by: actor)
                }
                return JSONResponse.make(Representation.member(member))
            }
        }

        router.patch("/v1/me/badges") { request, context in
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let partyMember = try body.optionalBool("partyMember")
            let volunteer = try body.optionalBool("volunteer")
            let member = try await store.write { tx in try tx.setBadges(partyMember: partyMember, volunteer: volunteer, by: actor) }
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
}
