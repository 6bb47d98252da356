import Replication

/// One line of `endpoints.json` (api.md): where each node of a running federation listens.
public struct Endpoint: Sendable, Hashable {
    public var id: String
    public var role: String
    public var parent: String?
    public var http: String
    public var gossip: String?
    public var pid: Int32

    public init(id: String, role: String, parent: String?, http: String, gossip: String?, pid: Int32) {
        self.id = id
        self.role = role
        self.parent = parent
        self.http = http
        self.gossip = gossip
        self.pid = pid
    }

    public var value: Value {
        .object(["id": .string(id), "role": .string(role), "parent": .optional(parent), "http": .string(http), "gossip": .optional(gossip),
                 "pid": .int(Int64(pid))])
    }

    /// Nil when a field is missing or of the wrong type.
    public init?(_ value: Value) {
        guard let id = value["id"].string, let role = value["role"].string, let http = value["http"].string,
              let pid = value["pid"].int.flatMap(Int32.init(exactly:)) else { return nil }
        self.init(id: id, role: role, parent: value["parent"].string, http: http, gossip: value["gossip"].string, pid: pid)
    }
}
