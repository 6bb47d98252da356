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

        // Every rollup of `Rollups.all`, each at its path with the parameters it declares.
        for rollup in Rollups.all {
            router.get(RouterPath(rollup.path)) { request, context in
                let scope = try Self.rollupScope(try context.requireActor())
                let query = request.uri.queryParameters
                let asked: RollupRequest
                do {
                    asked = try rollup.parameters.request(scope: scope) { query.get($0) }
                } catch let error as RollupParameterError {
                    throw APIError.invalid(error.field, error.expected)
                }
                return JSONResponse.make(try await store.read { try rollup.answer($0, asked) })
            }
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
            return JSONResponse.make(row.json(visible: row.closed || !row.secret))
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
}
