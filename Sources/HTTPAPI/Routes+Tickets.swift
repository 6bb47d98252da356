import Foundation
import Governance
import Hummingbird
import Replication
import Storage

extension APIServer {
    func addTicketRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store
        let photos = self.photos

        router.post("/v1/committees/:cid/tickets") { request, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            guard let category = TicketCategory(rawValue: try body.string("category")) else {
                throw APIError.invalid("category", "one of \(TicketCategory.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let location = try Self.location(body.object["location"])
            let input = TicketInput(category: category, title: try body.string("title"), description: try body.optionalString("description") ?? "",
                                    photos: try body.strings("photos"), location: location)
            try Self.requireKnownPhotos(input.photos, in: photos)
            let value = try await store.write { tx -> Value in
                Representation.ticket(try tx.raiseTicket(input, committee: cid, by: actor), nowMillis: tx.nowMillis, history: true)
            }
            return JSONResponse.make(value, status: .created)
        }

        router.get("/v1/committees/:cid/tickets") { request, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            let page = try Page(request)
            let query = request.uri.queryParameters
            let stage = try query.get("stage").map { text in
                guard let stage = TicketStage(rawValue: text) else { throw APIError.invalid("stage", "one of \(TicketStage.allCases.map(\.rawValue).joined(separator: ", "))") }
                return stage
            }
            let overdue = try query.get("overdue").map { text in
                guard let flag = Bool(text) else { throw APIError.invalid("overdue", "true or false") }
                return flag
            }
            let (values, fetched, last) = try await store.read { view -> ([Value], Int, PageCursor?) in
                let committee = try view.requireCommittee(cid)
                try actor.requireReader(committee)
                // Residents see their own tickets; staff see the committee's.
                let now = view.nowMillis
                let tickets = try view.tickets(committee: cid, stage: stage, limit: page.limit, after: page.after)
                let shown = tickets.filter { ticket in
                    (actor.isStaff(of: committee) || ticket.reporter == actor.memberID)
                        && (overdue == nil || ticket.isOverdue(nowMillis: now) == overdue)
                }
                return (shown.map { Representation.ticket($0, nowMillis: now, history: false) }, tickets.count,
                        tickets.last.map { PageCursor(created: Int64($0.created.rawValue), id: $0.id) })
            }
            return JSONResponse.make(.object(["items": .list(values), "nextCursor": page.next(fetched: fetched, last: last)]))
        }

        // Escalation queues: the tickets at a level in the caller's unit — the street grid centre's (`level=street`) and
        // the district platform's (`level=district`) — due first. Officers see their street, district or the city;
        // a cadre their committee. Filters: stage, overdue, assignee.
        router.get("/v1/tickets") { request, context in
            let actor = try context.requireActor()
            let page = try Page(request)
            let query = request.uri.queryParameters
            let scope = try Self.oversight(of: actor, "escalation queues are for cadres and officers")
            let ownLevel: TicketLevel = switch scope {
            case .committee: .committee
            case .street: .street
            case .district, .city: .district
            }
            let level = try query.get("level").map { text in
                guard let level = TicketLevel(name: String(text)) else { throw APIError.invalid("level", "committee, street or district") }
                return level
            } ?? ownLevel
            let stage = try query.get("stage").map { text in
                guard let stage = TicketStage(rawValue: String(text)) else { throw APIError.invalid("stage", "one of \(TicketStage.allCases.map(\.rawValue).joined(separator: ", "))") }
                return stage
            }
            let overdue = try query.get("overdue").map { text in
                guard let flag = Bool(String(text)) else { throw APIError.invalid("overdue", "true or false") }
                return flag
            }
            let assignee = query.get("assignee").map { String($0) }
            let (values, fetched, last) = try await store.read { view -> ([Value], Int, PageCursor?) in
                let tickets = try view.ticketQueue(level: level, scope: scope, stage: stage, overdue: overdue, nowMillis: view.nowMillis,
                                                   limit: page.limit, after: page.after)
                let shown = tickets.filter { assignee == nil || $0.assignee == assignee }
                return (shown.map { Representation.ticket($0, nowMillis: view.nowMillis, history: false) }, tickets.count,
                        tickets.last.map { PageCursor(created: $0.createdMillis, id: $0.id) })
            }
            return JSONResponse.make(.object(["items": .list(values), "nextCursor": page.next(fetched: fetched, last: last)]))
        }

        // The departments this district dispatches to, with the open tickets each holds in the reader's unit.
        router.get("/v1/departments") { _, context in
            let actor = try context.requireActor()
            let scope = try Self.oversight(of: actor, "departments are for cadres and officers")
            let value = try await store.read { view -> Value in
                let open = try Self.openByDepartment(view, scope: scope)
                return .object(["items": .list(view.departments.map { name in
                    .object(["name": .string(name), "open": .int(Int64(open[name] ?? 0))])
                })])
            }
            return JSONResponse.make(value)
        }

        router.get("/v1/tickets/:id") { _, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let value = try await store.read { view -> Value in
                let (_, committee) = try view.requireOwned(id, kind: .ticket)
                let ticket = try view.ticket(id)!
                guard actor.isStaff(of: committee) || ticket.reporter == actor.memberID else { throw APIError.notFound("ticket \(id)") }
                return Representation.ticket(ticket, nowMillis: view.nowMillis, history: true)
            }
            return JSONResponse.make(value)
        }

        router.post("/v1/tickets/:id/events") { request, context in
            let id = try context.parameters.require("id")
            let actor = try context.requireActor()
            let body = try await JSONBody.read(request)
            guard let type = TicketEventType(rawValue: try body.string("type")) else {
                throw APIError.invalid("type", "one of \(TicketEventType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let note = try body.optionalString("note") ?? "", assignee = try body.optionalString("assignee"), rating = try body.optionalInt("rating")
            let value = try await store.write { tx -> Value in
                let ticket = try tx.ticketEvent(type, ticket: id, note: note, assignee: assignee, rating: rating, by: actor)
                return Representation.ticket(ticket, nowMillis: tx.nowMillis, history: true)
            }
            return JSONResponse.make(value, status: .created)
        }
    }

    static func location(_ value: Value?) throws -> Location {
        guard let value, value != .null else { return Location(address: "") }
        if let address = value.string { return Location(address: address) }
        guard let o = value.object else { throw APIError.invalid("location", "an object {address, lat, long} or an address") }
        func text(_ key: String) throws -> String? {
            switch o[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s
            // JSON numbers: a decimal arrives as its text (JSONBody reads decimals so), an integer as itself.
            case .int(let i)? where key != "address": return String(i)
            default: throw APIError.invalid("location.\(key)", key == "address" ? "must be a string" : "must be a number of degrees")
            }
        }
        return Location(address: try text("address") ?? "", lat: try text("lat"), long: try text("long"))
    }

    /// What a cadre or officer oversees: their committee, street, district, or the city. Anyone else is refused.
    static func oversight(of actor: Actor, _ refusal: String) throws -> TicketQueueScope {
        guard actor.status == .approved else { throw APIError.forbidden(refusal) }
        switch actor.role {
        case .streetOfficer: return .street(actor.unit ?? "")
        case .districtOfficer: return .district(actor.unit ?? "")
        case .cityOfficer: return .city
        case .cadre, .secretary: return .committee(actor.committee ?? "")
        default: throw APIError.forbidden(refusal)
        }
    }

    /// Open tickets at the district platform in `scope`, counted by their assignee.
    static func openByDepartment(_ view: ReadView, scope: TicketQueueScope) throws -> [String: Int] {
        var open: [String: Int] = [:]
        for ticket in try view.ticketQueue(level: .district, scope: scope, stage: nil, overdue: nil, nowMillis: view.nowMillis, limit: 10_000, after: nil)
        where ticket.stage.isOpen {
            open[ticket.assignee ?? "", default: 0] += 1
        }
        return open
    }
}
