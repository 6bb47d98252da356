/// Why storage refused or failed an operation.
public struct StorageError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: String, Sendable {
        case corruptRow = "corrupt_row"
        case unknownKind = "unknown_kind"
        case nodeMismatch = "node_mismatch"
    }

    let code: Code
    /// A sentence for the log and the operator.
    public let message: String

    static func corruptRow(_ message: String) -> Self { .init(code: .corruptRow, message: message) }
    static func unknownKind(_ kind: String) -> Self { .init(code: .unknownKind, message: "unknown entity kind \(kind)") }
    static func nodeMismatch(_ message: String) -> Self { .init(code: .nodeMismatch, message: message) }

    public var description: String { "storage error (\(code.rawValue)): \(message)" }
}
