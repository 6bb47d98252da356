import ArgumentParser
import Demo
import Foundation
import Gossip
import Node

/// Editing a topology file by command, so that operators never hand-edit YAML: add a node (a new street office), retire
/// one, and write one node's configuration from the topology. Each edit is checked by `Topology` before it is written.
extension Cluster {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a node to a topology file (created if missing); the file is checked before it is written.",
            discussion: "Give the node's public key (`shequ admin keygen` prints it on the node's machine), or --key to read it from a private key file.")
        @Argument(help: "The topology file.") var topology: String
        @Option(help: "The node id, e.g. street.yuepu.") var id: String
        @Option(help: "street, district or city.") var role: String
        @Option(help: "The parent node (a street's district, a district's city).") var parent: String?
        @Option(help: "The street or district this node serves, e.g. yuepu.") var unit: String?
        @Option(help: "host:port of its gossip listener.") var gossip: String
        @Option(help: "host:port of its HTTP listener.") var http: String
        @Option(help: "Its Ed25519 public key (base64).") var publicKey: String?
        @Option(help: "Its private key file, to read the public key from.") var key: String?
        @Option(help: "A committee the street owns, as id=name (repeatable).") var committee: [String] = []

        func run() throws {
            guard let role = TopologyNode.Role(rawValue: role) else { throw ValidationError("role is street, district or city") }
            let publicKey = try Cluster.publicKey(given: self.publicKey, keyFile: key)
            var committees: [String: String] = [:]
            for entry in committee {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw ValidationError("--committee is id=name, got \(entry)") }
                committees[parts[0]] = parts[1]
            }
            var nodes = try Cluster.nodes(in: topology)
            guard !nodes.contains(where: { $0.id == id }) else { throw ValidationError("\(id) is already in \(topology)") }
            nodes.append(TopologyNode(id: id, role: role, parent: parent, unit: unit, gossip: gossip, http: http, publicKey: publicKey, committees: committees))
            try Cluster.write(nodes, to: topology)
            let next = role == .city ? "" : "; give the file to \(parent ?? "its parent") and the city and send them SIGHUP, so that they accept it"
            say("added \(role.rawValue) \(id) to \(topology) (\(nodes.count) nodes)\(next)")
        }
    }

    struct Retire: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a street (or an empty district) from a topology file; its peers refuse it once they reload the file (SIGHUP).",
            discussion: "What the node wrote stays at its district and the city. A street's committees go with it: move them to another street first (add them there) if they live on.")
        @Argument(help: "The topology file.") var topology: String
        @Option(help: "The node id to retire.") var id: String

        func run() throws {
            var nodes = try Cluster.nodes(in: topology)
            guard let node = nodes.first(where: { $0.id == id }) else { throw ValidationError("\(id) is not in \(topology)") }
            guard node.role != .city else { throw ValidationError("the city cannot be retired") }
            let children = nodes.filter { $0.parent == id }.map(\.id)
            guard children.isEmpty else { throw ValidationError("\(id) still has \(children.joined(separator: ", ")); retire them first") }
            nodes.removeAll { $0.id == id }
            try Cluster.write(nodes, to: topology)
            say("retired \(id) from \(topology) (\(nodes.count) nodes left); give the file to \(node.parent ?? "its parent") and the city and send them SIGHUP")
        }
    }

    struct RotateKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Give a node a new key in a topology file; its old key still verifies the changes it signed through --through.",
            discussion: """
            Run after `shequ admin rotate-key` on the node, which prints the new public key and the last sequence number \
            the old key signed. Then send SIGHUP to the node's peers (its district and the city; a district's streets too) so \
            that they reload the topology: links under the old key are closed, and only the new key completes a handshake.
            """)
        @Argument(help: "The topology file.") var topology: String
        @Option(help: "The node id.") var id: String
        @Option(help: "The new Ed25519 public key (base64).") var publicKey: String?
        @Option(help: "The new private key file, to read the public key from.") var key: String?
        @Option(help: "The last sequence number the old key signed (as `shequ admin rotate-key` printed it).") var through: UInt64

        func run() throws {
            let newKey = try Cluster.publicKey(given: publicKey, keyFile: key)
            var nodes = try Cluster.nodes(in: topology)
            guard let index = nodes.firstIndex(where: { $0.id == id }) else { throw ValidationError("\(id) is not in \(topology)") }
            guard nodes[index].publicKey != newKey, !nodes[index].retiredKeys.contains(where: { $0.publicKey == newKey }) else {
                throw ValidationError("\(id) has had that key already; make a new one")
            }
            nodes[index] = nodes[index].rotated(to: newKey, through: through)
            try Cluster.write(nodes, to: topology)
            say("\(id) has a new key in \(topology); its old key verifies its changes 1-\(through) only. Give the file to its peers and send them SIGHUP")
        }
    }

    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write one node's configuration file (YAML) from the topology.")
        @Argument(help: "The topology file.") var topology: String
        @Option(help: "The node id.") var node: String
        @Option(help: "The node's private key file.") var key: String
        @Option(help: "The node's data directory.") var data: String
        @Option(help: "The configuration file to write.") var out: String

        func run() throws {
            let parsed = try Topology(yaml: String(contentsOfFile: topology, encoding: .utf8))
            guard let entry = parsed.nodes[node] else { throw ValidationError("\(node) is not in \(topology)") }
            let absolute = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
            var configuration = try ClusterLauncher.configuration(for: entry, topologyPath: absolute(topology), keysDirectory: "",
                                                                  data: "", faults: false)
            configuration.dataDirectory = absolute(data)
            configuration.keyPath = absolute(key)
            try configuration.yaml.write(toFile: out, atomically: true, encoding: .utf8)
            say("wrote \(out) for \(node) (HTTP \(entry.http), gossip \(entry.gossip))")
        }
    }

    /// A node's public key, given (`--public-key`) or read from its private key file (`--key`), and checked.
    static func publicKey(given: String?, keyFile: String?) throws -> String {
        let key: String
        switch (given, keyFile) {
        case (let given?, nil): key = given
        case (nil, let file?): key = try NodeKey.load(path: file).publicKey.rawRepresentation.base64EncodedString()
        default: throw ValidationError("give exactly one of --public-key and --key")
        }
        guard ChangeSignature.publicKey(base64: key) != nil else { throw ValidationError("\(key) is not an Ed25519 public key (base64 of 32 bytes)") }
        return key
    }

    /// The nodes of a topology file; none if it does not exist yet.
    static func nodes(in path: String) throws -> [TopologyNode] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        return Array(try Topology(yaml: String(contentsOfFile: path, encoding: .utf8)).nodes.values)
    }

    /// Checks the nodes as a topology, then writes it.
    static func write(_ nodes: [TopologyNode], to path: String) throws {
        let topology = try Topology(nodes: nodes)
        try topology.yaml.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
