import Foundation
import Prometheus
import Replication
import HTTPAPI
import Storage
import Hummingbird
import Testing
import Yams

/// docs/openapi.yaml must describe exactly the routes the server has: no more, no fewer.
@Suite struct OpenAPIContractTests {
    static var specPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml").path
    }

    /// docs/api-reference.md is docs/openapi.yaml rendered (by Tests/Scripts/openapi_reference.py), and current.
    @Test func theAPIReferenceIsRenderedFromTheSpec() throws {
        let repository = URL(fileURLWithPath: Self.specPath).deletingLastPathComponent().deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repository.appendingPathComponent("Tests/Scripts/openapi_reference.py").path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let rendered = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let committed = try String(contentsOf: repository.appendingPathComponent("docs/api-reference.md"), encoding: .utf8)
        #expect(rendered == committed, "regenerate: python3 Tests/Scripts/openapi_reference.py > docs/api-reference.md")
        #expect(committed.contains("### `POST /v1/committees/{cid}/tickets`"))
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

    /// Each rollup of `Rollups.all` is documented at its path with exactly the query parameters its declaration reads, and
    /// `groupBy` lists its groupings.
    @Test func everyRollupIsDocumentedWithTheParametersItTakes() throws {
        let spec = try Yams.load(yaml: String(contentsOfFile: Self.specPath, encoding: .utf8)) as? [String: Any]
        let paths = try #require(spec?["paths"] as? [String: Any])
        for rollup in Rollups.all {
            let get = try #require((paths[rollup.path] as? [String: Any])?["get"] as? [String: Any], "\(rollup.path) is documented")
            let parameters = (get["parameters"] as? [[String: Any]] ?? []).filter { $0["in"] as? String == "query" }
            #expect(Set(parameters.compactMap { $0["name"] as? String }) == Set(rollup.parameters.names), "\(rollup.name)'s query parameters")
            if let groupBy = parameters.first(where: { $0["name"] as? String == "groupBy" }) {
                let documented = (groupBy["schema"] as? [String: Any])?["enum"] as? [String] ?? []
                #expect(documented == rollup.parameters.groupings.map(\.rawValue), "\(rollup.name)'s groupings")
            }
            if let limit = rollup.parameters.limit, let schema = parameters.first(where: { $0["name"] as? String == "limit" })?["schema"] as? [String: Any] {
                #expect(schema["maximum"] as? Int == limit.max && schema["default"] as? Int == limit.default, "\(rollup.name)'s limit")
            }
        }
    }
}

/// A cluster view with nothing in it, for checking routes.
struct NoCluster: ClusterStatus {
    func members() async -> Value { .object(["items": .list([])]) }
    func replication() async -> Value { .object([:]) }
    var faultInjection: (@Sendable (FaultSwitch) async -> Void)? { nil }
    func refreshGauges(_ registry: PrometheusCollectorRegistry) async {}
}
