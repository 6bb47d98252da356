import Replication

/// Every kind of replicated entity. The raw value is what the change log stores.
public enum EntityKind: String, Sendable, CaseIterable, Codable {
    case committee, member, post, comment, like, message
    case poll, ballot, ticket, ticketEvent = "ticket_event"
    case topic, topicEvent = "topic_event", campaign, signup, queue, booking

    /// The field naming the entity this one hangs from (a comment's post, a ballot's poll), if any.
    public var parentField: String? {
        switch self {
        case .comment, .like: "post"
        case .ballot: "poll"
        case .ticketEvent: "ticket"
        case .topicEvent: "topic"
        case .signup: "campaign"
        case .booking: "queue"
        default: nil
        }
    }

    /// A short prefix for ids minted for this kind, so an id says what it names.
    public var idPrefix: String {
        switch self {
        case .committee: "c"
        case .member: "m"
        case .post: "p"
        case .comment: "pc"
        case .like: "l"
        case .message: "dm"
        case .poll: "v"
        case .ballot: "b"
        case .ticket: "t"
        case .ticketEvent: "te"
        case .topic: "i"
        case .topicEvent: "ie"
        case .campaign: "cp"
        case .signup: "su"
        case .queue: "q"
        case .booking: "bk"
        }
    }
}

/// An entity as Storage hands it to Governance: its merged fields with their stamps.
public struct EntityRecord: Hashable, Sendable {
    public var id: String
    public var kind: EntityKind
    public var scope: Scope
    public var cells: [String: Cell]

    public init(id: String, kind: EntityKind, scope: Scope, cells: [String: Cell]) {
        self.id = id
        self.kind = kind
        self.scope = scope
        self.cells = cells
    }

    /// A field's value, `.null` when absent.
    public subscript(field: String) -> Value { cells[field]?.value ?? .null }
    /// The stamp of the first write to the entity: when it was made.
    public var created: WriteStamp { cells.values.map(\.stamp).min() ?? WriteStamp(hlc: .zero, origin: "") }
    /// The stamp of the latest write.
    public var updated: WriteStamp { cells.values.map(\.stamp).max() ?? WriteStamp(hlc: .zero, origin: "") }
    /// Creation time in milliseconds since the epoch.
    public var createdMillis: Int64 { Int64(created.hlc.millis) }
    /// Whether a tombstone was written.
    public var isDeleted: Bool { self[Cell.tombstoneField] == .bool(true) }
}
