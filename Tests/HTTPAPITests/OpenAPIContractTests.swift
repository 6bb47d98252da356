import Foundation
import Prometheus
import Replication
import HTTPAPI
import Hummingbird
import Testing
import Yams

/// docs/openapi.yaml must describe exactly the routes the server has: no more, no fewer.
@Suite struct OpenAPIContractTests {
    static var specPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml").path
    }

    @Test func routerRoutesEqualSpecPaths() throws {
        let spec = try Yams.load(yaml: String(contentsOfFile: Self.specPath, encoding: .utf8)) as? [String: Any]
        let paths = try #require(spec?["paths"] as? [String: Any])
        var documented: Set<String> = []
        for (path, item) in paths {
            let methods = (item as? [String: Any] ?? [:]).keys.filter { ["get", "post", "put", "patch", "delete"].contains($0) }
            // Hummingbird describes `:pid` captures as `{pid}`, as OpenAPI writes them.
            for method in methods { documented.insert("\(method.uppercased()) \(path)") }
        }
        let node = try TestNode()
        // A replicating node serves the cluster routes too.
        let federated = APIServer(store: node.store, identity: node.server.identity, cluster: NoCluster())
        let served = Set(federated.router().routes.map { "\($0.method) \($0.path)" })
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
        #expect(served.count > 30)
    }
}

/// A cluster view with nothing in it, for checking routes.
struct NoCluster: ClusterStatus {
    func members() async -> Value { .object(["items": .list([])]) }
    func replication() async -> Value { .object([:]) }
    var faultInjection: (@Sendable ([String]) async -> Void)? { nil }
    func refreshGauges(_ registry: PrometheusCollectorRegistry) async {}
}
