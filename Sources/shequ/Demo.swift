import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Node
import Storage

/// `shequ demo`: the embedded default. Seeds a street node with realistic data (once), starts it as a
/// separate process on loopback, writes `endpoints.json` and `demo-accounts.json`, and stops it on Ctrl-C.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the demo on loopback with seeded data; Ctrl-C stops it.")

    @Option(help: "Where the demo keeps its data.") var data = "data/demo"
    @Option(help: "The HTTP port of the street node.") var port = 8080
    @Option(help: "Seed for the generated residents and activity.") var seed: UInt64 = 2019
    @Flag(help: "Seed and write the files, then exit without serving.") var seedOnly = false

    static let street = (id: "yuepu", name: "月浦镇")
    static let district = "baoshan"
    static let committees: [(id: String, name: String)] = [
        ("yuepu-01", "月浦一村居委会"), ("yuepu-02", "月浦二村居委会"), ("yuepu-07", "月浦七村居委会"),
        ("shengqiao-01", "盛桥一村居委会"), ("jindi", "金地艺境居委会"), ("juyuanqiao", "聚源桥居委会"),
    ]

    func run() async throws {
        bootstrapLogging()
        let directory = URL(fileURLWithPath: data).standardizedFileURL.path
        let nodeID = "street.\(Self.street.id)"
        let configuration = NodeConfiguration(id: nodeID, role: "street", unit: Self.street.id, httpPort: port,
                                              dataDirectory: (directory as NSString).appendingPathComponent(nodeID))
        let accountsPath = (directory as NSString).appendingPathComponent("demo-accounts.json")
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)

        if !FileManager.default.fileExists(atPath: accountsPath) {
            print("seeding \(Self.committees.count) committees of \(Self.street.name) into \(directory) ...")
            let store = try Store(path: configuration.databasePath, nodeID: nodeID)
            var seeder = DemoSeeder(store: store, street: Self.street, district: Self.district, seed: seed)
            let accounts = try seeder.seed(committees: Self.committees)
            try JSONEncoder.pretty.encode(accounts).write(to: URL(fileURLWithPath: accountsPath))
            print("seeded: \(try store.readNow { try $0.changeCount() }) changes")
        }
        let configPath = (directory as NSString).appendingPathComponent("\(nodeID).yaml")
        try configuration.yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        if seedOnly { return }

        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        child.arguments = ["serve", "--config", configPath]
        try child.run()
        let endpoints = [Endpoint(id: nodeID, role: "street", parent: nil, http: "http://127.0.0.1:\(port)", gossip: nil, pid: child.processIdentifier)]
        try JSONEncoder.pretty.encode(endpoints).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("endpoints.json")))

        guard await Self.waitHealthy("http://127.0.0.1:\(port)/healthz", seconds: 30) else {
            child.terminate()
            throw ValidationError("the street node did not answer on port \(port) within 30 s (is the port free?)")
        }
        print("""

        Shequ demo is running.
          street node \(nodeID) (\(Self.street.name)): http://127.0.0.1:\(port)   e.g. curl http://127.0.0.1:\(port)/v1/committees
          accounts (tokens for every role): \(accountsPath)
        Ctrl-C stops it.
        """)
        await Self.waitForSignal()
        print("stopping ...")
        child.terminate()
        child.waitUntilExit()
    }

    /// Polls a health URL until it answers 200, for at most `seconds`.
    static func waitHealthy(_ url: String, seconds: Int) async -> Bool {
        for _ in 0..<(seconds * 10) {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: url)!), (response as? HTTPURLResponse)?.statusCode == 200 {
                return true
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
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

/// One line of `endpoints.json` (api.md): where each node of a running federation listens.
struct Endpoint: Codable {
    var id: String
    var role: String
    var parent: String?
    var http: String
    var gossip: String?
    var pid: Int32

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(role, forKey: .role)
        try container.encode(parent, forKey: .parent)
        try container.encode(http, forKey: .http)
        try container.encode(gossip, forKey: .gossip)
        try container.encode(pid, forKey: .pid)
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

extension JSONEncoder {
    static var pretty: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
