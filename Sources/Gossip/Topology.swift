import Replication

/// One node of the federation as the topology file names it.
public struct TopologyNode: Hashable, Sendable {
    /// `street`, `district` or `city`.
    public enum Role: String, Sendable, Hashable, CaseIterable {
        case street, district, city
    }

    public var id: NodeID
    public var role: Role
    /// The district of a street, the city of a district; nil for the city.
    public var parent: NodeID?
    /// The street or district id this node serves (e.g. `yuepu`, `baoshan`); nil for the city.
    public var unit: String?
    /// `host:port` of the gossip listener.
    public var gossip: String
    /// `host:port` of the HTTP listener.
    public var http: String
    /// The node's Ed25519 public key, 32 bytes, base64.
    public var publicKey: String
    /// For a street: the committees it owns, id → name.
    public var committees: [String: String]
    /// Keys the node signed with before a rotation: each still verifies the node's changes up to its `through`
    /// sequence number (so what it signed before is not lost), and nothing else — no handshake, no later change.
    public var retiredKeys: [RetiredKey]

    /// A replaced node key (docs/operations.md, "Rotating a node key").
    public struct RetiredKey: Hashable, Sendable {
        /// The old Ed25519 public key, base64.
        public var publicKey: String
        /// The highest sequence number the node signed with it.
        public var through: UInt64
        public init(publicKey: String, through: UInt64) {
            self.publicKey = publicKey
            self.through = through
        }
    }

    public init(id: NodeID, role: Role, parent: NodeID?, unit: String?, gossip: String, http: String, publicKey: String, committees: [String: String] = [:],
                retiredKeys: [RetiredKey] = []) {
        self.id = id
        self.role = role
        self.parent = parent
        self.unit = unit
        self.gossip = gossip
        self.http = http
        self.publicKey = publicKey
        self.committees = committees
        self.retiredKeys = retiredKeys
    }

    /// The node with `newKey` in place of its key, which is retired through `through`.
    public func rotated(to newKey: String, through: UInt64) -> TopologyNode {
        var node = self
        node.retiredKeys.append(RetiredKey(publicKey: publicKey, through: through))
        node.publicKey = newKey
        return node
    }
}

/// The whole federation: who exists, who owns which committee, who may write what, who holds what.
/// Pure: parsing and questions, no I/O.
public struct Topology: Sendable {
    public let nodes: [NodeID: TopologyNode]
    /// committee id → owning street node id.
    public let committeeOwner: [String: NodeID]
    /// The city node's id.
    public let cityID: NodeID
    /// street unit → the street nodes serving it (asked for every street-scoped change a district checks).
    let streetsByUnit: [String: [NodeID]]

    /// Why a topology was refused.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(nodes: [TopologyNode]) throws(Invalid) {
        var byID: [NodeID: TopologyNode] = [:]
        var owner: [String: NodeID] = [:]
        for node in nodes {
            guard byID[node.id] == nil else { throw Invalid(description: "node \(node.id) is listed twice") }
            byID[node.id] = node
            for committee in node.committees.keys {
                guard owner[committee] == nil else { throw Invalid(description: "committee \(committee) has two owners") }
                owner[committee] = node.id
            }
        }
        let cities = nodes.filter { $0.role == .city }
        guard cities.count == 1 else { throw Invalid(description: "a topology has exactly one city node (found \(cities.count))") }
        for node in nodes {
            switch node.role {
            case .city:
                guard node.parent == nil else { throw Invalid(description: "the city \(node.id) has no parent") }
            case .district:
                guard let parent = node.parent, byID[parent]?.role == .city else { throw Invalid(description: "district \(node.id) must have the city as parent") }
                guard node.unit != nil else { throw Invalid(description: "district \(node.id) needs a unit (its district id)") }
            case .street:
                guard let parent = node.parent, byID[parent]?.role == .district else { throw Invalid(description: "street \(node.id) must have a district as parent") }
                guard node.unit != nil else { throw Invalid(description: "street \(node.id) needs a unit (its street id)") }
            }
            if node.role != .street, !node.committees.isEmpty { throw Invalid(description: "only streets own committees (\(node.id))") }
        }
        self.nodes = byID
        self.committeeOwner = owner
        self.cityID = cities[0].id
        self.streetsByUnit = Dictionary(grouping: nodes.filter { $0.role == .street }, by: { $0.unit! }).mapValues { $0.map(\.id) }
    }

    /// The city node.
    public var city: TopologyNode { nodes[cityID]! }

    /// The district node above a node (itself for a district; nil for the city).
    public func district(of id: NodeID) -> TopologyNode? {
        guard let node = nodes[id] else { return nil }
        switch node.role {
        case .city: return nil
        case .district: return node
        case .street: return node.parent.flatMap { nodes[$0] }
        }
    }

    /// The nodes `id` keeps a replication link with: a street with its district and the city,
    /// a district with the city and its streets, the city with every district and street.
    public func peers(of id: NodeID) -> [NodeID] {
        guard let node = nodes[id] else { return [] }
        switch node.role {
        case .street: return [node.parent, city.id].compactMap { $0 }
        case .district: return [city.id] + nodes.values.filter { $0.parent == id }.map(\.id).sorted()
        case .city: return nodes.keys.filter { $0 != id }.sorted()
        }
    }

    /// The peers `id` dials (the others dial it): streets dial their district and the city; districts dial the city.
    public func dialed(by id: NodeID) -> [NodeID] {
        guard let node = nodes[id] else { return [] }
        switch node.role {
        case .street: return [node.parent, city.id].compactMap { $0 }
        case .district: return [city.id]
        case .city: return []
        }
    }

    /// Whether any scope `origin` may write is held by `holder`: the city and the node itself always; a district and
    /// its own streets; two streets of one district (the threads of district-wide posts); nothing else (one street
    /// never holds another's committees). Anti-entropy skips the origins for which this is false — at the city, each
    /// street's sync would otherwise scan every other street's log.
    public func mayShare(origin: NodeID, with holder: NodeID) -> Bool {
        guard let o = nodes[origin], let h = nodes[holder] else { return false }
        if o.role == .city || h.role == .city || origin == holder { return true }
        switch (o.role, h.role) {
        case (.district, .street): return h.parent == origin
        case (.street, .district): return o.parent == holder
        case (.street, .street): return areSiblingStreets(origin, holder)
        default: return false
        }
    }

    /// Whether `a` and `b` are two different streets of one district.
    public func areSiblingStreets(_ a: NodeID, _ b: NodeID) -> Bool {
        guard a != b, let x = nodes[a], let y = nodes[b], x.role == .street, y.role == .street else { return false }
        return x.parent != nil && x.parent == y.parent
    }

    /// Whether `ancestor` is above `node` in the hierarchy (the city above all; a district above its streets).
    public func isAncestor(_ ancestor: NodeID, of node: NodeID) -> Bool {
        guard let a = nodes[ancestor], let n = nodes[node], ancestor != node else { return false }
        switch a.role {
        case .city: return true
        case .district: return n.parent == ancestor
        case .street: return false
        }
    }

    // MARK: - Scopes

    /// The street id and district id a committee belongs to.
    public func location(ofCommittee committee: String) -> (street: TopologyNode, district: TopologyNode)? {
        guard let streetID = committeeOwner[committee], let street = nodes[streetID], let district = district(of: streetID) else { return nil }
        return (street, district)
    }

    /// Whether node `id` holds a replica of `scope`: the street its own committees and street scope, its district's
    /// and the city's scopes; a district everything of its streets, itself and the city; the city everything.
    public func holds(_ id: NodeID, _ scope: Scope) -> Bool {
        guard let node = nodes[id] else { return false }
        if node.role == .city { return true }
        let district = self.district(of: id)
        switch scope {
        case .city:
            return true
        case .district(let unit):
            return district?.unit == unit
        case .street(let unit):
            if node.role == .street { return node.unit == unit }
            return streetsByUnit[unit]?.contains { nodes[$0]?.parent == id } ?? false
        case .committee(let committee):
            guard let owner = committeeOwner[committee] else { return false }
            return owner == id || (node.role == .district && nodes[owner]?.parent == id)
        }
    }

    /// Whether `origin` has authority to write changes of `kind` in `scope` (mission.md): a street for its own
    /// committees and street, and — for its residents' comments and likes on district-wide posts — its district; a
    /// district for its streets' committees, its streets and itself; the city for all.
    /// `entity` must then name an entity of that kind (its id's prefix), so a reply can never write over the post.
    public func mayWrite(_ origin: NodeID, _ scope: Scope, kind: String, entity: String) -> Bool {
        guard let node = nodes[origin] else { return false }
        if node.role == .street, case .district = scope {
            guard let prefix = Self.threadKinds[kind], entity.hasPrefix(prefix) else { return false }
        }
        return mayWrite(origin, scope)
    }

    /// The kinds a street may write in its district's scope — the replies to a district-wide post, so that every street
    /// of the district sees the whole thread — with the prefix of their ids (`EntityKind.idPrefix`, `Like.id`).
    public static let threadKinds: [String: String] = ["comment": "pc_", "like": "l:"]

    /// Whether `origin` may write some change in `scope` (of some kind; `mayWrite(_:_:kind:)` is the whole rule).
    public func mayWrite(_ origin: NodeID, _ scope: Scope) -> Bool {
        guard let node = nodes[origin] else { return false }
        switch node.role {
        case .city: return true
        case .district:
            if case .city = scope { return false }
            return holds(origin, scope)
        case .street:
            switch scope {
            case .committee(let committee): return committeeOwner[committee] == origin
            case .street(let unit): return node.unit == unit
            case .district(let unit): return district(of: origin)?.unit == unit
            case .city: return false
            }
        }
    }
}
