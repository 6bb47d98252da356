import Governance
import Hummingbird
import NIOCore
import Logging
import Storage

/// The request context: Hummingbird's core plus the member the bearer token names, if any.
public struct ShequRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The authenticated member, set by `AuthMiddleware`.
    public var member: Member?
    /// The browser session that authenticated the request, when it was the app's cookie and not a bearer token.
    public var session: SessionInfo?
    /// The client's address (for per-address rate limits).
    public let remoteAddress: SocketAddress?
    /// The client's address as `ConnectionPolicy.clientAddress` tells it (behind a trusted proxy, the forwarded one),
    /// set by `RateLimitMiddleware`.
    public var clientAddress: String?

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.member = nil
        self.session = nil
        self.remoteAddress = source.channel.remoteAddress
        self.clientAddress = nil
    }

    /// The authenticated actor, or 401.
    func requireActor() throws -> Actor {
        guard let member else { throw APIError.unauthorized }
        return member.actor
    }
}

/// Resolves `Authorization: Bearer TOKEN` to a member. A present but unknown token is 401 at once;
/// no token leaves the request anonymous (public routes allow it, the rest answer 401).
///
/// Two cookies stand in for the header, each only where it belongs: the command centre's (`/dashboard`) and the
/// residents' app session (`/app`, `/join` and the app's event stream). The JSON API's writes never take a cookie, so
/// a page elsewhere cannot make a signed-in browser write through them.
struct AuthMiddleware: RouterMiddleware {
    let store: Store
    /// The cookie the command centre's pages (and only they) accept in place of the header.
    static let dashboardCookie = "shequ_dashboard"
    /// The residents' app session cookie.
    static let sessionCookie = "shequ_session"

    static func takesSessionCookie(_ request: Request) -> Bool {
        let path = request.uri.path
        return path == "/app" || path.hasPrefix("/app/") || path == "/join" || (path == "/v1/me/events" && request.method == .get)
    }

    func handle(_ request: Request, context: ShequRequestContext, next: (Request, ShequRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        if request.headers[.authorization] == nil, Self.takesSessionCookie(request),
           let cookie = request.cookies[Self.sessionCookie]?.value, cookie.count <= 200 {
            // An expired or ended session is no error: the app asks to sign in again.
            if let (member, session) = try await store.session(forCookie: cookie), member.status != .rejected {
                context.member = member
                context.session = session
            }
            return try await next(request, context)
        }
        let token: String
        let fromCookie: Bool
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer "), header.count <= 200 else { throw APIError.unauthorized }
            token = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
            fromCookie = false
        } else if request.uri.path.hasPrefix("/dashboard"), let cookie = request.cookies[Self.dashboardCookie]?.value, cookie.count <= 200 {
            token = cookie
            fromCookie = true
        } else {
            return try await next(request, context)
        }
        guard let member = try await store.read({ try $0.member(forToken: token) }), member.status != .rejected else {
            // A stale cookie is no error: the page asks to sign in again.
            if fromCookie { return try await next(request, context) }
            throw APIError.unauthorized
        }
        context.member = member
        return try await next(request, context)
    }
}
