import Foundation
import Governance
import Hummingbird
import Replication
import Storage

/// The cadre's side of the same app (工作台), for the committee's cadres and secretary: members awaiting approval with
/// their building and room; open tickets due first, overdue ones marked; @-mentions and private messages awaiting an
/// answer; polls to open and close; campaign rosters; calling a queue's numbers; flagged posts to hide. And everyone's
/// inbox (`/app/inbox`). Each form is one command of the command layer, then back to the desk.
extension ResidentApp {
    func addWorkRoutes(to router: Router<ShequRequestContext>) {
        router.get("/app/inbox") { request, context in try await page(request, context, member: true) { try await inboxPage($0) } }
        router.post("/app/inbox/read") { request, context in
            try await page(request, context, member: true) { frame in
                _ = try await store.markNotificationsRead(member: frame.member!, all: true)
                return AppAssets.seeOther("/app/inbox")
            }
        }
        router.get("/app/work") { request, context in try await page(request, context, member: true) { try await workPage($0) } }
        workAction(router, "/app/work/members/:id/:decision", anchor: "members") { tx, p, _, actor in
            guard let status = ["approve": MemberStatus.approved, "reject": .rejected][p["decision"] ?? ""] else { throw APIError.notFound("decision") }
            _ = try tx.decideMember(p["id"] ?? "", status, committee: actor.committee ?? "", by: actor)
        }
        workAction(router, "/app/work/tickets/:id/:type", anchor: "tickets") { tx, p, form, actor in
            guard let type = TicketEventType(rawValue: p["type"] ?? ""), [.acknowledge, .start, .escalate, .resolve].contains(type) else {
                throw APIError.notFound("ticket action")
            }
            _ = try tx.ticketEvent(type, ticket: p["id"] ?? "", note: form["note"] ?? "", by: actor)
        }
        workAction(router, "/app/work/polls", anchor: "polls") { tx, _, form, actor in
            let options = (form["options"] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard let days = Int(form["days"] ?? "7"), (1...90).contains(days) else { throw GovernanceError.invalid("days", "1 to 90 days") }
            let now = tx.nowMillis
            _ = try tx.createPoll(PollInput(title: form["title"] ?? "", kind: .consultation, options: options, maxChoices: 1, secret: false,
                                            opensAtMillis: now, closesAtMillis: now + Int64(days) * 86_400_000, quorum: 0),
                                  committee: actor.committee ?? "", by: actor)
        }
        workAction(router, "/app/work/polls/:id/close", anchor: "polls") { tx, p, _, actor in _ = try tx.closePoll(p["id"] ?? "", by: actor) }
        workAction(router, "/app/work/queues/:id/call", anchor: "queues") { tx, p, _, actor in
            guard try tx.callNext(queue: p["id"] ?? "", by: actor) != nil else { throw APIError(.conflict, "queue_empty", "no number is waiting") }
        }
        workAction(router, "/app/work/queues/:id/numbers/:number/:state", anchor: "queues") { tx, p, _, actor in
            guard let number = Int(p["number"] ?? ""), let state = BookingState(rawValue: p["state"] ?? "") else { throw APIError.notFound("number") }
            _ = try tx.markBooking(queue: p["id"] ?? "", number: number, state, by: actor)
        }
        workAction(router, "/app/work/hide/:id", anchor: "flags") { tx, p, form, actor in
            try tx.hide(p["id"] ?? "", reason: form["reason"] ?? "", by: actor)
        }
    }

    /// A form on the desk: one write by the signed-in cadre, with the path's parameters and the form's fields, then back
    /// to the desk's section.
    func workAction(_ router: Router<ShequRequestContext>, _ path: String, anchor: String,
                    _ write: @escaping @Sendable (inout WriteTransaction, [String: String], FormBody, Actor) throws -> Void) {
        router.post(RouterPath(path)) { request, context in
            try await page(request, context, member: true) { frame in
                guard frame.isCommitteeStaff else { throw APIError.forbidden(frame.name("staffOnly")) }
                var request = request
                let form = try await Self.form(&request)
                var collected: [String: String] = [:]
                for (key, value) in context.parameters { collected[String(key)] = String(value) }
                let parameters = collected, actor = frame.actor
                try await store.write { tx in try write(&tx, parameters, form, actor) }
                return AppAssets.seeOther("/app/work#\(anchor)")
            }
        }
    }

    // MARK: - The inbox

    func inboxPage(_ frame: Frame) async throws -> Response {
        let member = frame.member!
        let items = try await store.read { view -> Value in
            .list(try view.notifications(for: member, limit: 100).map { n in
                var row = try Representation.notification(n, view: view).object ?? [:]
                row["href"] = .string(Self.link(for: n))
                row["what"] = .string(frame.name("reason.\(n.reason.rawValue)") + (n.detail.map { " · " + frame.name("detail.\($0)") } ?? ""))
                row["when"] = .string(Self.short(n.createdMillis))
                row["unread"] = .bool(!n.read)
                if row["actorName"] == nil { row["actorName"] = .string(n.actor == Ticket.systemActor ? frame.name("system") : "") }
                return .object(row)
            })
        }
        return render("inbox", frame, tab: "inbox", live: "inbox", ["items": items.mustache as Any])
    }

    /// Where a notification opens.
    static func link(for n: InboxNotification) -> String {
        switch n.reason {
        case .mention, .reply: "/app/posts/\(n.subject)"
        case .message: "/app/messages"
        case .ticket, .overdue: "/app/tickets/\(n.subject)"
        case .approved: "/app"
        case .poll: "/app/polls/\(n.subject)"
        case .signupConfirmed: "/app/campaigns/\(n.subject)"
        case .queue: "/app/queues/\(n.subject)"
        }
    }

    // MARK: - The desk

    func workPage(_ frame: Frame) async throws -> Response {
        guard frame.isCommitteeStaff else { throw APIError.forbidden(frame.name("staffOnly")) }
        let actor = frame.actor, cid = actor.committee ?? ""
        let values = try await store.read { view -> [String: Value] in
            let now = view.nowMillis
            // Members awaiting approval, with where they live (held on this street only).
            let pending = Value.list(try view.members(committee: cid, status: .pending).map { m in
                let resident = try view.resident(m.id)
                return .object(["id": .string(m.id), "displayName": .string(m.displayName), "realName": .optional(resident?.realName),
                                "building": .optional(resident?.building), "room": .optional(resident?.room), "when": .string(Self.short(m.joinedMillis))])
            })
            // Open tickets, due first (a ticket is due a fixed time after it was made): overdue ones lead.
            let open = try view.tickets(committee: cid, limit: 500).filter { $0.stage.isOpen }.sorted { ($0.dueMillis, $0.id) < ($1.dueMillis, $1.id) }
            let tickets = Value.list(open.prefix(100).map { t in
                .object([
                    "id": .string(t.id), "title": .string(t.title), "stageName": .string(frame.name("stage.\(t.stage.rawValue)")),
                    "levelName": .string(frame.name("level.\(t.level.name)")), "due": .string(Self.short(t.dueMillis)),
                    "overdue": .bool(t.isOverdue(nowMillis: now)), "mayAcknowledge": .bool(t.stage == .submitted),
                    "mayEscalate": .bool(t.level < .district), "mayResolve": .bool(true),
                ])
            })
            // @-mentions of me not yet answered on their thread, and threads whose last word is a resident's.
            let mentions = Value.list(try view.mentions(of: actor.memberID).filter { post in
                try !post.deleted && !view.comments(post: post.id).contains { $0.author == actor.memberID && $0.createdMillis >= post.createdMillis }
            }.map { .object(["id": .string($0.id), "title": .string($0.title), "when": .string(Self.short($0.createdMillis))]) })
            let messages = try view.messages(for: actor.memberID)
            let threads = Dictionary(grouping: messages) { $0.from == actor.memberID ? $0.to : $0.from }
            let waiting = Value.list(try threads.compactMap { other, thread -> (Int64, Value)? in
                guard let last = thread.max(by: { $0.createdMillis < $1.createdMillis }), last.from == other else { return nil }
                let name = try view.member(other)?.displayName ?? other
                return (last.createdMillis, .object(["with": .string(other), "name": .string(name), "body": .string(String(last.body.prefix(60))),
                                                      "when": .string(Self.short(last.createdMillis))]))
            }.sorted { $0.0 < $1.0 }.map(\.1))
            let polls = Value.list(try view.polls(committee: cid).filter { !$0.isClosed(nowMillis: now) }.map { p in
                .object(["id": .string(p.id), "title": .string(p.title), "closes": .string(Self.short(p.closesAtMillis))])
            })
            let campaigns = Value.list(try view.campaigns(committee: cid, limit: 20).map { c in
                let standings = c.standings(try view.signups(campaign: c.id))
                let names = try Self.people(standings.map(\.member), view)
                return .object(["id": .string(c.id), "title": .string(c.title), "capacity": .int(Int64(c.capacity)),
                                "roster": .list(standings.prefix(50).map { s in
                                    .object(["position": .int(Int64(s.position)), "name": names[s.member]?["displayName"] ?? .string("—"),
                                             "confirmed": .bool(s.confirmed)])
                                })])
            })
            let queues = Value.list(try view.queues(committee: cid, limit: 20).map { q in
                let numbers = try view.bookings(queue: q.id)
                let names = try Self.people(numbers.map(\.member), view)
                let called = numbers.last { $0.state == .called && !$0.cancelled }
                return .object([
                    "id": .string(q.id), "title": .string(q.title),
                    "waiting": .int(Int64(numbers.filter { $0.state == nil && !$0.cancelled }.count)),
                    "called": called.map { b in .object(["number": .int(Int64(b.number)), "name": names[b.member]?["displayName"] ?? .string("—")]) } ?? .null,
                    "numbers": .list(numbers.suffix(30).map { b in
                        .object(["number": .int(Int64(b.number)), "name": names[b.member]?["displayName"] ?? .string("—"),
                                 "stateName": .string(frame.name("booking.\(b.cancelled ? "cancelled" : b.state?.rawValue ?? "waiting")"))])
                    }),
                ])
            })
            let flags = Value.list(try view.flaggedItems(committee: cid, limit: 30).map { item in
                let record = try view.record(item.entity)
                let post = item.kind == .comment ? record?["post"].string ?? "" : item.entity
                return .object(["id": .string(item.entity), "post": .string(post), "flags": .int(Int64(item.flags)),
                                "text": .string(record?["title"].string ?? String((record?["body"].string ?? "").prefix(60))),
                                "reasons": .string(item.reasons.joined(separator: "、"))])
            })
            return ["pending": pending, "tickets": tickets, "mentions": mentions, "waiting": waiting, "openPolls": polls,
                    "campaigns": campaigns, "queues": queues, "flags": flags]
        }
        return render("work", frame, tab: "work", live: "committee", values.mapValues { $0.mustache as Any })
    }
}
