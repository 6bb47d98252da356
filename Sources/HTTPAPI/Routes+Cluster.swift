import Foundation
import Governance
import Hummingbird
import Prometheus
import Replication

/// What the HTTP API shows of the federation; implemented by the node over its replication service.
public protocol ClusterStatus: Sendable {
    /// Each peer's liveness as this node sees it.
    func members() async -> Value
    /// Version vectors, lag per peer, bytes and changes in and out, compression.
    func replication() async -> Value
    /// The fault-injection switch: cut the links to these peers (empty heals). Nil when the switch is off.
    var faultInjection: (@Sendable ([String]) async -> Void)? { get }
    /// Sets the replication gauges (lag, compression, member states) in `registry` before a scrape.
    func refreshGauges(_ registry: PrometheusCollectorRegistry) async
}

extension APIServer {
    func addClusterRoutes(to router: Router<ShequRequestContext>, cluster: any ClusterStatus) {
        let store = self.store
        router.get("/v1/cluster/members") { _, context in
            try Self.requireOfficer(context)
            return JSONResponse.make(await cluster.members())
        }
        router.get("/v1/cluster/replication") { _, context in
            try Self.requireOfficer(context)
            return JSONResponse.make(await cluster.replication())
        }
        // Convergence check: per committee held here, a digest of its merged state (equal digests, equal replicas).
        router.get("/v1/cluster/digests") { _, context in
            try Self.requireOfficer(context)
            let digests = try await store.read { view in
                try view.committees().map { ($0.id, try view.digest(committee: $0.id)) }
            }
            return JSONResponse.make(.object(["digests": .object(Dictionary(uniqueKeysWithValues: digests.map { ($0.0, Value.string($0.1)) }))]))
        }
        router.put("/v1/cluster/faults") { request, context in
            try Self.requireOfficer(context)
            guard let inject = cluster.faultInjection else {
                throw APIError(.forbidden, "faults_disabled", "the fault-injection switch is off (start the node with SHEQU_FAULT_INJECTION=1)")
            }
            let blocked = try await JSONBody.read(request).strings("blocked")
            guard blocked.count <= 1_000 else { throw APIError.invalid("blocked", "at most 1000 peers") }
            await inject(blocked)
            return JSONResponse.make(.object(["blocked": .strings(blocked)]))
        }
    }

    static func requireOfficer(_ context: ShequRequestContext) throws {
        let actor = try context.requireActor()
        guard actor.role.isOfficer, actor.status == .approved else { throw APIError.forbidden("street, district and city officers only") }
    }
}
