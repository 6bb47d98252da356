import Foundation
import Governance
import HTTPTypes
import Hummingbird
import Replication
import Storage

/// Moderation: members flag posts and comments; the committee's cadres and the officers over it see the flags, hide a
/// post or comment (it replicates as hidden, with the reason; staff still see it), lock a thread, and suspend a
/// member's posting for a time. Every act is in the audit list (`GET /v1/moderation`) on the street, the district and
/// the city.
extension APIServer {
    func addModerationRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store

        // Flag (PUT, with a reason) or take the flag back (DELETE); hide (PUT, with a reason) or show again (DELETE).
        // (A post's path parameter is `pid`, as in the boards' routes: one name per position of the path.)
        for (collection, parameter) in [("posts", "pid"), ("comments", "id")] {
            for (method, on) in [(HTTPRequest.Method.put, true), (.delete, false)] {
                router.on(RouterPath("/v1/\(collection)/:\(parameter)/flag"), method: method) { request, context in
                    let id = try context.parameters.require(parameter)
                    let actor = try context.requireActor()
                    let reason = on ? try await JSONBody.read(request).string("reason") : nil
                    try await store.write { tx in try tx.flag(id, reason: reason, by: actor) }
                    return Response(status: .noContent)
                }
                router.on(RouterPath("/v1/\(collection)/:\(parameter)/hidden"), method: method) { request, context in
                    let id = try context.parameters.require(parameter)
                    let actor = try context.requireActor()
                    let reason = on ? try await JSONBody.read(request).string("reason") : nil
                    try await store.write { tx in try tx.hide(id, reason: reason, by: actor) }
                    return Response(status: .noContent)
                }
            }
        }
        for (method, on) in [(HTTPRequest.Method.put, true), (.delete, false)] {
            router.on("/v1/posts/:pid/lock", method: method) { _, context in
                let id = try context.parameters.require("pid")
                let actor = try context.requireActor()
                let post = try await store.write { tx in try tx.lock(post: id, on, by: actor) }
                return JSONResponse.make(.object(["post": .string(post.id), "locked": .bool(post.locked)]))
            }
        }

        router.put("/v1/committees/:cid/members/:mid/suspension") { request, context in
            let cid = try context.parameters.require("cid"), mid = try context.parameters.require("mid")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let until = try body.time("until"), reason = try body.string("reason")
            let member = try await store.write { tx in try tx.suspend(member: mid, until: until, reason: reason, committee: cid, by: actor) }
            return JSONResponse.make(Representation.suspension(member))
        }
        router.delete("/v1/committees/:cid/members/:mid/suspension") { _, context in
            let cid = try context.parameters.require("cid"), mid = try context.parameters.require("mid")
            let actor = try context.requireActor()
            let member = try await store.write { tx in try tx.suspend(member: mid, until: nil, reason: "", committee: cid, by: actor) }
            return JSONResponse.make(Representation.suspension(member))
        }

        // The committee's flagged posts and comments, neither hidden nor deleted, most flagged first (its staff).
        router.get("/v1/committees/:cid/flags") { request, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let limit = try Page.limit(request.uri.queryParameters.get("limit"), default: 50, max: Page.maxLimit)
            let value = try await store.read { view -> Value in
                let committee = try view.requireCommittee(cid)
                try actor.requireStaff(committee)
                return .object(["items": .list(try view.flaggedItems(committee: cid, limit: limit).map { item in
                    let record = try view.record(item.entity)
                    return .object([
                        "entity": .string(item.entity), "kind": .string(item.kind.rawValue), "flags": .int(Int64(item.flags)),
                        "reasons": .strings(item.reasons), "latestAt": .string(Time.format(item.latestMillis)),
                        "author": .optional(record?["author"].string), "post": .optional(item.kind == .comment ? record?["post"].string : item.entity),
                        "title": .optional(record?["title"].string), "body": .string(String((record?["body"].string ?? "").prefix(200))),
                    ])
                })])
            }
            return JSONResponse.make(value)
        }

        // The audit list: every moderation act in what the reader oversees — a cadre's committee, an officer's street,
        // district or the city — newest first.
        router.get("/v1/moderation") { request, context in
            let actor = try context.requireActor()
            let scope = try Self.oversight(of: actor, "the moderation list is for cadres and officers")
            let query = request.uri.queryParameters
            let limit = try Page.limit(query.get("limit"), default: 50, max: Page.maxLimit)
            let before = try query.get("before").map { try Time.parse(String($0), field: "before") }
            let value = try await store.read { view -> Value in
                let acts = try view.moderationActs(scope: scope, beforeMillis: before, limit: limit)
                return .object([
                    "items": .list(acts.map { act in
                        .object([
                            "action": .string(act.action), "at": .string(Time.format(act.atMillis)), "actor": .string(act.actor),
                            "committee": .optional(act.committee), "kind": .string(act.kind.rawValue), "entity": .string(act.entity),
                            "reason": .string(act.reason), "detail": .optional(act.detail), "id": .string("\(act.origin)#\(act.seq)"),
                        ])
                    }),
                    "nextBefore": acts.count == limit ? acts.last.map { .string(Time.format($0.atMillis)) } ?? .null : .null,
                ])
            }
            return JSONResponse.make(value)
        }
    }
}

extension Representation {
    static func suspension(_ m: Member) -> Value {
        .object(["member": .string(m.id), "suspendedUntil": Time.value(m.suspendedUntilMillis), "reason": .string(m.suspendReason)])
    }
}
