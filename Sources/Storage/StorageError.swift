/// Why storage refused or failed an operation.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: String, Sendable {
        case corruptRow = "corrupt_row"
        case unknownKind = "unknown_kind"
        case nodeMismatch = "node_mismatch"
        case recovering
    }

    let code: Code
    /// A sentence for the log and the operator.
    public let message: String

    static func corruptRow(_ message: String) -> Self { .init(code: .corruptRow, message: message) }
    static func unknownKind(_ kind: String) -> Self { .init(code: .unknownKind, message: "unknown entity kind \(kind)") }
    static func nodeMismatch(_ message: String) -> Self { .init(code: .nodeMismatch, message: message) }
    static let recovering = Self(code: .recovering, message: "this node was restored and is fetching its own changes back from its district and the city; it takes writes again once it has them")

    /// Whether a local write was refused because the node is recovering (see `Store.beginRecovery`).
    public var isRecovering: Bool { code == .recovering }

    public var description: String { "storage error (\(code.rawValue)): \(message)" }
}
