import ArgumentParser
import Demo
import Foundation
import Gossip
import Node

/// `shequ cluster ...`: start and stop a topology as processes, and generate topologies.
struct Cluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start or stop one process per node of a topology; generate topologies.",
        subcommands: [Up.self, Down.self, Generate.self, Add.self, Retire.self, RotateKey.self, Config.self]
    )

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start every node of TOPOLOGY in the background; writes DIR/endpoints.json.")
        @Argument(help: "The topology file.") var topology: String
        @Option(help: "Where the nodes keep their data and logs.") var data: String
        @Option(help: "The directory of node keys (<id>.key); default: keys/<topology name> beside the topology.") var keys: String?
        @Flag(help: "Enable the fault-injection switch (PUT /v1/cluster/faults), for chaos tests.") var faults = false

        func run() async throws {
            let keys = keys ?? Cluster.defaultKeys(for: topology)
            let endpoints = try await ClusterLauncher.up(topologyPath: topology, keysDirectory: keys, data: data,
                                                         executable: Cluster.executable, faults: faults, progress: say)
            for endpoint in endpoints { say("\(endpoint.id)\t\(endpoint.role)\t\(endpoint.http)\tpid \(endpoint.pid)") }
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop every node started with `cluster up --data DIR`.")
        @Option(help: "The directory given to `cluster up`.") var data: String

        func run() async throws {
            let stopped = try await ClusterLauncher.down(data: data)
            say("stopped \(stopped) nodes gracefully")
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a topology (demo or shanghai) and a fresh key per node.")
        @Argument(help: "demo (1 city, 2 districts, 4 streets, 24 committees) or shanghai (16 districts, 215 streets, 6,077 committees).")
        var shape: String
        @Option(help: "The topology file to write.") var out: String
        @Option(help: "Where to write the node keys; default: keys/<name> beside the topology.") var keys: String?

        func run() throws {
            let generated: TopologyGenerator.Shape
            switch shape {
            case "demo": generated = .demo
            case "shanghai": generated = .shanghai
            default: throw ValidationError("shape is demo or shanghai")
            }
            let topology = try TopologyGenerator.generate(generated, keysDirectory: keys ?? Cluster.defaultKeys(for: out))
            try topology.yaml.write(toFile: out, atomically: true, encoding: .utf8)
            let streets = topology.nodes.values.filter { $0.role == .street }
            say("wrote \(out): \(topology.nodes.count) nodes, \(streets.count) streets, \(topology.committeeOwner.count) committees")
        }
    }

    /// `cluster/topologies/demo.yaml` → `cluster/keys/demo`.
    static func defaultKeys(for topology: String) -> String {
        let url = URL(fileURLWithPath: topology)
        let name = url.deletingPathExtension().lastPathComponent
        return url.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("keys/\(name)").path
    }

    /// This executable, to start nodes with.
    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0], relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
    }
}
