import Foundation
import Governance
import Hummingbird
import Replication
import Storage

/// 议事: topics carried through seven stages; volunteer campaigns; appointment queues.
extension ResidentApp {
    func addCommunityRoutes(to router: Router<ShequRequestContext>) {
        router.get("/app/topics") { request, context in try await page(request, context, member: true) { try await topicsPage($0, error: nil, status: .ok) } }
        router.post("/app/topics") { request, context in try await page(request, context, member: true) { try await proposeTopic(request, $0) } }
        router.get("/app/topics/:id") { request, context in
            try await page(request, context, member: true) { try await topicPage(try context.parameters.require("id"), $0) }
        }
        router.post("/app/topics/:id/support") { request, context in
            try await page(request, context, member: true) { frame in
                let id = try context.parameters.require("id"), actor = frame.actor
                var request = request
                let on = try await Self.form(&request)["on"] != "false"
                _ = try await store.write { tx in try tx.supportTopic(id, on, by: actor) }
                return AppAssets.seeOther("/app/topics/\(id)")
            }
        }
        router.get("/app/campaigns") { request, context in try await page(request, context, member: true) { try await campaignsPage($0) } }
        router.get("/app/campaigns/:id") { request, context in
            try await page(request, context, member: true) { try await campaignPage(try context.parameters.require("id"), $0) }
        }
        formAction(router, "/app/campaigns/:id/signup", back: "/app/campaigns") { tx, id, actor in _ = try tx.signUp(campaign: id, by: actor) }
        formAction(router, "/app/campaigns/:id/cancel", back: "/app/campaigns") { tx, id, actor in try tx.cancelSignup(campaign: id, by: actor) }
        router.get("/app/queues") { request, context in try await page(request, context, member: true) { try await queuesPage($0) } }
        router.get("/app/queues/:id") { request, context in
            try await page(request, context, member: true) { try await queuePage(try context.parameters.require("id"), $0) }
        }
        formAction(router, "/app/queues/:id/book", back: "/app/queues") { tx, id, actor in _ = try tx.book(queue: id, by: actor) }
        formAction(router, "/app/queues/:id/cancel", back: "/app/queues") { tx, id, actor in try tx.cancelBooking(queue: id, by: actor) }
    }

    /// A form that makes one write about the entity in the path (`:id`) as the signed-in member, then shows it again.
    func formAction(_ router: Router<ShequRequestContext>, _ path: String, back: String,
                    _ write: @escaping @Sendable (inout WriteTransaction, String, Actor) throws -> Void) {
        router.post(RouterPath(path)) { request, context in
            try await page(request, context, member: true) { frame in
                let id = try context.parameters.require("id"), actor = frame.actor
                try await store.write { tx in try write(&tx, id, actor) }
                return AppAssets.seeOther("\(back)/\(id)")
            }
        }
    }

    // MARK: - Topics

    func topicsPage(_ frame: Frame, error: String?, status: HTTPResponse.Status) async throws -> Response {
        let actor = frame.actor
        let topics = try await store.read { view -> Value in
            .list(try view.topics(committee: actor.committee ?? "").map { topic in
                .object(["id": .string(topic.id), "title": .string(topic.title), "stageName": .string(frame.name("topicStage.\(topic.stage.rawValue)")),
                         "when": .string(Self.short(topic.createdMillis))])
            })
        }
        var values: [String: Any] = ["topics": topics.mustache as Any]
        if let error { values["error"] = error }
        return render("topics", frame, tab: "home", live: "topics", status: status, values)
    }

    func proposeTopic(_ request: Request, _ frame: Frame) async throws -> Response {
        var request = request
        let form = try await Self.form(&request)
        let actor = frame.actor
        do {
            let topic = try await store.write { tx in
                try tx.proposeTopic(title: form["title"] ?? "", description: form["description"] ?? "", category: nil, committee: actor.committee ?? "", by: actor)
            }
            return AppAssets.seeOther("/app/topics/\(topic.id)")
        } catch let error as GovernanceError where error.code == .invalid {
            return try await topicsPage(frame, error: error.message, status: .unprocessableContent)
        }
    }

    func topicPage(_ id: String, _ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let topicValue = try await store.read { view -> Value in
            _ = try Self.readable(id, .topic, by: actor, in: view)
            guard let topic = try view.topic(id) else { throw APIError.notFound("topic \(id)") }
            let people = try Self.people([topic.author] + topic.history.map(\.actor), view)
            return .object([
                "id": .string(topic.id), "title": .string(topic.title), "description": .string(topic.description),
                "by": people[topic.author] ?? .null, "when": .string(Self.short(topic.createdMillis)),
                "stageName": .string(frame.name("topicStage.\(topic.stage.rawValue)")),
                "supporters": .int(Int64(topic.supporters.count)), "supportedByMe": .bool(topic.supporters.contains(actor.memberID)),
                "stages": .list(TopicStage.allCases.map { stage in
                    .object(["name": .string(frame.name("topicStage.\(stage.rawValue)")), "reached": .bool(stage <= topic.stage),
                             "current": .bool(stage == topic.stage)])
                }),
                "history": .list(topic.history.map { event in
                    .object(["name": .string(frame.name("topicStage.\(event.stage.rawValue)")), "note": .string(event.note),
                             "by": people[event.actor] ?? .null, "when": .string(Self.short(Int64(event.stamp.hlc.millis)))])
                }),
            ])
        }
        return render("topic", frame, tab: "home", live: "topic:\(id)", ["topic": topicValue.mustache as Any])
    }

    // MARK: - Campaigns

    func campaignsPage(_ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let campaigns = try await store.read { view -> Value in
            .list(try view.campaigns(committee: actor.committee ?? "").map { campaign in
                let standings = campaign.standings(try view.signups(campaign: campaign.id))
                return .object(["id": .string(campaign.id), "title": .string(campaign.title), "capacity": .int(Int64(campaign.capacity)),
                                "confirmed": .int(Int64(standings.filter(\.confirmed).count)),
                                "mine": .bool(standings.contains { $0.member == actor.memberID })])
            })
        }
        return render("campaigns", frame, tab: "home", ["campaigns": campaigns.mustache as Any])
    }

    func campaignPage(_ id: String, _ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let campaignValue = try await store.read { view -> Value in
            guard let campaign = Campaign(try Self.readable(id, .campaign, by: actor, in: view)) else { throw APIError.notFound("campaign \(id)") }
            let standings = campaign.standings(try view.signups(campaign: id))
            var row: [String: Value] = [
                "id": .string(campaign.id), "title": .string(campaign.title), "description": .string(campaign.description),
                "capacity": .int(Int64(campaign.capacity)), "confirmed": .int(Int64(standings.filter(\.confirmed).count)),
            ]
            if let starts = campaign.startsAtMillis { row["startsAt"] = .string(Self.short(starts)) }
            if let mine = standings.first(where: { $0.member == actor.memberID }) {
                row["mine"] = .object(["position": .int(Int64(mine.position)), "confirmed": .bool(mine.confirmed)])
            }
            return .object(row)
        }
        return render("campaign", frame, tab: "home", ["campaign": campaignValue.mustache as Any])
    }

    // MARK: - Queues

    func queuesPage(_ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let queues = try await store.read { view -> Value in
            .list(try view.queues(committee: actor.committee ?? "").map { queue in
                .object(["id": .string(queue.id), "title": .string(queue.title), "capacity": .int(Int64(queue.capacity)),
                         "booked": .int(Int64(try view.bookingCount(queue: queue.id))),
                         "mine": .bool(try view.booking(queue: queue.id, member: actor.memberID) != nil)])
            })
        }
        return render("queues", frame, tab: "home", ["queues": queues.mustache as Any])
    }

    func queuePage(_ id: String, _ frame: Frame) async throws -> Response {
        let actor = frame.actor
        let queueValue = try await store.read { view -> Value in
            guard let queue = Queue(try Self.readable(id, .queue, by: actor, in: view)) else { throw APIError.notFound("queue \(id)") }
            let booked = try view.bookingCount(queue: id)
            var row: [String: Value] = [
                "id": .string(queue.id), "title": .string(queue.title), "capacity": .int(Int64(queue.capacity)), "booked": .int(Int64(booked)),
                "full": .bool(booked >= queue.capacity),
                "slots": .list(queue.slots.map { .object(["label": .string($0.label), "capacity": .int(Int64($0.capacity))]) }),
            ]
            if let mine = try view.booking(queue: id, member: actor.memberID) {
                row["mine"] = .object(["number": .int(Int64(mine.number)), "slot": .string(mine.slot)])
            }
            return .object(row)
        }
        return render("queue", frame, tab: "home", live: "queue:\(id)", ["queue": queueValue.mustache as Any])
    }

    /// A committee's entity that `actor` may read (404 when it is not one of this kind, 403 when not theirs to read).
    static func readable(_ id: String, _ kind: EntityKind, by actor: Actor, in view: ReadView) throws -> EntityRecord {
        let (record, committee) = try view.requireOwned(id, kind: kind)
        try actor.requireReader(committee)
        return record
    }
}
