import Configuration
import Foundation
import SystemPackage

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

    public init(id: String, role: String, unit: String?, httpHost: String = "127.0.0.1", httpPort: Int, dataDirectory: String, publicURL: String? = nil) {
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
        var data = reader.string(forKey: "data.directory", default: "data/\(id)")
        if !data.hasPrefix("/") { data = (base as NSString).appendingPathComponent(data) }
        return NodeConfiguration(
            id: id, role: role, unit: reader.string(forKey: "node.unit"),
            httpHost: reader.string(forKey: "http.host", default: "127.0.0.1"), httpPort: port,
            dataDirectory: data, publicURL: reader.string(forKey: "http.publicURL"))
    }

    /// The YAML form `load` reads.
    public var yaml: String {
        """
        node:
          id: \(id)
          role: \(role)
        \(unit.map { "  unit: \($0)\n" } ?? "")http:
          host: \(httpHost)
          port: \(httpPort)
          publicURL: \(publicURL)
        data:
          directory: \(dataDirectory)

        """
    }
}
