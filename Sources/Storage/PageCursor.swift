/// Where a page of a list ends: the last entity's creation stamp and its id. Lists sort by (created, id), and two
/// entities replicated from different nodes may share a stamp, so the id is what keeps the one after a page's edge
/// from being skipped. Clients see it as an opaque token, `<created in base 36>.<id>`.
public struct PageCursor: Hashable, Sendable {
    public var created: Int64
    public var id: String

    public init(created: Int64, id: String) {
        self.created = created
        self.id = id
    }

    public var token: String { "\(String(created, radix: 36)).\(id)" }

    /// Nil for anything this server did not issue.
    public init?(token: String) {
        guard let dot = token.firstIndex(of: "."), let created = Int64(token[..<dot], radix: 36), created > 0 else { return nil }
        let id = String(token[token.index(after: dot)...])
        guard !id.isEmpty, id.count <= 128 else { return nil }
        self.init(created: created, id: id)
    }
}
