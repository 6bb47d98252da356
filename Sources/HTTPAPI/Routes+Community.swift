import Foundation
import Governance
import Hummingbird
import Replication
import Storage

extension APIServer {
    func addCommunityRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store

        // MARK: Topics (议题)

        router.post("/v1/committees/:cid/topics") { request, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let title = try body.string("title"), description = try body.optionalString("description") ?? ""
            let category = try body.optionalString("category")
            let value = try await store.write { tx in
                Representation.topic(try tx.proposeTopic(title: title, description: description, category: category, committee: cid, by: actor))
            }
            return JSONResponse.make(value, status: .created)
        }

        router.get("/v1/committees/:cid/topics") { _, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let topics = try await store.read { view in
                try actor.requireReader(try view.requireCommittee(cid))
                return try view.topics(committee: cid)
            }
            return JSONResponse.make(.object(["items": .list(topics.map(Representation.topic))]))
        }

        router.get("/v1/topics/:id") { _, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let topic = try await store.read { view in
                let (_, committee) = try view.requireOwned(id, kind: .topic)
                try actor.requireReader(committee)
                return try view.topic(id)!
            }
            return JSONResponse.make(Representation.topic(topic))
        }

        // 附议: a member supports a topic (PUT) or takes it back (DELETE).
        for (method, on) in [(HTTPRequest.Method.put, true), (.delete, false)] {
            router.on("/v1/topics/:id/support", method: method) { _, context in
                let id = try context.parameters.require("id")
                let actor = try context.requireActor()
                let topic = try await store.write { tx in try tx.supportTopic(id, on, by: actor) }
                return JSONResponse.make(.object(["topic": .string(id), "supporters": .int(Int64(topic.supporters.count)), "supportedByMe": .bool(on)]))
            }
        }

        router.post("/v1/topics/:id/advance") { request, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            guard let stage = TopicStage(rawValue: try body.string("stage")) else {
                throw APIError.invalid("stage", "one of \(TopicStage.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let note = try body.optionalString("note") ?? "", pollID = try body.optionalString("pollId")
            let topic = try await store.write { tx in try tx.advanceTopic(id, to: stage, note: note, poll: pollID, by: actor) }
            return JSONResponse.make(Representation.topic(topic))
        }

        // MARK: Volunteer campaigns (志愿者招募)

        router.post("/v1/committees/:cid/campaigns") { request, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let title = try body.string("title"), description = try body.optionalString("description") ?? ""
            let capacity = try body.int("capacity"), startsAt = try body.optionalTime("startsAt")
            let value = try await store.write { tx in
                Representation.campaign(try tx.createCampaign(title: title, description: description, capacity: capacity, startsAtMillis: startsAt,
                                                              committee: cid, by: actor), standings: [])
            }
            return JSONResponse.make(value, status: .created)
        }

        router.get("/v1/committees/:cid/campaigns") { _, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let items = try await store.read { view -> [Value] in
                try actor.requireReader(try view.requireCommittee(cid))
                return try view.campaigns(committee: cid).map { campaign in
                    Representation.campaign(campaign, standings: campaign.standings(try view.signups(campaign: campaign.id)))
                }
            }
            return JSONResponse.make(.object(["items": .list(items)]))
        }

        router.get("/v1/committees/:cid/queues") { _, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let items = try await store.read { view -> [Value] in
                try actor.requireReader(try view.requireCommittee(cid))
                return try view.queues(committee: cid).map { Representation.queue($0, booked: try view.bookingCount(queue: $0.id)) }
            }
            return JSONResponse.make(.object(["items": .list(items)]))
        }

        router.get("/v1/campaigns/:id") { _, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let value = try await store.read { view -> Value in
                let (record, committee) = try view.requireOwned(id, kind: .campaign)
                try actor.requireReader(committee)
                let campaign = Campaign(record)!
                return Representation.campaign(campaign, standings: campaign.standings(try view.signups(campaign: id)))
            }
            return JSONResponse.make(value)
        }

        router.post("/v1/campaigns/:id/signup") { _, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let standing = try await store.write { tx in try tx.signUp(campaign: id, by: actor) }
            return JSONResponse.make(.object([
                "campaign": .string(id), "position": .int(Int64(standing.position)),
                "status": .string(standing.confirmed ? "confirmed" : "waitlisted"),
            ]))
        }


        // MARK: Appointment queues (预约排队)

        router.post("/v1/committees/:cid/queues") { request, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            let title = try body.string("title")
            guard let slotValues = body.object["slots"]?.list else { throw APIError.invalid("slots", "an array of {label, capacity}") }
            let slots = try slotValues.map { value in
                guard let o = value.object, let label = o["label"]?.string, let capacity = o["capacity"]?.int, let c = Int(exactly: capacity) else {
                    throw APIError.invalid("slots", "each slot is {label: string, capacity: integer}")
                }
                return Queue.Slot(label: label, capacity: c)
            }
            let value = try await store.write { tx in Representation.queue(try tx.createQueue(title: title, slots: slots, committee: cid, by: actor), booked: 0) }
            return JSONResponse.make(value, status: .created)
        }

        router.get("/v1/queues/:id") { _, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let value = try await store.read { view -> Value in
                let (record, committee) = try view.requireOwned(id, kind: .queue)
                try actor.requireReader(committee)
                var body = Representation.queue(Queue(record)!, booked: try view.bookingCount(queue: id)).object!
                if let mine = try view.booking(queue: id, member: actor.memberID) {
                    body["myBooking"] = .object(["number": .int(Int64(mine.number)), "slot": .string(mine.slot)])
                }
                return .object(body)
            }
            return JSONResponse.make(value)
        }

        // Numbers are handed out inside the write transaction, so a burst never gives one twice.
        router.post("/v1/queues/:id/book") { _, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let (number, slot, created) = try await store.write { tx in try tx.book(queue: id, by: actor) }
            return JSONResponse.make(.object(["queue": .string(id), "number": .int(Int64(number)), "slot": .string(slot)]),
                                     status: created ? .created : .ok)
        }

        // Calling numbers (叫号), for the committee's staff: the roster, call the next waiting number, mark one called,
        // served or a no-show. Each tells the member.
        router.get("/v1/queues/:id/bookings") { _, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let value = try await store.read { view -> Value in
                let (_, committee) = try view.requireOwned(id, kind: .queue)
                try actor.requireStaff(committee)
                return .object(["items": .list(try view.bookings(queue: id).map { try Representation.booking($0, view: view) })])
            }
            return JSONResponse.make(value)
        }
        router.post("/v1/queues/:id/call") { _, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            guard let called = try await store.write({ tx in try tx.callNext(queue: id, by: actor) }) else {
                throw APIError(.conflict, "queue_empty", "no number is waiting")
            }
            return JSONResponse.make(try await store.read { try Representation.booking(called, view: $0) })
        }
        router.put("/v1/queues/:id/bookings/:number") { request, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            guard let number = Int(try context.parameters.require("number")), number > 0 else { throw APIError.invalid("number", "a positive integer") }
            let body = try await JSONBody.read(request)
            let text = try body.string("state")
            guard let state = BookingState(rawValue: text) else {
                throw APIError.invalid("state", "one of \(BookingState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let booking = try await store.write { tx in try tx.markBooking(queue: id, number: number, state, by: actor) }
            return JSONResponse.make(try await store.read { try Representation.booking(booking, view: $0) })
        }

        // Cancelling a sign-up (those on the waiting list move up) or a booking (its number is not handed out again):
        // the member's own, or, for a cadre, the member `?member=` names.
        let cancellations: [(String, @Sendable (inout WriteTransaction, String, String?, Actor) throws -> Void)] = [
            ("/v1/campaigns/:id/signup", { tx, id, member, actor in try tx.cancelSignup(campaign: id, member: member, by: actor) }),
            ("/v1/queues/:id/book", { tx, id, member, actor in try tx.cancelBooking(queue: id, member: member, by: actor) }),
        ]
        for (path, cancel) in cancellations {
            router.delete(RouterPath(path)) { request, context in
                let id = try context.parameters.require("id")
                let actor = try context.requireActor()
                let member = request.uri.queryParameters.get("member").map { String($0) }
                try await store.write { tx in try cancel(&tx, id, member, actor) }
                return Response(status: .noContent)
            }
        }
    }
}

extension Representation {
    /// A queue number on the staff's roster: the member's display name, never their personal data.
    static func booking(_ b: QueueBooking, view: ReadView) throws -> Value {
        .object([
            "number": .int(Int64(b.number)), "slot": .string(b.slot), "member": .string(b.member),
            "displayName": .optional(try view.cellValue(entity: b.member, field: "displayName")?.string),
            "state": b.cancelled ? .string("cancelled") : b.state.map { .string($0.rawValue) } ?? .string("waiting"),
        ])
    }
}
