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
    /// The fault-injection switch: cut the links to some peers, delay and drop what is sent. Nil when the switch is off.
    var faultInjection: (@Sendable (FaultSwitch) async -> Void)? { get }
    /// Sets the replication gauges (lag, compression, member states) in `registry` before a scrape.
    func refreshGauges(_ registry: PrometheusCollectorRegistry) async
}

/// What the fault-injection switch is set to (`PUT /v1/cluster/faults`).
public struct FaultSwitch: Sendable, Equatable {
    /// Peers whose links are cut (empty heals).
    public var blocked: [String]
    /// Every frame this node sends waits `delayMillis ± jitterMillis` (uniform) before the socket.
    public var delayMillis = 0
    public var jitterMillis = 0
    /// Messages after the handshake dropped, per thousand sent.
    public var lossPermille = 0

    public init(blocked: [String], delayMillis: Int = 0, jitterMillis: Int = 0, lossPermille: Int = 0) {
        self.blocked = blocked
        self.delayMillis = delayMillis
        self.jitterMillis = jitterMillis
        self.lossPermille = lossPermille
    }
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
            let body = try await JSONBody.read(request)
            let faults = FaultSwitch(blocked: try body.strings("blocked"), delayMillis: try body.optionalInt("delay_ms") ?? 0,
                                     jitterMillis: try body.optionalInt("jitter_ms") ?? 0, lossPermille: try body.optionalInt("loss_permille") ?? 0)
            guard faults.blocked.count <= 1_000 else { throw APIError.invalid("blocked", "at most 1000 peers") }
            guard (0...10_000).contains(faults.delayMillis) else { throw APIError.invalid("delay_ms", "0 to 10000") }
            guard (0...faults.delayMillis).contains(faults.jitterMillis) else { throw APIError.invalid("jitter_ms", "0 to delay_ms") }
            guard (0...1_000).contains(faults.lossPermille) else { throw APIError.invalid("loss_permille", "0 to 1000") }
            await inject(faults)
            return JSONResponse.make(.object(["blocked": .strings(faults.blocked), "delay_ms": .int(Int64(faults.delayMillis)),
                                              "jitter_ms": .int(Int64(faults.jitterMillis)), "loss_permille": .int(Int64(faults.lossPermille))]))
        }
    }

    static func requireOfficer(_ context: ShequRequestContext) throws {
        let actor = try context.requireActor()
        guard actor.role.isOfficer, actor.status == .approved else { throw APIError.forbidden("street, district and city officers only") }
    }
}
