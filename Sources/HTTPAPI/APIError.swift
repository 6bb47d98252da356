import Foundation
import Governance
import Hummingbird
import Logging
import Replication
import Storage

/// An error as clients see it: a status and `{"error": {"code", "message"}}` (api.md).
public struct APIError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// Seconds a client should wait, for 429.
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(.object(["error": .object(["code": .string(code), "message": .string(message)])]), status: status)
        if status == .tooManyRequests || status == .serviceUnavailable { response.headers[.retryAfter] = String(retryAfter ?? 1) }
        return response
    }

    static let unauthorized = APIError(.unauthorized, "unauthorized", "a valid bearer token is required")
    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    static func invalid(_ field: String, _ message: String) -> APIError { APIError(.unprocessableContent, "invalid_\(field)", "\(field): \(message)") }
    static func notFound(_ what: String) -> APIError { APIError(.notFound, "not_found", "\(what) not found") }
    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }
    static func rateLimited(retryAfter: Int) -> APIError {
        var error = APIError(.tooManyRequests, "rate_limited", "too many requests; retry after \(retryAfter) s")
        error.retryAfter = retryAfter
        return error
    }

    /// Maps a refusal from the domain to its status.
    init(_ error: GovernanceError) {
        switch error.code {
        case .forbidden: self.init(.forbidden, error.reason, error.message)
        case .notFound: self.init(.notFound, error.reason, error.message)
        case .invalid: self.init(.unprocessableContent, error.reason, error.message)
        case .conflict: self.init(.conflict, error.reason, error.message)
        }
    }
}

/// Converts every error that reaches the edge into the api.md error body, so that clients never see
/// a bare status or a framework's own format.
struct ErrorBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            throw APIError.translating(error, request: request, logger: context.logger)
        }
    }
}

extension APIError {
    /// What a client is told of any error: the domain's refusals with their status, a recovering store as 503,
    /// the router's own errors in the api.md body, and anything else as a logged 500.
    static func translating(_ error: any Error, request: Request, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as GovernanceError:
            return APIError(error)
        case let error as StorageError where error.isRecovering:
            var refusal = APIError(.serviceUnavailable, "recovering", error.message)
            refusal.retryAfter = 5
            return refusal
        case let error as HTTPError:
            switch error.status {
            case .notFound: return APIError(.notFound, "not_found", "no route for \(request.method) \(request.uri.path)")
            case .contentTooLarge: return APIError(.contentTooLarge, "payload_too_large", "request body exceeds the limit")
            case .methodNotAllowed: return APIError(.methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed here")
            default: return APIError(error.status, "http_error", error.body ?? error.status.reasonPhrase)
            }
        default:
            logger.error("unhandled error", metadata: ["http.path": "\(request.uri.path)", "error": "\(error)"])
            return APIError(.internalServerError, "internal", "internal error")
        }
    }
}
