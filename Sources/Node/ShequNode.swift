@preconcurrency import Crypto
import Foundation
import Gossip
import GossipNIO
import HTTPAPI
import Hummingbird
import Logging
import Prometheus
import Replication
import ServiceLifecycle
import Storage

/// One running node: its store, its HTTP server and, in a federation, its replication service, as
/// services in one `ServiceGroup` that shuts down gracefully on SIGTERM or SIGINT.
public struct ShequNode: Sendable {
    public let configuration: NodeConfiguration
    public let store: Store
    let replication: ReplicationService?
    let logger: Logger

    /// Opens the node's database (creating the data directory), and its topology and key when federated.
    public init(configuration: NodeConfiguration, logger: Logger) throws {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        self.configuration = configuration
        self.logger = logger
        if let topologyPath = configuration.topologyPath, let keyPath = configuration.keyPath {
            let topology = try Topology(yaml: String(contentsOfFile: topologyPath, encoding: .utf8))
            let key = try NodeKey.load(path: keyPath)
            guard let listed = topology.nodes[configuration.id] else { throw NodeConfiguration.Invalid(description: "node \(configuration.id) is not in \(topologyPath)") }
            guard listed.publicKey == key.publicKey.rawRepresentation.base64EncodedString() else {
                throw NodeConfiguration.Invalid(description: "the key in \(keyPath) is not the one the topology lists for \(configuration.id)")
            }
            let store = try Store(path: configuration.databasePath, nodeID: configuration.id,
                                  signer: { bytes in ChangeSignature.sign(bytes, with: key) }, logger: logger)
            self.store = store
            try FederationBootstrap.defineCommittees(store: store, topology: topology, node: configuration.id)
            self.replication = try ReplicationService(topology: topology, local: configuration.id, key: key, store: store, logger: logger)
        } else {
            self.store = try Store(path: configuration.databasePath, nodeID: configuration.id, logger: logger)
            self.replication = nil
        }
    }

    /// Runs until SIGTERM or SIGINT, then drains in-flight requests and stops.
    public func run() async throws {
        let cluster = replication.map { ReplicationStatus(service: $0, faultInjection: configuration.faultInjection) }
        let api = APIServer(store: store, identity: NodeIdentity(id: configuration.id, role: configuration.role, publicURL: configuration.publicURL,
                                                                   unitNames: TopologyGeneratorNames.units),
                            cluster: cluster, limits: configuration.rateLimits)
        let app = api.application(host: configuration.httpHost, port: configuration.httpPort, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if let replication { services.append(.init(service: replication)) }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("node starting", metadata: ["node.id": "\(configuration.id)", "node.role": "\(configuration.role)",
                                                 "http.url": "http://\(configuration.httpHost):\(configuration.httpPort)"])
        try await group.run()
        logger.info("node stopped", metadata: ["node.id": "\(configuration.id)"])
    }
}

/// Node keys: Ed25519, stored as base64 of the raw 32-byte private key.
public enum NodeKey {
    public static func load(path: String) throws -> Curve25519.Signing.PrivateKey {
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: text) else { throw NodeConfiguration.Invalid(description: "\(path) is not a base64 key") }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: data)
    }

    /// The signer a `Store` uses: Ed25519 over each change's canonical bytes with the key at `path`.
    public static func signer(path: String) throws -> @Sendable ([UInt8]) -> [UInt8] {
        let key = try load(path: path)
        return { bytes in ChangeSignature.sign(bytes, with: key) }
    }

    /// Makes a key, writes it to `path` (mode 0600) and returns the public key in base64.
    public static func generate(path: String) throws -> String {
        let key = Curve25519.Signing.PrivateKey()
        FileManager.default.createFile(atPath: path, contents: Data((key.rawRepresentation.base64EncodedString() + "\n").utf8),
                                       attributes: [.posixPermissions: 0o600])
        return key.publicKey.rawRepresentation.base64EncodedString()
    }
}

/// The HTTP view of replication: peers' liveness and replication figures.
struct ReplicationStatus: ClusterStatus {
    let service: ReplicationService
    let faultInjection: (@Sendable ([String]) async -> Void)?

    init(service: ReplicationService, faultInjection enabled: Bool) {
        self.service = service
        self.faultInjection = enabled ? { @Sendable peers in service.setBlocked(Set(peers)) } : nil
    }

    /// Every member of the federation as this node's failure detector sees it (SWIM with Lifeguard), and,
    /// for the peers it links to, whether the link is up.
    func members() async -> Value {
        let (_, peers, _) = await service.replicator.snapshot()
        let view = service.memberView
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return .object(["node": .string(service.local), "items": .list(view.keys.sorted().map { id in
            var entry: [String: Value] = ["node": .string(id), "state": .string(view[id]!.rawValue), "peer": .bool(peers[id] != nil)]
            if let stats = peers[id] {
                entry["linked"] = .bool(stats.connected)
                entry["connects"] = .int(Int64(stats.connects))
                entry["lastContactMsAgo"] = stats.lastContactMillis > 0 ? .int(now - stats.lastContactMillis) : .null
            }
            return .object(entry)
        })])
    }

    func refreshGauges(_ registry: PrometheusCollectorRegistry) async {
        let (_, peers, _) = await service.replicator.snapshot()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for (id, s) in peers {
            registry.makeGauge(name: "shequ_replication_lag_changes", labels: [("peer", id)], help: "Changes the peer's last sync lacked").set(Double(s.lagChanges))
            let seconds = s.lagChanges == 0 ? 0 : (s.caughtUpMillis > 0 ? (now - s.caughtUpMillis) / 1000 : -1)
            registry.makeGauge(name: "shequ_replication_lag_seconds", labels: [("peer", id)], help: "Seconds since the peer was last caught up (-1: never)").set(seconds)
            registry.makeGauge(name: "shequ_gossip_compression_ratio", labels: [("peer", id)], help: "Payload bytes per wire byte sent")
                .set(s.bytesSent > 0 ? Double(s.payloadBytesSent) / Double(s.bytesSent) : 1)
            registry.makeGauge(name: "shequ_gossip_link_up", labels: [("peer", id)], help: "1 while the link to the peer is up").set(s.connected ? 1.0 : 0.0)
        }
        let view = service.memberView
        for state in [SWIM.Status.alive, .suspect, .dead] {
            registry.makeGauge(name: "shequ_swim_members", labels: [("state", state.rawValue)], help: "Members in each state, as this node sees them")
                .set(Double(view.values.filter { $0 == state }.count))
        }
    }

    func replication() async -> Value {
        let (coverage, peers, rejections) = await service.replicator.snapshot()
        func vector(_ v: VersionVector) -> Value {
            .object(v.origins.mapValues { .object(["contiguous": .int(Int64($0.contiguous)), "gaps": .int(Int64($0.beyond.count))]) })
        }
        return .object([
            "node": .string(service.local),
            "coverage": vector(coverage),
            "rejected": .object(Dictionary(uniqueKeysWithValues: rejections.map { ($0.key.rawValue, Value.int(Int64($0.value))) })),
            "peers": .list(peers.keys.sorted().map { id in
                let s = peers[id]!
                // Lag: changes this node could claim to the peer that its last sync did not cover, and for how long
                // the peer has not been caught up.
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let lagSeconds: Value = s.lagChanges == 0 ? .int(0) : (s.caughtUpMillis > 0 ? .int((now - s.caughtUpMillis) / 1000) : .null)
                return .object([
                    "node": .string(id), "connected": .bool(s.connected), "changesSent": .int(Int64(s.changesSent)),
                    "changesReceived": .int(Int64(s.changesReceived)), "bytesSent": .int(Int64(s.bytesSent)),
                    "payloadBytesReceived": .int(Int64(s.payloadBytesReceived)), "payloadBytesSent": .int(Int64(s.payloadBytesSent)),
                    "compressionRatio": s.bytesSent > 0 ? .string(String(format: "%.2f", Double(s.payloadBytesSent) / Double(s.bytesSent))) : .null,
                    "lagChanges": .int(Int64(s.lagChanges)), "lagSeconds": lagSeconds, "theirCoverage": vector(s.theirCoverage),
                ])
            }),
        ])
    }
}
