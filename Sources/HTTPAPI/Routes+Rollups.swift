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
            guard groupBy != .category else { throw APIError.invalid("groupBy", "committee, street or district") }
            let rows = try await store.read { view in try view.slaRollup(groupBy: groupBy, scope: scope, nowMillis: view.nowMillis) }
            return JSONResponse.make(.object([
                "groupBy": .string(groupBy.rawValue), "slaHours": .int(Ticket.responseSLAMillis / 3_600_000),
                "items": .list(rows.map { row in
                    .object([
                        "key": .string(row.key), "tickets": .int(Int64(row.tickets)), "responded": .int(Int64(row.responded)),
                        "respondedInTime": .int(Int64(row.respondedInTime)), "overdue": .int(Int64(row.overdue)),
                        "resolved": .int(Int64(row.resolved)), "resolvedInCommittee": .int(Int64(row.resolvedInCommittee)),
                        "solvedInCommitteeShare": row.solvedInCommitteeShare.map { .string(String(format: "%.3f", $0)) } ?? .null,
                        "firstResponseP50Minutes": .optional(row.firstResponseP50Minutes.map(Int64.init)),
                        "firstResponseP90Minutes": .optional(row.firstResponseP90Minutes.map(Int64.init)),
                    ])
                }),
            ]))
        }
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
