import Yams

extension Topology {
    /// Parses a topology file:
    ///
    /// ```yaml
    /// nodes:
    ///   - id: street.yuepu
    ///     role: street
    ///     parent: district.baoshan
    ///     unit: yuepu
    ///     gossip: 127.0.0.1:7101
    ///     http: 127.0.0.1:8101
    ///     publicKey: BASE64
    ///     committees: {yuepu-01: 月浦一村居委会}
    /// ```
    public init(yaml: String) throws {
        guard let root = try Yams.load(yaml: yaml) as? [String: Any], let list = root["nodes"] as? [[String: Any]] else {
            throw Invalid(description: "a topology is a mapping with a `nodes` list")
        }
        var nodes: [TopologyNode] = []
        for (index, entry) in list.enumerated() {
            func text(_ key: String) throws -> String {
                guard let value = entry[key] else { throw Invalid(description: "node \(index + 1): `\(key)` is required") }
                return "\(value)"
            }
            guard let role = TopologyNode.Role(rawValue: try text("role")) else { throw Invalid(description: "node \(index + 1): role is street, district or city") }
            var committees: [String: String] = [:]
            for (key, value) in entry["committees"] as? [String: Any] ?? [:] { committees[key] = "\(value)" }
            nodes.append(TopologyNode(
                id: try text("id"), role: role, parent: entry["parent"].map { "\($0)" }, unit: entry["unit"].map { "\($0)" },
                gossip: try text("gossip"), http: try text("http"), publicKey: try text("publicKey"), committees: committees))
        }
        try self.init(nodes: nodes)
    }

    /// The YAML form, nodes in a stable order (city, districts, streets).
    public var yaml: String {
        let order: [TopologyNode.Role] = [.city, .district, .street]
        var out = "nodes:\n"
        for node in nodes.values.sorted(by: { (order.firstIndex(of: $0.role)!, $0.id) < (order.firstIndex(of: $1.role)!, $1.id) }) {
            out += "  - id: \(node.id)\n    role: \(node.role.rawValue)\n"
            if let parent = node.parent { out += "    parent: \(node.parent == nil ? "" : parent)\n" }
            if let unit = node.unit { out += "    unit: \(unit)\n" }
            out += "    gossip: \"\(node.gossip)\"\n    http: \"\(node.http)\"\n    publicKey: \"\(node.publicKey)\"\n"
            if !node.committees.isEmpty {
                out += "    committees:\n"
                for (id, name) in node.committees.sorted(by: { $0.key < $1.key }) { out += "      \(id): \(name)\n" }
            }
        }
        return out
    }
}
