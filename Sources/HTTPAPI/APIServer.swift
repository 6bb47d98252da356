import Foundation
import Governance
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Prometheus
import Replication
import Storage

/// Who this node is, as /healthz reports it.
public struct NodeIdentity: Sendable {
    public var id: NodeID
    /// `street`, `district` or `city`.
    public var role: String
    /// The base URL residents reach this node at, used in join links.
    public var publicURL: String
    /// Chinese names of districts and streets by id, for the command centre.
    public var unitNames: [String: String]

    public init(id: NodeID, role: String, publicURL: String, unitNames: [String: String] = [:]) {
        self.id = id
        self.role = role
        self.publicURL = publicURL
        self.unitNames = unitNames
    }
}

/// The HTTP API of one node: every route of api.md over one `Store`.
public struct APIServer: Sendable {
    public let store: Store
    public let identity: NodeIdentity
    /// The federation's view, on nodes that replicate.
    public let cluster: (any ClusterStatus)?
    /// Where /metrics reads from: the registry the node's metrics factory writes to.
    public let registry: PrometheusCollectorRegistry
    /// Requests per bearer token and per client address.
    public let limits: RateLimits
    /// Timeouts, connection caps and trusted proxies.
    public let connections: ConnectionPolicy
    /// Where uploaded photos are kept.
    public let photos: PhotoStore

    public init(store: Store, identity: NodeIdentity, cluster: (any ClusterStatus)? = nil,
                registry: PrometheusCollectorRegistry = PrometheusMetricsFactory.defaultRegistry, limits: RateLimits = .standard,
                connections: ConnectionPolicy = .standard, photos: PhotoStore? = nil) {
        self.store = store
        self.identity = identity
        self.cluster = cluster
        self.registry = registry
        self.limits = limits
        self.connections = connections
        // A node without a photo directory (a test) keeps them in a temporary one.
        self.photos = photos ?? (try? PhotoStore.temporary()) ?? { fatalError("no temporary directory for photos") }()
    }

    /// The router with every route and the middleware (error bodies, authentication).
    public func router() -> Router<ShequRequestContext> {
        let router = Router(context: ShequRequestContext.self)
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ErrorBodyMiddleware())
        router.add(middleware: RateLimitMiddleware(limiter: RateLimiter(limits: limits), policy: connections))
        router.add(middleware: AuthMiddleware(store: store))
        router.add(middleware: IdempotencyMiddleware(store: store))
        let store = self.store
        router.get("/healthz") { _, _ in
            // "recovering": a restored node serves reads but takes no writes until it has its own changes back.
            JSONResponse.make(.object(["node": .string(identity.id), "role": .string(identity.role),
                                       "status": .string(store.isRecovering ? "recovering" : "ok"),
                                       "version": .string(Release.version),
                                       "wire": .object(["oldest": .int(Int64(Release.minimumWireVersion)), "newest": .int(Int64(Release.wireVersion))])]))
        }
        addMetricsRoute(to: router)
        addMemberRoutes(to: router)
        addAccessRoutes(to: router)
        addEventRoutes(to: router)
        addNotificationRoutes(to: router)
        addBoardRoutes(to: router)
        addModerationRoutes(to: router)
        addPollRoutes(to: router)
        addTicketRoutes(to: router)
        addCommunityRoutes(to: router)
        addSearchRoutes(to: router)
        addPhotoRoutes(to: router)
        addRollupRoutes(to: router)
        addDashboardRoutes(to: router)
        addOpen311Routes(to: router)
        ResidentApp(store: store, identity: identity, photos: photos).addRoutes(to: router)
        if let cluster { addClusterRoutes(to: router, cluster: cluster) }
        return router
    }

    /// The application listening on `host:port`.
    public func application(host: String, port: Int, logger: Logger) -> some ApplicationProtocol {
        Application(router: router(), server: connections.serverBuilder(),
                    configuration: .init(address: .hostname(host, port: port), serverName: "shequ",
                                         availableConnectionsDelegate: MaximumAvailableConnections(connections.maxConnections, logger: logger)),
                    logger: logger)
    }
}
