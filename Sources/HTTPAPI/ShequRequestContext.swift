import Governance
import Hummingbird
import Logging
import Storage

/// The request context: Hummingbird's core plus the member the bearer token names, if any.
public struct ShequRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated member, set by `AuthMiddleware`.
    public var member: Member?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.member = nil
    }

    /// The authenticated actor, or 401.
    func requireActor() throws -> Actor {
        guard let member else { throw APIError.unauthorized }
        return member.actor
    }
}

/// Resolves `Authorization: Bearer TOKEN` to a member. A present but unknown token is 401 at once;
/// no token leaves the request anonymous (public routes allow it, the rest answer 401).
struct AuthMiddleware: RouterMiddleware {
    let store: Store

    func handle(_ request: Request, context: ShequRequestContext, next: (Request, ShequRequestContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { return try await next(request, context) }
        guard header.hasPrefix("Bearer "), header.count <= 200 else { throw APIError.unauthorized }
        let token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard let member = try await store.read({ try $0.member(forToken: token) }), member.status != .rejected else {
            throw APIError.unauthorized
        }
        var context = context
        context.member = member
        return try await next(request, context)
    }
}

import Foundation
