import ArgumentParser
import Demo
import Foundation
import FoundationNetworking
import Gossip
import Governance
import Logging
import Node
import Replication
import Storage

/// `shequ demo`: the embedded default. A whole local federation — 1 city, 2 districts, 4 streets,
/// 24 committees — as separate processes on loopback, seeded (once) with realistic Chinese data;
/// writes `endpoints.json` and `demo-accounts.json`; Ctrl-C or SIGTERM stops it all.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Run the demo federation on loopback with seeded data; Ctrl-C stops it.")

    @Option(help: "Where the demo keeps its data.") var data = "data/demo"
    @Option(help: "The demo topology.") var topology = "cluster/topologies/demo.yaml"
    @Option(help: "The demo's node keys; default: keys/<topology name> beside the topology.") var keys: String?
    @Option(help: "Seed for the generated residents and activity.") var seed: UInt64 = 2019
    @Flag(help: "Seed and write the files, then exit without serving.") var seedOnly = false

    func run() async throws {
        let directory = URL(fileURLWithPath: data).standardizedFileURL.path
        let keys = keys ?? Cluster.defaultKeys(for: topology)
        let accountsPath = (directory as NSString).appendingPathComponent("demo-accounts.json")
        try seedIfNeeded(directory: directory, keys: keys)
        if seedOnly { return }

        let endpoints = try await ClusterLauncher.up(topologyPath: self.topology, keysDirectory: keys, data: directory, executable: Cluster.executable, progress: say)
        let city = endpoints.first { $0.role == "city" }!
        say("\nShequ demo federation is running:")
        for endpoint in endpoints { say("  \(endpoint.role.padding(toLength: 9, withPad: " ", startingAt: 0)) \(endpoint.id.padding(toLength: 22, withPad: " ", startingAt: 0)) \(endpoint.http)") }
        let accounts = try JSONFile.read(accountsPath, as: DemoAccount.init)
        let cityOfficer = accounts.first { $0.role == Role.cityOfficer.rawValue }
        let residentLink = await Self.signInLink(role: .resident, accounts: accounts, endpoints: endpoints)
        let deskLink = await Self.signInLink(role: .secretary, accounts: accounts, endpoints: endpoints)
        say("""
          city node (command centre): \(city.http)
          dashboard (signs in the city officer): \(city.http)/dashboard?token=\(cityOfficer?.token ?? "")
          residents' app (signs in a demo resident; open it on a phone-sized window): \(residentLink ?? "unavailable")
          the cadre's desk (signs in that committee's secretary, whose API token then ends): \(deskLink.map { $0 + " then /app/work" } ?? "unavailable")
          accounts (a token for every role): \(accountsPath)
        Ctrl-C stops it.
        """)
        await Self.waitForSignal()
        say("stopping ...")
        let stopped = try await ClusterLauncher.down(data: directory)
        say("stopped \(stopped) of \(endpoints.count) nodes gracefully")
    }

    /// A one-time sign-in link for the first demo account with `role` (of the first demo resident's committee), issued by
    /// a cadre of that committee at its street node (a new one at every start: a link works once).
    static func signInLink(role: Role, accounts: [DemoAccount], endpoints: [Endpoint]) async -> String? {
        guard let first = accounts.first(where: { $0.role == Role.resident.rawValue }), let committee = first.committee,
              let resident = accounts.first(where: { $0.role == role.rawValue && $0.committee == committee }),
              let cadre = accounts.first(where: { $0.role == Role.cadre.rawValue && $0.committee == committee }),
              let street = endpoints.first(where: { $0.id == resident.node }),
              let url = URL(string: "\(street.http)/v1/committees/\(committee)/members/\(resident.memberId)/sign-in-code") else { return nil }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("Bearer \(cadre.token)", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 10
        guard let (data, _) = try? await URLSession.shared.data(for: request),
              let answer = try? Value(jsonBytes: Array(data)), let code = answer["code"].string else { return nil }
        return "\(street.http)/app/sign-in?code=\(code)"
    }

    /// Seeds every node's database once (synchronous SQLite work; the command runs it before serving anything).
    func seedIfNeeded(directory: String, keys: String) throws {
        let topology = try Topology(yaml: String(contentsOfFile: self.topology, encoding: .utf8))
        let accountsPath = (directory as NSString).appendingPathComponent("demo-accounts.json")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: accountsPath) {
            say("seeding \(topology.committeeOwner.count) committees on \(topology.nodes.count) nodes into \(directory) ...")
            var accounts: [DemoAccount] = []
            for node in topology.nodes.values.sorted(by: { $0.id < $1.id }) {
                let configuration = try ClusterLauncher.configuration(for: node, topologyPath: self.topology, keysDirectory: keys, data: directory, faults: false)
                let clock = DemoClock(startingAt: node.role == .street ? DemoClock.historyStart : nil)
                let store = try configuration.openStore(wallMillis: clock.wallMillis)
                switch node.role {
                case .city:
                    accounts.append(try DemoSeeder.officer(store: store, role: .cityOfficer, unit: nil, name: "上海市 指挥中心"))
                case .district:
                    accounts.append(try DemoSeeder.officer(store: store, role: .districtOfficer, unit: node.unit, name: "\(node.unit ?? "") 区网格化平台"))
                case .street:
                    try FederationBootstrap.defineCommittees(store: store, topology: topology, node: node.id)
                    let names = Dictionary(uniqueKeysWithValues: TopologyGeneratorNames.streets)
                    var seeder = DemoSeeder(store: store, street: (node.unit!, names[node.unit!] ?? node.unit!),
                                            district: topology.district(of: node.id)!.unit!, seed: seed &+ UInt64(accounts.count), clock: clock)
                    accounts += try seeder.seed(committees: node.committees.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                }
            }
            try JSONFile.write(accounts.map(\.value), to: accountsPath)
        }
    }

    /// Returns when SIGINT or SIGTERM arrives.
    static func waitForSignal() async {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = OnceFlag()
            for sig in [SIGINT, SIGTERM] {
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .main)
                source.setEventHandler { if once.claim() { continuation.resume() } }
                source.resume()
                SignalSources.keep(source)
            }
        }
    }
}

/// Keeps dispatch signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
    static func keep(_ source: any DispatchSourceSignal) { sources.append(source) }
}

/// A flag that can be claimed once, from any thread.
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var claimed = false
    func claim() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if claimed { return false }
        claimed = true
        return true
    }
}
