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
    ///     retiredKeys: [{publicKey: OLD_BASE64, through: 1234}]   # after a key rotation
    /// ```
    /// Every value is read as the text written, whatever it looks like to YAML: an id `0123` stays `0123` and a unit
    /// `yes` stays `yes` (a loader that resolves types would read 123 and true).
    public init(yaml: String) throws {
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw Invalid(description: "not YAML: \(error)") }
        guard let list = root?["nodes"]?.sequence else { throw Invalid(description: "a topology is a mapping with a `nodes` list") }
        var nodes: [TopologyNode] = []
        for (index, entry) in list.enumerated() {
            guard entry.mapping != nil else { throw Invalid(description: "node \(index + 1) is not a mapping") }
            func optional(_ key: String) throws -> String? {
                guard let value = entry[key] else { return nil }
                guard let scalar = value.scalar else { throw Invalid(description: "node \(index + 1): `\(key)` is not a single value") }
                return scalar.string
            }
            func text(_ key: String) throws -> String {
                guard let value = try optional(key) else { throw Invalid(description: "node \(index + 1): `\(key)` is required") }
                return value
            }
            guard let role = TopologyNode.Role(rawValue: try text("role")) else { throw Invalid(description: "node \(index + 1): role is street, district or city") }
            var committees: [String: String] = [:]
            if let mapping = entry["committees"]?.mapping {
                for (key, value) in mapping {
                    guard let id = key.scalar?.string, let name = value.scalar?.string else {
                        throw Invalid(description: "node \(index + 1): committees map ids to names")
                    }
                    committees[id] = name
                }
            }
            var retired: [TopologyNode.RetiredKey] = []
            for key in entry["retiredKeys"]?.sequence ?? [] {
                guard let publicKey = key["publicKey"]?.scalar?.string, let through = key["through"]?.scalar.flatMap({ UInt64($0.string) }) else {
                    throw Invalid(description: "node \(index + 1): each retired key has a publicKey and a through sequence number")
                }
                retired.append(TopologyNode.RetiredKey(publicKey: publicKey, through: through))
            }
            nodes.append(TopologyNode(id: try text("id"), role: role, parent: try optional("parent"), unit: try optional("unit"),
                                      gossip: try text("gossip"), http: try text("http"), publicKey: try text("publicKey"), committees: committees,
                                      retiredKeys: retired))
        }
        try self.init(nodes: nodes)
    }

    /// The YAML form, nodes in a stable order (city, districts, streets), written by Yams' emitter with every value
    /// double-quoted, so that no name or id (`东区: 一号`, `#1居委会`, `0123`, `yes`) is read back as anything else.
    public var yaml: String {
        let order: [TopologyNode.Role] = [.city, .district, .street]
        func quoted(_ text: String) -> Node { Node(text, .implicit, .doubleQuoted) }
        let entries: [Node] = nodes.values.sorted(by: { (order.firstIndex(of: $0.role)!, $0.id) < (order.firstIndex(of: $1.role)!, $1.id) }).map { node in
            var pairs: [(Node, Node)] = [(Node("id"), quoted(node.id)), (Node("role"), quoted(node.role.rawValue))]
            if let parent = node.parent { pairs.append((Node("parent"), quoted(parent))) }
            if let unit = node.unit { pairs.append((Node("unit"), quoted(unit))) }
            pairs += [(Node("gossip"), quoted(node.gossip)), (Node("http"), quoted(node.http)), (Node("publicKey"), quoted(node.publicKey))]
            if !node.committees.isEmpty {
                pairs.append((Node("committees"), Node(node.committees.sorted(by: { $0.key < $1.key }).map { (quoted($0.key), quoted($0.value)) })))
            }
            if !node.retiredKeys.isEmpty {
                pairs.append((Node("retiredKeys"), Node(node.retiredKeys.map { key in
                    Node([(Node("publicKey"), quoted(key.publicKey)), (Node("through"), Node(String(key.through)))])
                })))
            }
            return Node(pairs)
        }
        // Serializing a tree of strings cannot fail; an empty topology is refused by `Topology.init(nodes:)` before this.
        return (try? Yams.serialize(node: Node([(Node("nodes"), Node(entries))]), allowUnicode: true)) ?? "nodes: []\n"
    }
}
