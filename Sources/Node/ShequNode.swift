@preconcurrency import Crypto
import Federation
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
            let backedUp = try NodeKey.ballotSecret(keyPath: keyPath)
            let store = try Store(path: configuration.databasePath, nodeID: configuration.id,
                                  signer: { bytes in ChangeSignature.sign(bytes, with: key) }, ballotSecret: backedUp,
                                  pageCache: configuration.pageCache, logger: logger)
            // The backup follows the secret in use: written the first time (a node made before backups existed), and
            // replaced if the database was made by a command that did not read it. A node restored without it keeps
            // the backup as it is: that one is the secret its residents' ballots were cast under.
            if backedUp != store.ballotSecret {
                if backedUp == nil || !store.isRecovering {
                    try NodeKey.saveBallotSecret(store.ballotSecret, keyPath: keyPath)
                    if backedUp != nil { logger.warning("the ballot secret backup beside the key was not the database's; it is now") }
                } else {
                    logger.warning("restored without its ballot secret backup: a resident who votes again in an open secret poll counts twice",
                                   metadata: ["path": "\(NodeKey.ballotSecretPath(keyPath: keyPath))"])
                }
            }
            self.store = store
            try FederationBootstrap.defineCommittees(store: store, topology: topology, node: configuration.id)
            var settings = ReplicationDriver.Settings()
            settings.tailProbe = configuration.gossipTailProbeMillis.map(Int64.init)
            self.replication = try ReplicationService(topology: topology, local: configuration.id, key: key, store: store, logger: logger,
                                                      settings: settings, tls: configuration.gossipTLS)
        } else {
            self.store = try Store(path: configuration.databasePath, nodeID: configuration.id, pageCache: configuration.pageCache, logger: logger)
            self.replication = nil
        }
        configuration.applySettings(to: store)
    }

    /// Runs until SIGTERM or SIGINT, then drains in-flight requests and stops.
    public func run() async throws {
        let cluster = replication.map { ReplicationStatus(service: $0, faultInjection: configuration.faultInjection) }
        let photos = try PhotoStore(directory: (configuration.dataDirectory as NSString).appendingPathComponent("photos"))
        let api = APIServer(store: store, identity: NodeIdentity(id: configuration.id, role: configuration.role, publicURL: configuration.publicURL,
                                                                   unitNames: TopologyGeneratorNames.units),
                            cluster: cluster, limits: configuration.rateLimits, connections: configuration.connections,
                            photos: photos)
        let app = api.application(host: configuration.httpHost, port: configuration.httpPort, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if configuration.role == "street" || configuration.role == "district" {
            services.append(.init(service: TicketWatch(store: store, rules: configuration.escalation, logger: logger)))
        }
        if let webhook = configuration.webhook, store.sendsWebhooks {
            services.append(.init(service: WebhookSender(store: store, target: webhook, logger: logger)))
        }
        if let replication, let topologyPath = configuration.topologyPath {
            services.append(.init(service: replication))
            services.append(.init(service: TopologyReloader(path: topologyPath, local: configuration.id, replication: replication, store: store, logger: logger)))
            // Photos follow the posts and tickets this node holds, fetched from the owning street (a lane of their own).
            services.append(.init(service: PhotoReplicator(store: store, photos: photos, local: configuration.id, owner: { committee in
                let topology = replication.topology
                guard let node = topology.committeeOwner[committee], let http = topology.nodes[node]?.http else { return nil }
                return (node, http)
            }, logger: logger)))
        }
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("node starting", metadata: ["node.id": "\(configuration.id)", "node.role": "\(configuration.role)",
                                                 "http.url": "http://\(configuration.httpHost):\(configuration.httpPort)"])
        try await group.run()
        logger.info("node stopped", metadata: ["node.id": "\(configuration.id)"])
    }
}
