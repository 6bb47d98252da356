import Hummingbird
import NIOCore
import Prometheus
import Replication

extension APIServer {
    /// `GET /metrics`: the Prometheus text format (version 0.0.4) — HTTP requests and latency, changes
    /// applied and rejected, SQLite write time, gossip bytes, and, on replicating nodes, lag, compression
    /// and SWIM member states (refreshed just before each scrape). Unauthenticated, as scrapers expect;
    /// it carries no personal data.
    func addMetricsRoute(to router: Router<ShequRequestContext>) {
        let registry = self.registry
        let cluster = self.cluster
        let store = self.store
        router.get("/metrics") { _, _ in
            await cluster?.refreshGauges(registry)
            let changes = try await store.read { try $0.changeCount() }
            registry.makeGauge(name: "shequ_change_log_size", labels: [], help: "Changes in this node's log").set(Double(changes))
            registry.makeGauge(name: "shequ_build_info", labels: [("version", Release.version), ("wire", "\(Release.wireVersion)"),
                                                                  ("wire_min", "\(Release.minimumWireVersion)")],
                               help: "This build's release and wire versions (always 1)").set(1.0)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }
}
