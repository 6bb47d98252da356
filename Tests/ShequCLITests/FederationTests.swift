import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gossip
import Governance
import Node
import Replication
import ShequTestSupport
import Storage
import Testing

/// The demo-shaped federation as real processes on loopback (issue 3's "done when").
@Suite(.serialized) struct FederationTests {
    @Test(.timeLimit(.minutes(4)))
    func replicatesSurvivesPartitionAndSIGKILLAndConverges() async throws {
        let federation = try await TestFederation.start()
        defer { federation.stop() }
        let x = federation.committee
        let (street, district, city) = (federation.street, federation.district, federation.city)

        // A resident joins at the street and is approved: their personal data must stay there.
        let code = try await federation.call(street, "GET", "/v1/committees/\(x)/join-code", token: federation.cadre)
        let joined = try await federation.call(street, "POST", "/v1/committees/\(x)/join", token: nil, json: [
            "joinCode": code["joinCode"] as! String, "realName": "赵桂英", "phone": "13600001111", "building": "5号楼", "room": "302", "birthYear": 1950,
        ])
        let residentID = try #require(joined["memberId"] as? String)
        _ = try await federation.call(street, "POST", "/v1/committees/\(x)/members/\(residentID)/approve", token: federation.cadre)

        // A post written at a street is readable at its district and at the city.
        let post = try await federation.call(street, "POST", "/v1/committees/\(x)/boards/announcements/posts", token: federation.cadre,
                                             json: ["title": "停水通知", "body": "本周四停水清洗水箱。"])
        let postID = try #require(post["id"] as? String)
        let started = Date()
        try await federation.eventually("post at district") { try await federation.status(district, "/v1/posts/\(postID)", token: federation.districtOfficer) == 200 }
        try await federation.eventually("post at city") { try await federation.status(city, "/v1/posts/\(postID)", token: federation.cityOfficer) == 200 }
        let latency = Date().timeIntervalSince(started)
        print("street→city visible after \(Int(latency * 1000)) ms")

        // A district-wide announcement written at the district is readable at its street.
        let survey = try await federation.call(district, "POST", "/v1/committees/\(x)/boards/district-survey/posts", token: federation.districtOfficer,
                                               json: ["title": "宝山大调研", "body": "请居民填写社区需求问卷。"])
        let surveyID = try #require(survey["id"] as? String)
        try await federation.eventually("district board at street") {
            let page = try await federation.call(street, "GET", "/v1/committees/\(x)/boards/district-survey/posts", token: federation.cadre)
            return ((page["items"] as? [[String: Any]]) ?? []).contains { $0["id"] as? String == surveyID }
        }

        // A ticket escalated at the street and dispatched at the district has one history on all three nodes.
        let ticket = try await federation.call(street, "POST", "/v1/committees/\(x)/tickets", token: federation.cadre,
                                               json: ["category": "facilities", "title": "路灯不亮", "location": ["address": "东门"]])
        let ticketID = try #require(ticket["id"] as? String)
        _ = try await federation.call(street, "POST", "/v1/tickets/\(ticketID)/events", token: federation.cadre, json: ["type": "escalate"])
        _ = try await federation.call(street, "POST", "/v1/tickets/\(ticketID)/events", token: federation.streetOfficer, json: ["type": "escalate"])
        try await federation.eventually("ticket at district") { try await federation.status(district, "/v1/tickets/\(ticketID)", token: federation.districtOfficer) == 200 }
        let dispatched = try await federation.call(district, "POST", "/v1/tickets/\(ticketID)/events", token: federation.districtOfficer,
                                                   json: ["type": "assign", "assignee": "区绿化市容局", "note": "派单"])
        #expect(dispatched["level"] as? String == "district")
        func history(_ node: TestFederation.Node) async throws -> [String] {
            let t = try await federation.call(node, "GET", "/v1/tickets/\(ticketID)", token: node == street ? federation.cadre : node == district ? federation.districtOfficer : federation.cityOfficer)
            return ((t["history"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        }
        try await federation.eventually("same ticket history everywhere") {
            let (a, b, c) = (try await history(street), try await history(district), try await history(city))
            return a.count == 3 && a == b && b == c
        }

        // Every rollup answers over the replicas at the district and the city, and the command centre shows the committee.
        for node in [district, city] {
            let token = federation.token(for: node)
            try await federation.eventually("rollups at \(node.id)") {
                let tickets = try await federation.call(node, "GET", "/v1/rollups/tickets?groupBy=committee", token: token)
                let participation = try await federation.call(node, "GET", "/v1/rollups/participation", token: token)
                let members = ((participation["items"] as? [[String: Any]]) ?? []).first { $0["key"] as? String == x }?["members"] as? Int
                return ((tickets["items"] as? [[String: Any]]) ?? []).contains { $0["key"] as? String == x && $0["total"] as? Int == 1 }
                    && (members ?? 0) >= 1
            }
            for path in ["/v1/rollups/sla", "/v1/rollups/hot-topics?window=7d", "/v1/rollups/polls", "/dashboard", "/dashboard/committees/\(x)"] {
                #expect(try await federation.status(node, path, token: token) == 200, "\(node.id)\(path)")
            }
            // Open311 on every node, over the tickets it holds.
            let (status, body) = try await federation.request(node, "GET", "/open311/v2/requests/\(ticketID).json", token: nil, json: nil)
            #expect(status == 200 && ((body as? [[String: Any]])?.first?["agency_responsible"] as? String) == "区网格化平台")
        }

        // Partition: the street is cut from district and city; both sides keep writing.
        try await federation.cut(street, from: [district, city])
        for i in 0..<5 {
            let r = try await federation.call(street, "POST", "/v1/committees/\(x)/boards/announcements/posts", token: federation.cadre,
                                              json: ["title": "断网期间公告 \(i)", "body": "街道照常受理。"])
            #expect(r["id"] != nil)
        }
        let duringCut = try await federation.call(district, "POST", "/v1/tickets/\(ticketID)/events", token: federation.districtOfficer,
                                                  json: ["type": "comment", "note": "已派城管处理"])
        #expect(duringCut["id"] as? String == ticketID)
        try await Task.sleep(for: .seconds(1))
        #expect(try await federation.digest(street, x) != federation.digest(district, x))
        try await federation.heal()
        try await federation.eventually("digests equal after healing", seconds: 30) { try await federation.converged(x) }

        // SIGKILL in the middle of writes, restart, catch up.
        async let writes: Void = {
            for i in 0..<20 {
                _ = try? await federation.call(street, "POST", "/v1/committees/\(x)/boards/announcements/posts", token: federation.cadre,
                                               json: ["title": "写入 \(i)", "body": "测试"])
            }
        }()
        try await Task.sleep(for: .milliseconds(150))
        federation.kill(street)
        await writes
        _ = try await federation.call(district, "POST", "/v1/tickets/\(ticketID)/events", token: federation.districtOfficer,
                                      json: ["type": "comment", "note": "街道重启期间"])
        try await federation.restart(street)
        try await federation.eventually("digests equal after restart", seconds: 30) { try await federation.converged(x) }
        let integrity = try federation.integrity(street)
        #expect(integrity == "ok")

        // The failure detector sees every member alive again once the restarted street is back.
        try await federation.eventually("every member alive in the city's view", seconds: 40) {
            let members = try await federation.call(city, "GET", "/v1/cluster/members", token: federation.cityOfficer)
            let states = ((members["items"] as? [[String: Any]]) ?? []).compactMap { $0["state"] as? String }
            return states.count == federation.topology.nodes.count - 1 && states.allSatisfy { $0 == "alive" }
        }

        // The city's /metrics, from a real process, is valid for promtool and carries replication figures.
        var metricsRequest = URLRequest(url: URL(string: city.http + "/metrics")!)
        metricsRequest.timeoutInterval = 5
        let metrics = String(decoding: try await URLSession.shared.data(for: metricsRequest).0, as: UTF8.self)
        for name in ["shequ_gossip_bytes_total", "shequ_changes_applied_total", "shequ_sqlite_write_duration_seconds_bucket",
                     "shequ_swim_members", "shequ_replication_lag_changes", "shequ_http_requests_total", "shequ_gossip_compression_ratio"] {
            #expect(metrics.contains(name), "missing \(name)")
        }
        if let (passed, report) = try Promtool.check(metrics) { #expect(passed, "promtool: \(report)") }

        // Residents' personal data stays on the street: the replicas hold none.
        #expect(try federation.residentRows(street) == 1)
        #expect(try federation.residentRows(district) == 0 && federation.residentRows(city) == 0)
        let replicated = try await federation.call(city, "GET", "/v1/committees/\(x)/members", token: federation.cityOfficer)
        let names = ((replicated["items"] as? [[String: Any]]) ?? []).compactMap { $0["displayName"] as? String }
        #expect(names.contains("赵**") && !names.contains("赵桂英"))

        // A compressed payload captured from a real connection decodes with the lz4 tool into a message.
        let captures = try FileManager.default.contentsOfDirectory(atPath: federation.directory + "/capture").filter { $0.hasSuffix(".lz4") }
        #expect(!captures.isEmpty)
        if let first = captures.sorted().first, FileManager.default.isExecutableFile(atPath: "/usr/bin/lz4") {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/lz4")
            process.arguments = ["-d", "-c", federation.directory + "/capture/" + first]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let decoded = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(try GossipMessage(payload: Array(decoded)) != .swim(.nack(seq: 0)))
        }

        // Schemathesis over the routes only a node with a replication service has, on a real street process as its
        // officer (HTTPAPITests covers the rest); the fault switch it fuzzes is why this comes last.
        let config = """
        base-url = "\(street.http)"
        headers = { Authorization = "Bearer \(federation.streetOfficer)" }
        [generation]
        max-examples = 10
        """
        let (status, report) = try await offPool {
            try Schemathesis.run(config: config, in: federation.directory, arguments: ["--include-path-regex", "^/v1/cluster/|^/metrics$"])
        }
        #expect(status == 0, "schemathesis found failures:\n\(report)")
        #expect(Schemathesis.tested(report) == 5, "\(report)")
    }
}

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

    static func start() async throws -> TestFederation {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-fed-\(UUID().uuidString.prefix(8))").path
        let base = 20_000 + Int.random(in: 0..<400) * 20
        let shape = TopologyGenerator.Shape(districts: 2, streetsPerDistrict: [2, 1], committeesPerStreet: [3, 3, 3], gossipBasePort: base, httpBasePort: base + 10)
        let topology = try TopologyGenerator.generate(shape, keysDirectory: directory + "/keys")
        try topology.yaml.write(toFile: directory + "/topology.yaml", atomically: true, encoding: .utf8)
        let federation = TestFederation(directory: directory, topology: topology)
        try federation.makeAccounts()
        try FileManager.default.createDirectory(atPath: directory + "/capture", withIntermediateDirectories: true)
        setenv("SHEQU_CAPTURE_DIR", directory + "/capture", 1)
        let endpoints = try await ClusterLauncher.up(topologyPath: directory + "/topology.yaml", keysDirectory: directory + "/keys",
                                                     data: directory + "/data", executable: executable, faults: true, progress: { _ in })
        for endpoint in endpoints { federation.pids[endpoint.id] = endpoint.pid }
        return federation
    }

    func store(_ id: String) throws -> Store {
        let configuration = try ClusterLauncher.configuration(for: topology.nodes[id]!, topologyPath: directory + "/topology.yaml",
                                                              keysDirectory: directory + "/keys", data: directory + "/data", faults: true)
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        return try Store(path: configuration.databasePath, nodeID: id, signer: try NodeKey.signer(path: configuration.keyPath!))
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
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as! HTTPURLResponse).statusCode, data.isEmpty ? nil : try? JSONSerialization.jsonObject(with: data))
    }

    func call(_ node: Node, _ method: String, _ path: String, token: String?, json: Any? = nil) async throws -> [String: Any] {
        let (status, body) = try await request(node, method, path, token: token, json: json)
        guard (200..<300).contains(status) else { throw TestFailure("\(method) \(node.id)\(path) → \(status) \(String(describing: body))") }
        return body as? [String: Any] ?? [:]
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

}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) {
        self.description = description
        TestFederation.failedToConverge = true
    }
}
