import Foundation
import Governance
import Hummingbird
import Replication
import Storage

/// Private messages between a resident and the committee's cadres, as threads (the seeds' "24-hour secretary").
extension ResidentApp {
    func addMessageRoutes(to router: Router<ShequRequestContext>) {
        router.get("/app/messages") { request, context in try await page(request, context, member: true) { try await threadsPage($0) } }
        router.get("/app/messages/:mid") { request, context in
            try await page(request, context, member: true) { try await threadPage(try context.parameters.require("mid"), $0) }
        }
        router.post("/app/messages/:mid") { request, context in
            try await page(request, context, member: true) { frame in
                let to = try context.parameters.require("mid"), actor = frame.actor
                var request = request
                let text = try await Self.form(&request)["body"] ?? ""
                _ = try await store.write { tx in try tx.sendMessage(to: to, body: text, committee: actor.committee ?? "", by: actor) }
                return AppAssets.seeOther("/app/messages/\(to)")
            }
        }
    }

    /// The committee's cadres and secretary: whom a resident may write to, and @ on a board.
    static func cadres(of committee: String, in view: ReadView) throws -> [Member] {
        try view.members(committee: committee, status: .approved).filter { $0.role == .cadre || $0.role == .secretary }
    }

    func threadsPage(_ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let threads = try await store.read { view -> Value in
            let messages = try view.messages(for: actor.memberID)
            var latest: [String: Message] = [:]
            for message in messages {
                let other = message.from == actor.memberID ? message.to : message.from
                if latest[other].map({ $0.createdMillis < message.createdMillis }) ?? true { latest[other] = message }
            }
            // Everyone I have written with, newest first, then the cadres I have not written to yet.
            let people = try Self.people(Array(latest.keys), view)
            var rows: [Value] = latest.sorted { $0.value.createdMillis > $1.value.createdMillis }.map { other, message in
                .object(["id": .string(other), "by": people[other] ?? .null, "last": .string(String(message.body.prefix(60))),
                         "when": .string(Self.short(message.createdMillis))])
            }
            if !actor.isStaff(of: try view.requireCommittee(actor.committee ?? "")) {
                for cadre in try Self.cadres(of: actor.committee ?? "", in: view) where latest[cadre.id] == nil {
                    rows.append(.object(["id": .string(cadre.id), "by": .object(["displayName": .string(cadre.displayName),
                                                                                 "staff": .bool(true), "role": .string(cadre.role.label)])]))
                }
            }
            return .list(rows)
        }
        return render("messages", frame, tab: "me", live: "messages", ["threads": threads.mustache as Any])
    }

    func threadPage(_ other: String, _ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let thread = try await store.read { view -> Value in
            guard try view.member(other) != nil else { throw APIError.notFound("member \(other)") }
            let messages = try view.messages(for: actor.memberID).filter { $0.from == other || $0.to == other }.sorted { $0.createdMillis < $1.createdMillis }
            let people = try Self.people([other], view)
            return .object([
                "with": .string(other), "by": people[other] ?? .null,
                "messages": .list(messages.map { message in
                    .object(["body": .string(message.body), "mine": .bool(message.from == actor.memberID), "when": .string(Self.short(message.createdMillis))])
                }),
            ])
        }
        return render("thread", frame, tab: "me", live: "messages", ["thread": thread.mustache as Any])
    }
}
