import Foundation
import Governance
import Hummingbird
import Replication
import Storage

/// Bearer token rotation, a member's browser sessions, and the one-time sign-in code a cadre issues to a member who
/// lost their phone.
extension APIServer {
    func addAccessRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store
        let identity = self.identity

        // Rotation: the holder of a token gets a new one; the old one ends 10 minutes later.
        router.post("/v1/me/token") { request, context in
            _ = try context.requireActor()
            guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
                throw APIError(.badRequest, "bearer_required", "rotate a token by sending it as the bearer token")
            }
            let old = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
            guard let (token, expires) = try await store.rotateToken(old) else { throw APIError.unauthorized }
            return JSONResponse.make(.object(["token": .string(token), "expiresAt": .string(Time.format(expires))]), status: .created)
        }

        router.get("/v1/me/sessions") { _, context in
            let actor = try context.requireActor()
            let sessions = try await store.sessions(member: actor.memberID)
            return JSONResponse.make(.object(["items": .list(sessions.map { Representation.session($0, current: context.session?.id) })]))
        }

        router.delete("/v1/me/sessions/:sid") { _, context in
            let actor = try context.requireActor()
            let sid = try context.parameters.require("sid")
            guard try await store.endSession(id: sid, member: actor.memberID) else { throw APIError.notFound("session \(sid)") }
            return Response(status: .noContent)
        }

        // A cadre issues a one-time code for a member of their committee (same member id: their history stays theirs).
        router.post("/v1/committees/:cid/members/:mid/sign-in-code") { _, context in
            let cid = try context.parameters.require("cid")
            let mid = try context.parameters.require("mid")
            let actor = try context.requireActor()
            let member = try await store.read { try $0.member(mid) }
            guard let member, member.committee == cid else { throw APIError.notFound("member \(mid)") }
            let (code, expires) = try await store.issueSignInCode(member: mid, by: actor)
            return JSONResponse.make(.object([
                "code": .string(code), "url": .string("\(identity.publicURL)/app/sign-in?code=\(code)"),
                "expiresAt": .string(Time.format(expires)),
            ]), status: .created)
        }
    }
}

extension Representation {
    static func session(_ session: SessionInfo, current: String?) -> Value {
        .object([
            "id": .string(session.id), "createdAt": .string(Time.format(session.createdMillis)),
            "lastSeenAt": .string(Time.format(session.lastSeenMillis)), "expiresAt": .string(Time.format(session.expiresMillis)),
            "agent": .string(session.agent), "current": .bool(session.id == current),
        ])
    }
}
