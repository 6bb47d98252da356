import Foundation
import HTTPAPI
import Hummingbird
import Logging
import ServiceLifecycle
import Storage

/// One running node: its store and its HTTP server, as services in one `ServiceGroup` that shuts
/// down gracefully on SIGTERM or SIGINT.
public struct ShequNode: Sendable {
    public let configuration: NodeConfiguration
    public let store: Store
    let logger: Logger

    /// Opens the node's database, creating the data directory if needed.
    public init(configuration: NodeConfiguration, logger: Logger) throws {
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        self.configuration = configuration
        self.logger = logger
        self.store = try Store(path: configuration.databasePath, nodeID: configuration.id, logger: logger)
    }

    /// Runs until SIGTERM or SIGINT, then drains in-flight requests and stops.
    public func run() async throws {
        let api = APIServer(store: store, identity: NodeIdentity(id: configuration.id, role: configuration.role, publicURL: configuration.publicURL))
        let app = api.application(host: configuration.httpHost, port: configuration.httpPort, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("node starting", metadata: ["node.id": "\(configuration.id)", "node.role": "\(configuration.role)",
                                                 "http.url": "http://\(configuration.httpHost):\(configuration.httpPort)"])
        try await group.run()
        logger.info("node stopped", metadata: ["node.id": "\(configuration.id)"])
    }
}
