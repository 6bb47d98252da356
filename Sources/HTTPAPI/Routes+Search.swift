import Foundation
import Governance
import Hummingbird
import Replication
import Storage

/// `GET /v1/committees/{cid}/search?q=`: the committee's posts and topics, and the tickets the member may see, whose
/// title or text contains `q` — Chinese or English (SQLite FTS5, trigram tokenizer; see `SearchIndex`).
extension APIServer {
    func addSearchRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store
        router.get("/v1/committees/:cid/search") { request, context in
            let cid = try context.parameters.require("cid")
            let actor = try context.requireActor()
            guard store.indexesSearch else {
                throw APIError(.conflict, "not_indexed", "search is served by the committee's street node, where residents use the app")
            }
            let query = try Self.searchQuery(request)
            let limit = try Page.limit(request.uri.queryParameters.get("limit"), default: 20, max: 100)
            let hits = try await store.read { view -> [SearchHit] in
                let committee = try view.requireCommittee(cid)
                try actor.requireReader(committee)
                return try view.search(query, committee: cid, member: actor.memberID, staff: actor.isStaff(of: committee), limit: limit)
            }
            return JSONResponse.make(.object(["items": .list(hits.map(Representation.searchHit))]))
        }
    }

    /// `q`: 1 to 64 characters.
    static func searchQuery(_ request: Request) throws -> String {
        let query = (request.uri.queryParameters.get("q").map { String($0) } ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...ReadView.maxSearchLength).contains(query.count) else { throw APIError.invalid("q", "1 to \(ReadView.maxSearchLength) characters") }
        return query
    }
}

extension Representation {
    static func searchHit(_ hit: SearchHit) -> Value {
        .object(["kind": .string(hit.kind.rawValue), "id": .string(hit.id), "title": .string(hit.title), "excerpt": .string(hit.excerpt),
                 "createdAt": Time.value(hit.createdMillis)])
    }
}
