import Foundation
import Governance
import Hummingbird
import Replication
import Storage

/// A member's inbox (`Inbox` in Storage): mentions, replies, private messages, their tickets' steps, their approval,
/// new polls, campaign places, queue calls and, for street officers, overdue tickets. The live side is the event
/// stream (`event: notification`, Routes+Events.swift).
extension APIServer {
    func addNotificationRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store

        router.get("/v1/me/notifications") { request, context in
            let actor = try context.requireActor()
            let query = request.uri.queryParameters
            let limit = try Page.limit(query.get("limit"), default: 50, max: Page.maxLimit)
            let before = try query.get("cursor").map { text in
                guard let number = Int64(text), number > 0 else { throw APIError.invalid("cursor", "not a cursor this server issued") }
                return number
            }
            let unreadOnly = try query.get("unread").map { text in
                guard let flag = Bool(text) else { throw APIError.invalid("unread", "true or false") }
                return flag
            } ?? false
            let value = try await store.read { view -> Value in
                guard let member = try view.member(actor.memberID) else { throw APIError(.notFound, "not_found", "no such member") }
                let items = try view.notifications(for: member, before: before, unreadOnly: unreadOnly, limit: limit)
                return .object([
                    "items": .list(try items.map { try Representation.notification($0, view: view) }),
                    "unread": .int(Int64(try view.unreadNotifications(for: member))),
                    "nextCursor": items.count == limit ? items.last.map { .string(String($0.number)) } ?? .null : .null,
                ])
            }
            return JSONResponse.make(value)
        }

        // Marks notifications read: `numbers`, everything about a `subject` (the page the member opened), or `all`.
        router.post("/v1/me/notifications/read") { request, context in
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let numbers = try body.optionalNumbers("numbers")
            let subject = try body.optionalString("subject")
            let all = try body.bool("all", default: false)
            guard !numbers.isEmpty || subject != nil || all else { throw APIError.invalid("numbers", "name numbers, a subject, or all: true") }
            guard numbers.count <= 500 else { throw APIError.invalid("numbers", "at most 500") }
            guard let member = try await store.read({ try $0.member(actor.memberID) }) else { throw APIError(.notFound, "not_found", "no such member") }
            let unread = try await store.markNotificationsRead(member: member, numbers: numbers, subject: subject, all: all)
            return JSONResponse.make(.object(["unread": .int(Int64(unread))]))
        }
    }
}

extension Representation {
    /// A notification with what a page needs to show it: who, about what (the subject's title), and where it opens.
    static func notification(_ n: InboxNotification, view: ReadView) throws -> Value {
        var body: [String: Value] = [
            "number": .int(n.number), "id": .string(n.id), "reason": .string(n.reason.rawValue), "entity": .string(n.entity),
            "subject": .string(n.subject), "actor": .string(n.actor), "committee": .optional(n.committee), "detail": .optional(n.detail),
            "createdAt": .string(Time.format(n.createdMillis)), "read": .bool(n.read),
        ]
        if n.actor != Ticket.systemActor, let name = try view.cellValue(entity: n.actor, field: "displayName")?.string { body["actorName"] = .string(name) }
        if let title = try view.cellValue(entity: n.subject, field: "title")?.string { body["title"] = .string(title) }
        return .object(body)
    }
}
