/// Why a command was refused. HTTPAPI maps each code to a status and the error body of api.md.
public struct GovernanceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of refusal.
    public enum Code: String, Sendable, Hashable {
        /// The actor may not do this here (HTTP 403).
        case forbidden
        /// The thing named does not exist or is not visible to the actor (HTTP 404).
        case notFound = "not_found"
        /// The input breaks a rule of the domain (HTTP 422).
        case invalid = "invalid_input"
        /// The state does not allow it now: poll closed, queue full, wrong ticket stage (HTTP 409).
        case conflict
    }

    public let code: Code
    /// A sentence a person can act on.
    public let message: String
    /// A finer machine-readable reason, e.g. `poll_closed`.
    public let reason: String

    public init(_ code: Code, _ reason: String, _ message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(code.rawValue)/\(reason): \(message)" }

    public static func forbidden(_ message: String) -> Self { .init(.forbidden, "forbidden", message) }
    public static func notFound(_ what: String) -> Self { .init(.notFound, "not_found", "\(what) not found") }
    public static func invalid(_ field: String, _ message: String) -> Self { .init(.invalid, "invalid_\(field)", "\(field): \(message)") }
    public static func conflict(_ reason: String, _ message: String) -> Self { .init(.conflict, reason, message) }
}
