import Foundation
import Gossip
import Testing
import Yams

/// No Docker engine runs here, so docker/ is checked statically: the compose file parses and has, for every node of
/// the demo topology, a service with its volume, its key (read-only, a file that exists), its port, a health check and a
/// start after its parent; docker/topology.yaml is the demo topology reached by service names; and every file the
/// Dockerfile copies exists.
@Suite struct DockerFilesTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func text(_ path: String) throws -> String { try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8) }
    static func service(_ id: String) -> String { id.replacingOccurrences(of: ".", with: "-") }

    @Test func composeHasAServiceForEveryDemoNode() throws {
        let demo = try Topology(yaml: Self.text("cluster/topologies/demo.yaml"))
        let compose = try #require(try Yams.load(yaml: Self.text("docker/compose.yaml")) as? [String: Any])
        let services = try #require(compose["services"] as? [String: [String: Any]])
        let volumes = try #require(compose["volumes"] as? [String: Any])
        #expect(Set(services.keys) == Set(demo.nodes.keys.map(Self.service)))
        var hostPorts: Set<String> = []
        for node in demo.nodes.values {
            let name = Self.service(node.id)
            let service = try #require(services[name], "no service for \(node.id)")
            let environment = service["environment"] as? [String: Any] ?? [:]
            #expect(environment["NODE_ID"] as? String == node.id && environment["NODE_ROLE"] as? String == node.role.rawValue, "\(name)")
            #expect(environment["NODE_UNIT"] as? String == node.unit, "\(name)")
            let mounts = service["volumes"] as? [String] ?? []
            #expect(mounts.contains("\(name)-data:/var/lib/shequ") && volumes.keys.contains("\(name)-data"), "\(name): a volume of its own")
            let key = "../cluster/keys/demo/\(node.id).key"
            #expect(mounts.contains("\(key):/run/secrets/node.key:ro"), "\(name): its key, read-only")
            #expect(FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent("docker/" + key).standardizedFileURL.path), "\(key)")
            for mount in mounts where mount.hasPrefix(".") {
                let source = String(mount.split(separator: ":")[0])
                #expect(FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent("docker/" + source).standardizedFileURL.path), "\(name): \(source)")
            }
            let port = try #require(node.http.split(separator: ":").last)
            let ports = service["ports"] as? [String] ?? []
            #expect(ports == ["\(port):8080"], "\(name): publishes its HTTP port")
            hostPorts.insert(String(port))
            let health = try #require(service["healthcheck"] as? [String: Any], "\(name): a health check (from x-node)")
            #expect((health["test"] as? [String])?.last?.hasSuffix("/healthz") == true)
            if let parent = node.parent {
                let depends = service["depends_on"] as? [String: [String: String]]
                #expect(depends?[Self.service(parent)]?["condition"] == "service_healthy", "\(name) waits for \(parent)")
            }
        }
        #expect(hostPorts.count == demo.nodes.count, "host ports are distinct")
    }

    @Test func theDockerTopologyIsTheDemoReachedByServiceNames() throws {
        let demo = try Topology(yaml: Self.text("cluster/topologies/demo.yaml"))
        let docker = try Topology(yaml: Self.text("docker/topology.yaml"))
        #expect(Set(docker.nodes.keys) == Set(demo.nodes.keys))
        for (id, node) in demo.nodes {
            let inDocker = try #require(docker.nodes[id])
            #expect(inDocker.publicKey == node.publicKey && inDocker.role == node.role && inDocker.parent == node.parent && inDocker.unit == node.unit)
            #expect(inDocker.committees == node.committees)
            #expect(inDocker.gossip == "\(Self.service(id)):\(node.gossip.split(separator: ":").last!)", "\(id)")
        }
        // The shared configuration points where compose mounts.
        let config = try #require(try Yams.load(yaml: Self.text("docker/node.yaml")) as? [String: [String: Any]])
        #expect(config["gossip"]?["topology"] as? String == "/etc/shequ/topology.yaml")
        #expect(config["gossip"]?["key"] as? String == "/run/secrets/node.key")
        #expect(config["data"]?["directory"] as? String == "/var/lib/shequ" && config["http"]?["host"] as? String == "0.0.0.0")
    }

    @Test func theDockerfileCopiesFilesThatExistAndRunsAsAUserWithAHealthCheck() throws {
        let lines = try Self.text("docker/Dockerfile").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let copies = lines.filter { $0.hasPrefix("COPY ") && !$0.contains("--from=") }
        #expect(copies.count >= 3)
        for copy in copies {
            let parts = copy.split(separator: " ").dropFirst().map(String.init)
            for source in parts.dropLast() {
                #expect(FileManager.default.fileExists(atPath: Self.repository.appendingPathComponent(source).path), "\(copy): \(source)")
            }
        }
        #expect(lines.contains { $0.hasPrefix("FROM swift:") } && lines.contains { $0.hasPrefix("FROM debian:") && $0.contains("slim") })
        let user = try #require(lines.last { $0.hasPrefix("USER ") })
        #expect(user != "USER root" && user != "USER 0")
        #expect(lines.contains { $0.hasPrefix("HEALTHCHECK") && $0.contains("/healthz") })
        #expect(lines.contains("ENTRYPOINT [\"shequ\", \"serve\"]"))
        #expect(lines.contains("CMD [\"--config\", \"/etc/shequ/node.yaml\"]"))
        for library in ["libsqlite3-0", "liblz4-1", "libqrencode4"] { #expect(lines.contains { $0.contains(library) }, "\(library)") }
    }
}
