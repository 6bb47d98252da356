import Replication

/// One line of `demo-accounts.json`: an account of the demo and its bearer token.
public struct DemoAccount: Sendable, Hashable {
    public var node: String
    public var committee: String?
    public var role: String
    public var memberId: String
    public var token: String

    public init(node: String, committee: String?, role: String, memberId: String, token: String) {
        self.node = node
        self.committee = committee
        self.role = role
        self.memberId = memberId
        self.token = token
    }

    public var value: Value {
        .object(["node": .string(node), "committee": .optional(committee), "role": .string(role), "memberId": .string(memberId),
                 "token": .string(token)])
    }

    /// Nil when a field is missing or of the wrong type.
    public init?(_ value: Value) {
        guard let node = value["node"].string, let role = value["role"].string, let memberId = value["memberId"].string,
              let token = value["token"].string else { return nil }
        self.init(node: node, committee: value["committee"].string, role: role, memberId: memberId, token: token)
    }
}
