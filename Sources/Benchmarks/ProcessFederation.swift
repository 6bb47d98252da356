import Demo
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

/// A federation of real `shequ serve` processes on loopback, started for a benchmark and stopped after it: a generated
/// topology of any size, an officer on every node, a cadre on every street, HTTP helpers, and the processes' memory.
public final class ProcessFederation: @unchecked Sendable {
    public let directory: String
    public let topology: Topology
    public let endpoints: [Endpoint]
    /// An officer's bearer token on every node (the cluster endpoints and the fault switch need one).
    public let officers: [NodeID: String]
    /// A committee of every street and the bearer token of its cadre (to post notices).
    public let cadres: [NodeID: (committee: String, token: String)]
    /// Approved residents of the first street's committee (`start(residents:)`), with their bearer tokens.
    public var residents: [(id: String, token: String)] = []
    private var stopped = false

    public var streets: [NodeID] { topology.nodes.values.filter { $0.role == .street }.map(\.id).sorted() }
    public var districts: [NodeID] { topology.nodes.values.filter { $0.role == .district }.map(\.id).sorted() }
    public var dataDirectory: String { (directory as NSString).appendingPathComponent("data") }

    init(directory: String, topology: Topology, endpoints: [Endpoint], officers: [NodeID: String], cadres: [NodeID: (committee: String, token: String)]) {
        self.directory = directory
        self.topology = topology
        self.endpoints = endpoints
        self.officers = officers
        self.cadres = cadres
    }

    /// The topology shape with `nodes` nodes: the demo's for 7, Shanghai's for 232, otherwise √n districts and
    /// four committees per street. Ports from `basePort` (gossip) and `basePort + 1000` (HTTP).
    public static func shape(nodes: Int, basePort: Int) -> TopologyGenerator.Shape {
        var shape: TopologyGenerator.Shape
        switch nodes {
        case ...7: shape = .demo
        case 232: shape = .shanghai
        default:
            let districts = max(1, Int(Double(nodes - 1).squareRoot()))
            let streets = nodes - 1 - districts
            let perDistrict = (0..<districts).map { streets / districts + ($0 < streets % districts ? 1 : 0) }
            shape = TopologyGenerator.Shape(districts: districts, streetsPerDistrict: perDistrict, committeesPerStreet: Array(repeating: 4, count: streets),
                                            gossipBasePort: 0, httpBasePort: 0)
        }
        shape.gossipBasePort = basePort
        shape.httpBasePort = basePort + 1_000
        return shape
    }

    /// Generates the topology and keys under `directory`, creates the accounts, starts every node and waits until the
    /// city's failure detector sees all of them alive.
    public static func start(nodes: Int, directory: String, executable: String, faults: Bool = false, basePort: Int = 30_500, tls: Bool = true,
                             tailProbeMillis: Int? = nil, residents: Int = 0, progress: @escaping @Sendable (String) -> Void) async throws -> ProcessFederation {
        let keys = (directory as NSString).appendingPathComponent("keys")
        let data = (directory as NSString).appendingPathComponent("data")
        let topologyPath = (directory as NSString).appendingPathComponent("topology.yaml")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let topology = try TopologyGenerator.generate(shape(nodes: nodes, basePort: basePort), keysDirectory: keys)
        try topology.yaml.write(toFile: topologyPath, atomically: true, encoding: .utf8)
        var officers: [NodeID: String] = [:]
        var cadres: [NodeID: (committee: String, token: String)] = [:]
        var members: [(id: String, token: String)] = []
        for node in topology.nodes.values.sorted(by: { $0.id < $1.id }) {
            let configuration = try ClusterLauncher.configuration(for: node, topologyPath: topologyPath, keysDirectory: keys, data: data, faults: faults)
            let store = try configuration.openStore()
            let role: Role = switch node.role { case .city: .cityOfficer; case .district: .districtOfficer; case .street: .streetOfficer }
            officers[node.id] = try DemoSeeder.officer(store: store, role: role, unit: node.unit, name: "值班员").token
            if node.role == .street, let committee = node.committees.keys.sorted().first {
                try FederationBootstrap.defineCommittees(store: store, topology: topology, node: node.id)
                cadres[node.id] = (committee, try DemoSeeder.account(store: store, role: .cadre, name: "主任", committee: committee).token)
                if members.isEmpty, residents > 0 {
                    members = try (0..<residents).map { try DemoSeeder.account(store: store, role: .resident, name: "居民\($0)", committee: committee) }
                }
            }
        }
        let started = Date()
        let endpoints = try await ClusterLauncher.up(topologyPath: topologyPath, keysDirectory: keys, data: data, executable: executable,
                                                     faults: faults, rateLimits: .benchmark, tls: tls, tailProbeMillis: tailProbeMillis, progress: progress)
        let federation = ProcessFederation(directory: directory, topology: topology, endpoints: endpoints, officers: officers, cadres: cadres)
        federation.residents = members
        let city = try federation.endpoint("city")
        let deadline = Date().addingTimeInterval(60 + Double(nodes) * 0.25)
        var alive = 0
        while Date() < deadline {
            if let (status, body) = try? await federation.request("GET", city.http + "/v1/cluster/members", token: officers["city"]),
               status == 200, let items = (try? Value(jsonBytes: body))?["items"].list {
                alive = items.filter { $0["state"].string == "alive" }.count
                if alive >= topology.nodes.count - 1 { break }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        guard alive >= topology.nodes.count - 1 else {
            await federation.stop()
            throw BenchmarkFailure("the city sees \(alive) of \(topology.nodes.count - 1) nodes alive after \(Int(Date().timeIntervalSince(started))) s")
        }
        progress("\(topology.nodes.count) nodes up and alive in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        return federation
    }

    public func endpoint(_ id: NodeID) throws -> Endpoint {
        guard let endpoint = endpoints.first(where: { $0.id == id }) else { throw BenchmarkFailure("no node \(id)") }
        return endpoint
    }

    /// One HTTP request; the status and body.
    public func request(_ method: String, _ url: String, token: String?, json: Value? = nil, timeout: TimeInterval = 10) async throws -> (Int, Data) {
        guard let url = URL(string: url) else { throw BenchmarkFailure("bad URL \(url)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = timeout
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = Data(json.canonicalJSONBytes)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (body, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, body)
    }

    /// Posts a notice on the street's committee board as its cadre; the post's id.
    public func post(at street: NodeID, title: String) async throws -> String {
        guard let cadre = cadres[street] else { throw BenchmarkFailure("\(street) is not a street") }
        let url = try endpoint(street).http + "/v1/committees/\(cadre.committee)/boards/announcements/posts"
        let (status, body) = try await request("POST", url, token: cadre.token, json: .object(["title": .string(title), "body": .string("基准测试：\(title)")]))
        guard status == 201 || status == 200, let id = (try? Value(jsonBytes: body))?["id"].string else {
            throw BenchmarkFailure("post at \(street): HTTP \(status) \(String(decoding: body, as: UTF8.self).prefix(200))")
        }
        return id
    }

    /// Posts a notice naming photos uploaded at the street; the post's id.
    public func postWithPhotos(at street: NodeID, title: String, photos: [String]) async throws -> String {
        guard let cadre = cadres[street] else { throw BenchmarkFailure("\(street) is not a street") }
        let url = try endpoint(street).http + "/v1/committees/\(cadre.committee)/boards/announcements/posts"
        let (status, body) = try await request("POST", url, token: cadre.token, json: .object([
            "title": .string(title), "body": .string("基准测试：\(title)"), "photos": .strings(photos),
        ]), timeout: 30)
        guard status == 201, let id = (try? Value(jsonBytes: body))?["id"].string else {
            throw BenchmarkFailure("post with photos at \(street): HTTP \(status) \(String(decoding: body, as: UTF8.self).prefix(200))")
        }
        return id
    }

    /// Blocks (`blocked` non-empty) or restores the node's replication links through its fault switch.
    public func block(_ node: NodeID, _ blocked: [NodeID]) async throws {
        try await setFaults(node, json: .object(["blocked": .strings(blocked)]))
    }

    /// Sets the node's fault switch (`PUT /v1/cluster/faults`): cut links, delay and loss.
    public func setFaults(_ node: NodeID, json: Value) async throws {
        let (status, body) = try await request("PUT", try endpoint(node).http + "/v1/cluster/faults", token: officers[node], json: json)
        guard status == 200 else { throw BenchmarkFailure("faults at \(node): HTTP \(status) \(String(decoding: body, as: UTF8.self).prefix(200))") }
    }

    /// The node's committee digests (`/v1/cluster/digests`).
    public func digests(_ node: NodeID) async throws -> [String: String] {
        let (status, body) = try await request("GET", try endpoint(node).http + "/v1/cluster/digests", token: officers[node])
        guard status == 200, let digests = (try? Value(jsonBytes: body))?["digests"].object else { throw BenchmarkFailure("digests at \(node): HTTP \(status)") }
        return digests.compactMapValues(\.string)
    }

    /// Whether every committee's digest is the same at its street, its district and the city.
    public func converged() async -> Bool {
        guard let city = try? await digests("city") else { return false }
        for district in districts {
            guard let mine = try? await digests(district) else { return false }
            for (committee, digest) in mine where city[committee] != digest { return false }
        }
        for street in streets {
            guard let mine = try? await digests(street), let district = topology.nodes[street]?.parent,
                  let theirs = try? await digests(district) else { return false }
            for (committee, digest) in mine where theirs[committee] != digest { return false }
        }
        return true
    }

    /// The sum over every node of each Prometheus series whose name starts with `prefix`, keyed by the series without
    /// the node (e.g. `shequ_gossip_messages_total{kind="sync"}`).
    public func metrics(prefix: String) async throws -> [String: Double] {
        var sums: [String: Double] = [:]
        for endpoint in endpoints {
            let (status, body) = try await request("GET", endpoint.http + "/metrics", token: nil)
            guard status == 200 else { throw BenchmarkFailure("metrics at \(endpoint.id): HTTP \(status)") }
            for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
                sums[String(line[..<space]), default: 0] += value
            }
        }
        return sums
    }

    /// Resident and proportional memory of every node process, in bytes, by node.
    public func memory() -> [NodeID: (rss: Int, pss: Int)] {
        var out: [NodeID: (rss: Int, pss: Int)] = [:]
        for endpoint in endpoints {
            out[endpoint.id] = (ProcessProbe.kilobytes("VmRSS", file: "/proc/\(endpoint.pid)/status") * 1024,
                                ProcessProbe.kilobytes("Pss", file: "/proc/\(endpoint.pid)/smaps_rollup") * 1024)
        }
        return out
    }

    /// Stops every node (SIGTERM, then SIGKILL after 15 s).
    public func stop() async {
        guard !stopped else { return }
        stopped = true
        _ = try? await ClusterLauncher.down(data: dataDirectory)
    }

    /// A stopped node's database, to read what it ended with.
    public func store(_ node: NodeID) throws -> Store {
        precondition(stopped, "read the databases once the nodes are stopped")
        let path = ((dataDirectory as NSString).appendingPathComponent(node) as NSString).appendingPathComponent("node.sqlite")
        return try Store(path: path, nodeID: node)
    }

    /// When each entity's first change arrived at each node (Unix ms); read from the databases once stopped.
    public func firstArrivals(entities: [String]) throws -> [NodeID: [String: Int64]] {
        var out: [NodeID: [String: Int64]] = [:]
        for node in topology.nodes.keys { out[node] = try store(node).readNow { try $0.firstArrivals(entities: entities) } }
        return out
    }
}

/// What the benches read of other processes: memory and CPU figures from /proc, and a tool's output; and a process's
/// priority, which `bench city-peak` raises for the city.
public enum ProcessProbe {
    /// Runs a tool to completion; its standard output and error together.
    static func output(of executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// A `Name:  N kB` field of a /proc file, in kB (0 if absent).
    public static func kilobytes(_ field: String, file: String) -> Int {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            return Int(line.dropFirst(field.count + 1).split(whereSeparator: \.isWhitespace).first ?? "") ?? 0
        }
        return 0
    }

    private static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// The CPU time a process has used, user and system, in seconds (0 if it is gone).
    static func cpuSeconds(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return 0 }
        // After the command's closing parenthesis: state, ppid, ... utime (14th field) and stime (15th).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / ticksPerSecond
    }

    /// Sets the nice value of every thread of a process (on Linux a nice value belongs to a thread; threads made later
    /// take their maker's).
    static func renice(pid: Int32, to nice: Int) throws {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").compactMap { Int32($0) }
        for tid in tasks where setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(tid), Int32(nice)) != 0 {
            throw BenchmarkFailure("setpriority(\(tid), \(nice)) failed: errno \(errno)")
        }
    }

    /// The CPU time the whole machine has been busy since boot (every core), in seconds.
    static func machineBusySeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let line = text.split(separator: "\n").first else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 5 else { return 0 }
        return (ticks.reduce(0, +) - ticks[3] - ticks[4]) / ticksPerSecond   // all but idle and iowait
    }
}
