import Foundation
import Governance
import Hummingbird
import Replication
import Storage

extension APIServer {
    /// Rollups over the committees the reader oversees: a street officer their street, a district officer
    /// their district, the city officer everything, a cadre their own committee. Read from tables maintained
    /// as changes are applied, never by scanning on the request.
    func addRollupRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store

        router.get("/v1/rollups/tickets") { request, context in
            let scope = try Self.rollupScope(try context.requireActor())
            let query = request.uri.queryParameters
            let groupBy = try Self.grouping(query.get("groupBy"), default: .committee)
            let since = try query.get("since").map { try Self.day($0, "since") }, until = try query.get("until").map { try Self.day($0, "until") }
            let rows = try await store.read { try $0.ticketRollup(groupBy: groupBy, scope: scope, since: since, until: until) }
            return JSONResponse.make(.object([
                "groupBy": .string(groupBy.rawValue), "since": .optional(since), "until": .optional(until),
                "items": .list(rows.map { row in
                    .object(["key": .string(row.key), "total": .int(Int64(row.total)),
                             "byStage": .object(row.byStage.mapValues { .int(Int64($0)) })])
                }),
            ]))
        }

        router.get("/v1/rollups/sla") { request, context in
            let scope = try Self.rollupScope(try context.requireActor())
            let groupBy = try Self.grouping(request.uri.queryParameters.get("groupBy"), default: .committee)
            guard groupBy.isUnit else { throw APIError.invalid("groupBy", "committee, street or district") }
            let rows = try await store.read { view in try view.slaRollup(groupBy: groupBy, scope: scope, nowMillis: view.nowMillis) }
            return JSONResponse.make(.object([
                "groupBy": .string(groupBy.rawValue), "slaHours": .int(Ticket.responseSLAMillis / 3_600_000),
                "items": .list(rows.map { row in
                    .object([
                        "key": .string(row.key), "tickets": .int(Int64(row.tickets)), "responded": .int(Int64(row.responded)),
                        "respondedInTime": .int(Int64(row.respondedInTime)), "overdue": .int(Int64(row.overdue)),
                        "resolved": .int(Int64(row.resolved)), "resolvedInCommittee": .int(Int64(row.resolvedInCommittee)),
                        "solvedInCommitteeShare": Self.share(row.solvedInCommitteeShare),
                        "firstResponseP50Minutes": .optional(row.firstResponseP50Minutes.map(Int64.init)),
                        "firstResponseP90Minutes": .optional(row.firstResponseP90Minutes.map(Int64.init)),
                        "resolutionP50Minutes": .optional(row.resolutionP50Minutes.map(Int64.init)),
                        "resolutionP90Minutes": .optional(row.resolutionP90Minutes.map(Int64.init)),
                        "rated": .int(Int64(row.rated)), "satisfaction": Self.share(row.satisfaction),
                    ])
                }),
            ]))
        }

        // How fast cadres answer @-mentions and private messages (the "24-hour secretary"), per unit.
        router.get("/v1/rollups/answers") { request, context in
            let scope = try Self.rollupScope(try context.requireActor())
            let groupBy = try Self.grouping(request.uri.queryParameters.get("groupBy"), default: .committee)
            guard groupBy.isUnit else { throw APIError.invalid("groupBy", "committee, street or district") }
            let rows = try await store.read { view in try view.answerRollup(groupBy: groupBy, scope: scope, nowMillis: view.nowMillis) }
            return JSONResponse.make(.object([
                "groupBy": .string(groupBy.rawValue), "withinHours": .int(24),
                "items": .list(rows.map { row in
                    .object([
                        "key": .string(row.key), "asked": .int(Int64(row.asked)), "answered": .int(Int64(row.answered)),
                        "answeredInDay": .int(Int64(row.answeredInDay)), "waitingOverDay": .int(Int64(row.waitingOverDay)),
                        "inDayShare": Self.share(row.inDayShare),
                    ])
                }),
            ]))
        }

        router.get("/v1/rollups/hot-topics") { request, context in
            let scope = try Self.rollupScope(try context.requireActor())
            let query = request.uri.queryParameters
            let days = try Self.windowDays(query.get("window") ?? "7d")
            let limit = try Page.limit(query.get("limit"), default: 10, max: 100)
            let (since, until, categories, posts) = try await store.read { view in
                let until = ShanghaiCalendar.day(ofMillis: view.nowMillis)
                let since = ShanghaiCalendar.day(ofMillis: view.nowMillis - Int64(days - 1) * 86_400_000)
                let posts = try view.hotPosts(scope: scope, since: since, until: until, limit: limit).map { hot in
                    (hot, try view.post(hot.post)?.title ?? "")
                }
                return (since, until, try view.hotCategories(scope: scope, since: since, until: until), posts)
            }
            return JSONResponse.make(.object([
                "window": .string("\(days)d"), "since": .string(since), "until": .string(until),
                "categories": .list(categories.map { hot in
                    .object(["category": .string(hot.category), "label": .string(TicketCategory(rawValue: hot.category)?.label ?? hot.category),
                             "posts": .int(Int64(hot.posts)), "comments": .int(Int64(hot.comments)), "likes": .int(Int64(hot.likes)),
                             "score": .int(Int64(hot.score))])
                }),
                "posts": .list(posts.map { hot, title in
                    .object(["post": .string(hot.post), "title": .string(title), "unit": .string(hot.unit), "category": .string(hot.category),
                             "day": .string(hot.day), "comments": .int(Int64(hot.comments)), "likes": .int(Int64(hot.likes)),
                             "score": .int(Int64(hot.score))])
                }),
            ]))
        }

        router.get("/v1/rollups/participation") { request, context in
            let scope = try Self.rollupScope(try context.requireActor())
            let groupBy = try Self.grouping(request.uri.queryParameters.get("groupBy"), default: .committee)
            guard groupBy.isUnit else { throw APIError.invalid("groupBy", "committee, street or district") }
            let rows = try await store.read { try $0.participationRollup(groupBy: groupBy, scope: scope) }
            return JSONResponse.make(.object([
                "groupBy": .string(groupBy.rawValue),
                "items": .list(rows.map { row in
                    .object(["key": .string(row.key), "members": .int(Int64(row.members)), "households": .int(Int64(row.households)),
                             "under50": .int(Int64(row.under50)), "under50Share": Self.share(row.under50Share),
                             "partyMembers": .int(Int64(row.partyMembers)), "volunteers": .int(Int64(row.volunteers))])
                }),
            ]))
        }

        router.get("/v1/rollups/polls") { request, context in
            let scope = try Self.rollupScope(try context.requireActor())
            let limit = try Page.limit(request.uri.queryParameters.get("limit"), default: 20, max: 200)
            let rows = try await store.read { view in try view.closedPolls(scope: scope, nowMillis: view.nowMillis, limit: limit) }
            return JSONResponse.make(.object(["items": .list(rows.map { Self.pollResult($0, visible: true) })]))
        }

        router.get("/v1/rollups/polls/{id}") { _, context in
            let scope = try Self.rollupScope(try context.requireActor())
            let id = try context.parameters.require("id")
            let row = try await store.read { view -> PollResultRow? in
                guard let row = try view.pollResult(id, nowMillis: view.nowMillis), let committee = try view.committee(row.committee),
                      scope.contains(committee) else { return nil }
                return row
            }
            guard let row else { throw APIError.notFound("poll") }
            // A secret poll shows nothing before it closes; an open poll shows its running count.
            return JSONResponse.make(Self.pollResult(row, visible: row.closed || !row.secret))
        }
    }

    static func pollResult(_ row: PollResultRow, visible: Bool) -> Value {
        .object([
            "poll": .string(row.poll), "committee": .string(row.committee), "title": .string(row.title), "kind": .string(row.kind),
            "secret": .bool(row.secret), "closed": .bool(row.closed), "endsAt": .string(Time.format(row.endsMillis)),
            "quorum": .int(Int64(row.quorum)), "quorumMet": .bool(row.ballots >= row.quorum),
            "ballots": .int(Int64(row.ballots)), "electorate": .int(Int64(row.electorate)), "turnout": Self.share(row.turnout),
            "results": visible ? .list(row.results.map { .object(["option": .string($0.option), "votes": .int(Int64($0.votes))]) }) : .null,
        ])
    }

    /// A share (0 to 1) as a decimal string with three places ("0.900"), or null.
    static func share(_ value: Double?) -> Value {
        value.map { .string(String(format: "%.3f", $0)) } ?? .null
    }

    /// A window such as `7d` or `48h`, as a number of days (1 to 366) ending today.
    static func windowDays(_ text: String) throws -> Int {
        guard let unit = text.last, let number = Int(text.dropLast()), number > 0 else {
            throw APIError.invalid("window", "a number of days or hours, e.g. 7d or 48h")
        }
        let days: Int
        switch unit {
        case "d": days = number
        case "h": days = (number + 23) / 24
        default: throw APIError.invalid("window", "a number of days or hours, e.g. 7d or 48h")
        }
        guard days <= 366 else { throw APIError.invalid("window", "at most 366 days") }
        return days
    }

    static func rollupScope(_ actor: Actor) throws -> RollupScope {
        guard actor.status == .approved else { throw APIError.forbidden("rollups are for officers and cadres") }
        switch actor.role {
        case .cityOfficer: return .city
        case .districtOfficer: return .district(actor.unit ?? "")
        case .streetOfficer: return .street(actor.unit ?? "")
        case .cadre, .secretary: return .committee(actor.committee ?? "")
        default: throw APIError.forbidden("rollups are for officers and cadres")
        }
    }

    static func grouping(_ text: String?, default fallback: RollupGrouping) throws -> RollupGrouping {
        guard let text else { return fallback }
        guard let grouping = RollupGrouping(rawValue: text) else { throw APIError.invalid("groupBy", "committee, street, district or category") }
        return grouping
    }

    /// A day (YYYY-MM-DD), or an RFC 3339 time taken as its day in Shanghai.
    static func day(_ text: String, _ field: String) throws -> String {
        if text.count == 10, text.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil { return text }
        return ShanghaiCalendar.day(ofMillis: try Time.parse(text, field: field))
    }
}
