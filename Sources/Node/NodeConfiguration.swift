import Configuration
import Foundation
import Governance
import HTTPAPI
import Storage
import SystemPackage
import Yams

/// What one node needs to run: read from a YAML file, each key overridable by an environment
/// variable (`http.port` ← `HTTP_PORT`), through swift-configuration.
public struct NodeConfiguration: Sendable, Hashable {
    /// The node's id: the origin of its changes, e.g. `street.yuepu`.
    public var id: String
    /// `street`, `district` or `city`.
    public var role: String
    /// The street or district this node serves (its id); nil for the city.
    public var unit: String?
    public var httpHost: String
    public var httpPort: Int
    /// Where the node keeps `node.sqlite`.
    public var dataDirectory: String
    /// The URL residents reach the node at (for join links).
    public var publicURL: String
    /// The federation's topology file; nil runs the node alone.
    public var topologyPath: String?
    /// The node's Ed25519 private key (base64 of the 32-byte raw key); required with a topology.
    public var keyPath: String?
    /// Whether `PUT /v1/cluster/faults` may cut links (chaos tests only).
    public var faultInjection: Bool
    /// Mutual TLS 1.3 on every gossip link, bound to the topology's node keys (`gossip.tls`, on unless set false;
    /// every node of a federation must agree).
    public var gossipTLS = true
    /// Tail probes on the gossip links (`gossip.tailProbeMs`, off unless set): for a transport that can lose a message
    /// outright, such as the propagation bench's emulated WAN; TCP retransmits and needs none.
    public var gossipTailProbeMillis: Int?
    /// Requests per bearer token and per client address (`http.rateLimit.*`).
    public var rateLimits: RateLimits = .standard
    /// Header and idle timeouts, connection caps and trusted proxies (`http.timeouts.*`, `http.connections.*`,
    /// `http.trustedProxies`).
    public var connections: ConnectionPolicy = .standard
    /// How long app sessions (sliding) and bearer tokens last (`http.sessions.lifetimeDays`, 30;
    /// `http.tokens.lifetimeDays`, 90).
    public var lifetimes: AccessLifetimes = .standard
    /// When an unresolved ticket escalates itself (`tickets.escalation.streetAfterHours`, 48;
    /// `tickets.escalation.districtAfterHours`, 120).
    public var escalation: [EscalationRule] = EscalationRule.standard
    /// Where notifications are delivered besides the app (`webhook.url`, `webhook.secret`): standing in for WeChat
    /// template messages and SMS. Nil: no webhook.
    public var webhook: WebhookTarget?
    /// The departments a district dispatches tickets to (`dispatch.departments`, a list; district nodes).
    public var departments: [String] = []
    /// The memory SQLite's page caches may hold, all connections together (`storage.pageCacheMiB`, 32): where the
    /// node's memory levels off as its database grows.
    public var pageCache: PageCacheBudget = .standard

    public init(id: String, role: String, unit: String?, httpHost: String = "127.0.0.1", httpPort: Int, dataDirectory: String, publicURL: String? = nil,
                topologyPath: String? = nil, keyPath: String? = nil, faultInjection: Bool = false) {
        self.topologyPath = topologyPath
        self.keyPath = keyPath
        self.faultInjection = faultInjection
        self.id = id
        self.role = role
        self.unit = unit
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.dataDirectory = dataDirectory
        self.publicURL = publicURL ?? "http://\(httpHost):\(httpPort)"
    }

    /// The database file.
    public var databasePath: String { (dataDirectory as NSString).appendingPathComponent("node.sqlite") }

    /// Why a configuration could not be used.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads the configuration: environment variables first, then the YAML file.
    public static func load(path: String) async throws -> NodeConfiguration {
        let reader = ConfigReader(providers: [
            EnvironmentVariablesProvider(),
            try await FileProvider<YAMLSnapshot>(filePath: FilePath(path)),
        ])
        return try from(reader, relativeTo: (path as NSString).deletingLastPathComponent)
    }

    /// Reads and checks every key.
    static func from(_ reader: ConfigReader, relativeTo base: String) throws -> NodeConfiguration {
        guard let id = reader.string(forKey: "node.id"), !id.isEmpty, id.count <= 64,
              id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw Invalid(description: "node.id is required: letters, digits, - _ . (at most 64)")
        }
        let role = reader.string(forKey: "node.role", default: "street")
        guard ["street", "district", "city"].contains(role) else { throw Invalid(description: "node.role must be street, district or city") }
        let port = reader.int(forKey: "http.port", default: 8080)
        guard (1...65535).contains(port) else { throw Invalid(description: "http.port must be 1-65535") }
        func path(_ key: String) -> String? {
            guard let value = reader.string(forKey: ConfigKey(key)), !value.isEmpty else { return nil }
            return value.hasPrefix("/") ? value : (base as NSString).appendingPathComponent(value)
        }
        let topology = path("gossip.topology"), key = path("gossip.key")
        if topology != nil, key == nil { throw Invalid(description: "gossip.key is required with gossip.topology") }
        let standard = RateLimits.standard
        func limit(_ key: String, _ fallback: Int) throws -> Int {
            let value = reader.int(forKey: ConfigKey("http.rateLimit.\(key)"), default: fallback)
            guard value > 0 else { throw Invalid(description: "http.rateLimit.\(key) must be positive") }
            return value
        }
        var configuration = NodeConfiguration(
            id: id, role: role, unit: reader.string(forKey: "node.unit"),
            httpHost: reader.string(forKey: "http.host", default: "127.0.0.1"), httpPort: port,
            dataDirectory: path("data.directory") ?? (base as NSString).appendingPathComponent("data/\(id)"),
            publicURL: reader.string(forKey: "http.publicURL"), topologyPath: topology, keyPath: key,
            faultInjection: reader.bool(forKey: "faults.enabled", default: false))
        configuration.rateLimits = RateLimits(
            tokenPerMinute: try limit("tokenPerMinute", standard.tokenPerMinute), tokenBurst: try limit("tokenBurst", standard.tokenBurst),
            addressPerMinute: try limit("addressPerMinute", standard.addressPerMinute), addressBurst: try limit("addressBurst", standard.addressBurst))
        configuration.connections = try connectionPolicy(reader)
        configuration.gossipTLS = reader.bool(forKey: "gossip.tls", default: true)
        if let probe = reader.int(forKey: "gossip.tailProbeMs") {
            guard (1...10_000).contains(probe) else { throw Invalid(description: "gossip.tailProbeMs must be from 1 to 10000") }
            configuration.gossipTailProbeMillis = probe
        }
        func days(_ key: String, _ fallback: Int64) throws -> Int64 {
            let value = reader.double(forKey: ConfigKey(key), default: Double(fallback) / 86_400_000)
            guard value > 0, value <= 3_650 else { throw Invalid(description: "\(key) must be more than 0 and at most 3650 days") }
            return Int64(value * 86_400_000)
        }
        configuration.lifetimes.sessionMillis = try days("http.sessions.lifetimeDays", AccessLifetimes.standard.sessionMillis)
        configuration.lifetimes.tokenMillis = try days("http.tokens.lifetimeDays", AccessLifetimes.standard.tokenMillis)
        func hours(_ level: TicketLevel) throws -> EscalationRule {
            let fallback = EscalationRule.standard.first { $0.level == level }!.afterMillis
            let key = "tickets.escalation.\(level.name)AfterHours"
            let value = reader.double(forKey: ConfigKey(key), default: Double(fallback) / 3_600_000)
            guard value > 0, value <= 24 * 365 else { throw Invalid(description: "\(key) must be more than 0 and at most 8760 hours") }
            return EscalationRule(level: level, afterMillis: Int64(value * 3_600_000))
        }
        configuration.escalation = [try hours(.street), try hours(.district)]
        let cacheMiB = reader.int(forKey: "storage.pageCacheMiB", default: PageCacheBudget.standard.mebibytes)
        guard PageCacheBudget.mebibyteRange.contains(cacheMiB) else {
            throw Invalid(description: "storage.pageCacheMiB must be from \(PageCacheBudget.mebibyteRange.lowerBound) to \(PageCacheBudget.mebibyteRange.upperBound)")
        }
        configuration.pageCache = PageCacheBudget(mebibytes: cacheMiB)
        configuration.departments = (reader.stringArray(forKey: "dispatch.departments") ?? []).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard configuration.departments.count <= 200, configuration.departments.allSatisfy({ $0.count <= 100 }),
              Set(configuration.departments).count == configuration.departments.count else {
            throw Invalid(description: "dispatch.departments: at most 200 distinct names of up to 100 characters")
        }
        if let url = reader.string(forKey: "webhook.url"), !url.isEmpty {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw Invalid(description: "webhook.url must be an http or https URL")
            }
            guard let secret = reader.string(forKey: "webhook.secret"), secret.utf8.count >= 16 else {
                throw Invalid(description: "webhook.secret must be set, at least 16 bytes, when webhook.url is")
            }
            let timeout = reader.double(forKey: "webhook.timeoutSeconds", default: 10)
            let backoff = reader.double(forKey: "webhook.maxBackoffSeconds", default: 3_600)
            guard timeout > 0, timeout <= 300 else { throw Invalid(description: "webhook.timeoutSeconds must be more than 0 and at most 300") }
            guard backoff >= 1, backoff <= 86_400 else { throw Invalid(description: "webhook.maxBackoffSeconds must be between 1 and 86400") }
            configuration.webhook = WebhookTarget(url: parsed, secret: secret, timeoutSeconds: timeout, maxBackoffSeconds: backoff)
        }
        return configuration
    }

    static func connectionPolicy(_ reader: ConfigReader) throws -> ConnectionPolicy {
        let standard = ConnectionPolicy.standard
        func millis(_ key: String, _ fallback: Int) throws -> Int {
            let seconds = reader.double(forKey: ConfigKey("http.timeouts.\(key)"), default: Double(fallback) / 1_000)
            guard seconds > 0, seconds <= 86_400 else { throw Invalid(description: "http.timeouts.\(key) must be 0-86400 seconds") }
            return Int(seconds * 1_000)
        }
        func count(_ key: String, _ fallback: Int) throws -> Int {
            let value = reader.int(forKey: ConfigKey("http.connections.\(key)"), default: fallback)
            guard value > 0 else { throw Invalid(description: "http.connections.\(key) must be positive") }
            return value
        }
        let proxies = try (reader.stringArray(forKey: "http.trustedProxies") ?? []).map { text in
            do { return try AddressRange(text) } catch { throw Invalid(description: "http.trustedProxies: \(error)") }
        }
        return ConnectionPolicy(headerTimeoutMillis: try millis("header", standard.headerTimeoutMillis),
                                idleTimeoutMillis: try millis("idle", standard.idleTimeoutMillis),
                                maxConnections: try count("max", standard.maxConnections),
                                maxConnectionsPerAddress: try count("perAddress", standard.maxConnectionsPerAddress),
                                trustedProxies: proxies)
    }

    /// The YAML form `load` reads, written by Yams' emitter: every text double-quoted, so that an id `0123`, a unit `yes`
    /// or a path with `: ` or `#` in it is read back as written; numbers and flags plain.
    public var yaml: String {
        func text(_ value: String) -> Node { Node(value, .implicit, .doubleQuoted) }
        func number(_ value: Int) -> Node { Node(String(value)) }
        func section(_ pairs: [(String, Node)]) -> Node { Node(pairs.map { (Node($0.0), $0.1) }) }
        var nodeSection: [(String, Node)] = [("id", text(id)), ("role", text(role))]
        if let unit { nodeSection.append(("unit", text(unit))) }
        var httpSection: [(String, Node)] = [("host", text(httpHost)), ("port", number(httpPort)), ("publicURL", text(publicURL))]
        if rateLimits != .standard {
            httpSection.append(("rateLimit", section([
                ("tokenPerMinute", number(rateLimits.tokenPerMinute)), ("tokenBurst", number(rateLimits.tokenBurst)),
                ("addressPerMinute", number(rateLimits.addressPerMinute)), ("addressBurst", number(rateLimits.addressBurst)),
            ])))
        }
        if lifetimes != .standard {
            func days(_ millis: Int64) -> Node { Node(String(Double(millis) / 86_400_000)) }
            httpSection.append(("sessions", section([("lifetimeDays", days(lifetimes.sessionMillis))])))
            httpSection.append(("tokens", section([("lifetimeDays", days(lifetimes.tokenMillis))])))
        }
        if connections != .standard {
            func seconds(_ millis: Int) -> Node { Node(String(Double(millis) / 1_000)) }
            httpSection.append(("timeouts", section([("header", seconds(connections.headerTimeoutMillis)),
                                                     ("idle", seconds(connections.idleTimeoutMillis))])))
            httpSection.append(("connections", section([("max", number(connections.maxConnections)),
                                                        ("perAddress", number(connections.maxConnectionsPerAddress))])))
            if !connections.trustedProxies.isEmpty {
                httpSection.append(("trustedProxies", Node(connections.trustedProxies.map { text($0.description) })))
            }
        }
        var root: [(String, Node)] = [("node", section(nodeSection)), ("http", section(httpSection)),
                                      ("data", section([("directory", text(dataDirectory))]))]
        if let topologyPath {
            var gossip: [(String, Node)] = [("topology", text(topologyPath)), ("key", text(keyPath ?? ""))]
            if !gossipTLS { gossip.append(("tls", Node("false"))) }
            if let gossipTailProbeMillis { gossip.append(("tailProbeMs", number(gossipTailProbeMillis))) }
            root.append(("gossip", section(gossip)))
        }
        if faultInjection { root.append(("faults", section([("enabled", Node("true"))]))) }
        if pageCache != .standard { root.append(("storage", section([("pageCacheMiB", number(pageCache.mebibytes))]))) }
        if escalation != EscalationRule.standard {
            func hours(_ level: TicketLevel) -> Node { Node(String(Double(escalation.first { $0.level == level }?.afterMillis ?? 0) / 3_600_000)) }
            root.append(("tickets", section([("escalation", section([("streetAfterHours", hours(.street)), ("districtAfterHours", hours(.district))]))])))
        }
        if !departments.isEmpty { root.append(("dispatch", section([("departments", Node(departments.map { text($0) }))]))) }
        if let webhook {
            root.append(("webhook", section([("url", text(webhook.url.absoluteString)), ("secret", text(webhook.secret)),
                                             ("timeoutSeconds", Node(String(webhook.timeoutSeconds))),
                                             ("maxBackoffSeconds", Node(String(webhook.maxBackoffSeconds)))])))
        }
        // Serializing a tree of strings cannot fail.
        return (try? Yams.serialize(node: section(root), allowUnicode: true)) ?? ""
    }
}
