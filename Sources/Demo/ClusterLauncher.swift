import Foundation
import Node
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gossip
import HTTPAPI
import Governance
import Replication
import Storage

/// `shequ cluster up/down`: one `shequ serve` process per node of a topology, in the background.
public enum ClusterLauncher {
    /// Why the cluster could not be started or stopped.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The configuration each node is started with.
    public static func configuration(for node: TopologyNode, topologyPath: String, keysDirectory: String, data: String, faults: Bool,
                                     rateLimits: RateLimits = .standard, tls: Bool = true, tailProbeMillis: Int? = nil) throws -> NodeConfiguration {
        let http = node.http.split(separator: ":")
        guard http.count == 2, let port = Int(http[1]) else { throw Failure(description: "node \(node.id): http is not host:port") }
        var configuration = NodeConfiguration(id: node.id, role: node.role.rawValue, unit: node.unit, httpHost: String(http[0]), httpPort: port,
                                              dataDirectory: (data as NSString).appendingPathComponent(node.id), topologyPath: topologyPath,
                                              keyPath: (keysDirectory as NSString).appendingPathComponent("\(node.id).key"), faultInjection: faults)
        configuration.rateLimits = rateLimits
        configuration.gossipTLS = tls
        configuration.gossipTailProbeMillis = tailProbeMillis
        if node.role == .district { configuration.departments = Self.departments }
        return configuration
    }

    /// The departments each district of a local federation dispatches to (`dispatch.departments`).
    public static let departments = ["区城管执法局", "区绿化市容局", "区建管委", "区房管局", "区市政养护所", "区民政局", "区公安分局"]

    /// Starts every node, waits until each answers /healthz, and writes `DIR/endpoints.json`.
    @discardableResult
    public static func up(topologyPath: String, keysDirectory: String, data: String, executable: String, faults: Bool = false,
                          rateLimits: RateLimits = .standard, tls: Bool = true, tailProbeMillis: Int? = nil,
                          progress: (String) -> Void) async throws -> [Endpoint] {
        let topologyPath = URL(fileURLWithPath: topologyPath).standardizedFileURL.path
        let keysDirectory = URL(fileURLWithPath: keysDirectory).standardizedFileURL.path
        let data = URL(fileURLWithPath: data).standardizedFileURL.path
        let topology = try Topology(yaml: String(contentsOfFile: topologyPath, encoding: .utf8))
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        var endpoints: [Endpoint] = []
        let order: [TopologyNode.Role] = [.city, .district, .street]
        for node in topology.nodes.values.sorted(by: { (order.firstIndex(of: $0.role)!, $0.id) < (order.firstIndex(of: $1.role)!, $1.id) }) {
            let configuration = try configuration(for: node, topologyPath: topologyPath, keysDirectory: keysDirectory, data: data, faults: faults,
                                                  rateLimits: rateLimits, tls: tls, tailProbeMillis: tailProbeMillis)
            try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
            let configPath = (configuration.dataDirectory as NSString).appendingPathComponent("node.yaml")
            try configuration.yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
            let process = try spawn(executable: executable, configPath: configPath,
                                    logPath: (configuration.dataDirectory as NSString).appendingPathComponent("node.log"))
            endpoints.append(Endpoint(id: node.id, role: node.role.rawValue, parent: node.parent, http: "http://\(node.http)", gossip: node.gossip,
                                      pid: process.processIdentifier))
        }
        try JSONFile.write(endpoints.map(\.value), to: (data as NSString).appendingPathComponent("endpoints.json"))
        progress("started \(endpoints.count) nodes; waiting for them to answer ...")
        let deadline = Date().addingTimeInterval(60 + Double(endpoints.count) * 0.25)
        var waiting = Set(endpoints.map(\.id))
        while !waiting.isEmpty, Date() < deadline {
            for endpoint in endpoints where waiting.contains(endpoint.id) {
                if await healthy(endpoint.http) { waiting.remove(endpoint.id) }
                else if kill(endpoint.pid, 0) != 0 {
                    stop(endpoints)
                    // The log's last lines go with the error: a bench removes its scratch directory, log and all.
                    let log = "\(data)/\(endpoint.id)/node.log"
                    let last = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").suffix(5)
                    throw Failure(description: "node \(endpoint.id) exited; see \(log)" + last.map { "\n  | \($0)" }.joined())
                }
            }
            if !waiting.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
        }
        guard waiting.isEmpty else {
            // A federation that did not come up is not left running.
            stop(endpoints)
            throw Failure(description: "nodes did not answer in time: \(waiting.sorted().joined(separator: ", "))")
        }
        return endpoints
    }

    /// SIGKILLs the nodes started for a federation that failed to come up.
    static func stop(_ endpoints: [Endpoint]) {
        for endpoint in endpoints { kill(endpoint.pid, SIGKILL) }
    }

    /// Starts `shequ serve --config configPath` in the background, appending its output to `logPath`.
    public static func spawn(executable: String, configPath: String, logPath: String) throws -> Process {
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--config", configPath]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func healthy(_ base: String) async -> Bool {
        guard let url = URL(string: base + "/healthz") else { return false }
        var request = URLRequest(url: url)
        request.timeoutInterval = 1
        guard let (_, response) = try? await URLSession.shared.data(for: request) else { return false }
        return (response as? HTTPURLResponse)?.statusCode == 200
    }

    /// Stops every node of `DIR/endpoints.json`: SIGTERM, then SIGKILL for any still running after 15 s.
    public static func down(data: String) async throws -> Int {
        let path = (data as NSString).appendingPathComponent("endpoints.json")
        guard FileManager.default.fileExists(atPath: path) else { throw Failure(description: "no \(path): nothing was started there") }
        let endpoints = try JSONFile.read(path, as: Endpoint.init)
        for endpoint in endpoints where kill(endpoint.pid, 0) == 0 { kill(endpoint.pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline, endpoints.contains(where: { kill($0.pid, 0) == 0 && !isZombie($0.pid) }) {
            try await Task.sleep(for: .milliseconds(100))
        }
        var killed = 0
        for endpoint in endpoints where kill(endpoint.pid, 0) == 0 && !isZombie(endpoint.pid) {
            kill(endpoint.pid, SIGKILL)
            killed += 1
        }
        return endpoints.count - killed
    }

    /// Whether a process has exited but not been reaped (its parent still holds it).
    public static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}
