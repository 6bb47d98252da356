import Demo
import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gossip
import Governance
import Node
import Replication
import ShequTestSupport
import Storage

/// A federation of real `shequ serve` processes in a temporary directory, on ports of its own.
final class TestFederation: @unchecked Sendable {
    struct Node: Equatable { let id: String; let http: String }
    let directory: String
    let topology: Topology
    let street: Node, district: Node, city: Node
    let committee: String
    var cadre = "", streetOfficer = "", districtOfficer = "", cityOfficer = ""
    var pids: [String: Int32] = [:]

    static var executable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("shequ").path
    }

    init(directory: String, topology: Topology) {
        self.directory = directory
        self.topology = topology
        let streetNode = topology.nodes.values.filter { $0.role == .street }.sorted { $0.id < $1.id }[0]
        let districtNode = topology.nodes[streetNode.parent!]!
        func node(_ n: TopologyNode) -> Node { Node(id: n.id, http: "http://\(n.http)") }
        street = node(streetNode)
        district = node(districtNode)
        city = node(topology.city)
        committee = streetNode.committees.keys.sorted()[0]
    }

    /// Two districts (two streets and one), three committees a street; or `districts` × `streets` of two committees.
    /// `tls: false` runs the links in plain TCP, for tests that speak to a gossip port as a raw peer.
    static func start(districts: Int = 2, streets: [Int] = [2, 1], tls: Bool = true) async throws -> TestFederation {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-fed-\(UUID().uuidString.prefix(8))").path
        // Each federation of this test process has ports of its own (suites run at once): 20 per federation, 40
        // federations before they are reused, in 20000-28999 (the benches use 12000, 14000, 15500, 29000 and 30500 up, all below the ephemeral ports from 32768).
        let base = 20_000 + (Int(getpid()) % 8) * 1_000 + (nextFederation.withLock { n in defer { n += 1 }; return n } % 40) * 20
        let shape = TopologyGenerator.Shape(districts: districts, streetsPerDistrict: streets, committeesPerStreet: Array(repeating: 3, count: streets.reduce(0, +)),
                                            gossipBasePort: base, httpBasePort: base + 10)
        let topology = try TopologyGenerator.generate(shape, keysDirectory: directory + "/keys")
        try topology.yaml.write(toFile: directory + "/topology.yaml", atomically: true, encoding: .utf8)
        let federation = TestFederation(directory: directory, topology: topology)
        try federation.makeAccounts()
        try FileManager.default.createDirectory(atPath: directory + "/capture", withIntermediateDirectories: true)
        setenv("SHEQU_CAPTURE_DIR", directory + "/capture", 1)
        let endpoints = try await ClusterLauncher.up(topologyPath: directory + "/topology.yaml", keysDirectory: directory + "/keys",
                                                     data: directory + "/data", executable: executable, faults: true, tls: tls, progress: { _ in })
        for endpoint in endpoints { federation.pids[endpoint.id] = endpoint.pid }
        return federation
    }

    func store(_ id: String) throws -> Store {
        let configuration = try ClusterLauncher.configuration(for: topology.nodes[id]!, topologyPath: directory + "/topology.yaml",
                                                              keysDirectory: directory + "/keys", data: directory + "/data", faults: true)
        return try configuration.openStore()
    }

    /// Staff accounts made on each node's database before it starts (as `shequ admin staff` would).
    func makeAccounts() throws {
        let streetStore = try store(street.id)
        try FederationBootstrap.defineCommittees(store: streetStore, topology: topology, node: street.id)
        let unit = topology.nodes[street.id]!.unit!, districtUnit = topology.nodes[district.id]!.unit!
        func staff(_ store: Store, _ role: Role, committee: String?, unit: String?, scope: Scope) throws -> String {
            try store.writeNow { tx in
                let id = tx.mintID(.member)
                try tx.append(Member.staff(id: id, role: role, displayName: role.label, committee: committee, unit: unit, scope: scope, author: store.nodeID))
                return try tx.issueToken(member: id)
            }
        }
        cadre = try staff(streetStore, .cadre, committee: committee, unit: nil, scope: .committee(committee))
        streetOfficer = try staff(streetStore, .streetOfficer, committee: nil, unit: unit, scope: .street(unit))
        districtOfficer = try staff(try store(district.id), .districtOfficer, committee: nil, unit: districtUnit, scope: .district(districtUnit))
        cityOfficer = try staff(try store(city.id), .cityOfficer, committee: nil, unit: nil, scope: .city)
    }

    // MARK: - HTTP

    func request(_ node: Node, _ method: String, _ path: String, token: String?, json: Any?) async throws -> (Int, Any?) {
        var request = URLRequest(url: URL(string: node.http + path)!)
        request.httpMethod = method
        request.timeoutInterval = 5
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
        }
        // A 429 is the node's rate limiter, not an answer: waited out as its Retry-After says (a few times at most),
        // as a client would, so that a test reading back what it wrote quickly does not take "busy" for "lost".
        for _ in 0..<5 {
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = response as! HTTPURLResponse
            if http.statusCode == 429 {
                let wait = min(5, max(1, Int(http.value(forHTTPHeaderField: "Retry-After") ?? "") ?? 1))
                try await Task.sleep(for: .seconds(wait))
                continue
            }
            return (http.statusCode, data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data))
        }
        return (429, nil)
    }

    func call(_ node: Node, _ method: String, _ path: String, token: String?, json: Any? = nil) async throws -> [String: Any] {
        let (status, body) = try await request(node, method, path, token: token, json: json)
        guard (200..<300).contains(status) else { throw TestFailure("\(method) \(node.id)\(path) → \(status) \(String(describing: body))") }
        return body as? [String: Any] ?? [:]
    }

    /// A GET's body as text, without a token (/metrics).
    func text(_ node: Node, _ path: String) async throws -> String {
        var request = URLRequest(url: URL(string: node.http + path)!)
        request.timeoutInterval = 5
        return String(decoding: try await URLSession.shared.data(for: request).0, as: UTF8.self)
    }

    func status(_ node: Node, _ path: String, token: String) async throws -> Int {
        try await request(node, "GET", path, token: token, json: nil).0
    }

    func token(for node: Node) -> String { node == street ? streetOfficer : node == district ? districtOfficer : cityOfficer }

    func digest(_ node: Node, _ committee: String) async throws -> String? {
        let body = try await call(node, "GET", "/v1/cluster/digests", token: token(for: node))
        return (body["digests"] as? [String: String])?[committee]
    }

    func converged(_ committee: String) async throws -> Bool {
        let a = try await digest(street, committee), b = try await digest(district, committee), c = try await digest(city, committee)
        return a != nil && a == b && b == c
    }

    /// Polls `condition` every 200 ms for at most `seconds`.
    func eventually(_ what: String, seconds: Double = 15, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure("not within \(seconds) s: \(what)")
    }

    // MARK: - Faults

    func cut(_ node: Node, from others: [Node]) async throws {
        _ = try await call(node, "PUT", "/v1/cluster/faults", token: token(for: node), json: ["blocked": others.map(\.id)])
        for other in others { _ = try await call(other, "PUT", "/v1/cluster/faults", token: token(for: other), json: ["blocked": [node.id]]) }
    }

    func heal() async throws {
        for node in [street, district, city] { _ = try await call(node, "PUT", "/v1/cluster/faults", token: token(for: node), json: ["blocked": [String]()]) }
    }

    func kill(_ node: Node) {
        if let pid = pids[node.id] { Foundation.kill(pid, SIGKILL) }
    }

    func restart(_ node: Node) async throws {
        let process = try ClusterLauncher.spawn(executable: Self.executable, configPath: "\(directory)/data/\(node.id)/node.yaml",
                                                logPath: "\(directory)/data/\(node.id)/node.log")
        pids[node.id] = process.processIdentifier
        try await eventually("\(node.id) back up") { try await self.request(node, "GET", "/healthz", token: nil, json: nil).0 == 200 }
    }

    func residentRows(_ node: Node) throws -> Int {
        try Store(path: "\(directory)/data/\(node.id)/node.sqlite", nodeID: node.id).readNow { try $0.residentCount() }
    }

    func integrity(_ node: Node) throws -> String {
        try Store(path: "\(directory)/data/\(node.id)/node.sqlite", nodeID: node.id).readNow { try $0.integrityCheck() }
    }

    /// Stops every process it started (by pid) and removes the directory.
    func stop() {
        for pid in pids.values { Foundation.kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, pids.values.contains(where: { Foundation.kill($0, 0) == 0 && !ClusterLauncher.isZombie($0) }) { usleep(100_000) }
        for pid in pids.values where Foundation.kill(pid, 0) == 0 { Foundation.kill(pid, SIGKILL) }
        if Self.failedToConverge { print("node logs kept in \(directory)/data") } else { try? FileManager.default.removeItem(atPath: directory) }
    }

    nonisolated(unsafe) static var failedToConverge = false
    static let nextFederation = Mutex(0)

}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) {
        self.description = description
        TestFederation.failedToConverge = true
    }
}
