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
    /// The cookie the command centre's pages (and only they) accept in place of the header.
    static let dashboardCookie = "shequ_dashboard"

    func handle(_ request: Request, context: ShequRequestContext, next: (Request, ShequRequestContext) async throws -> Response) async throws -> Response {
        let token: String
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer "), header.count <= 200 else { throw APIError.unauthorized }
            token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
        } else if request.uri.path.hasPrefix("/dashboard"), let cookie = request.cookies[Self.dashboardCookie]?.value, cookie.count <= 200 {
            // A stale cookie is no error: the page asks to sign in again.
            guard let member = try await store.read({ try $0.member(forToken: cookie) }), member.status != .rejected else {
                return try await next(request, context)
            }
            var context = context
            context.member = member
            return try await next(request, context)
        } else {
            return try await next(request, context)
        }
        guard let member = try await store.read({ try $0.member(forToken: token) }), member.status != .rejected else {
            throw APIError.unauthorized
        }
        var context = context
        context.member = member
        return try await next(request, context)
    }
}

import Foundation
