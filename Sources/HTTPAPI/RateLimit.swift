import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Metrics
import Synchronization

/// How many requests a bearer token and a client address may make: a burst, refilled at a steady rate per minute.
public struct RateLimits: Sendable, Hashable {
    public var tokenPerMinute: Int
    public var tokenBurst: Int
    public var addressPerMinute: Int
    public var addressBurst: Int
    /// At most this many tokens and addresses are tracked; beyond it the fullest buckets are forgotten first.
    public var maxTracked: Int

    public init(tokenPerMinute: Int, tokenBurst: Int, addressPerMinute: Int, addressBurst: Int, maxTracked: Int = 100_000) {
        self.tokenPerMinute = tokenPerMinute
        self.tokenBurst = tokenBurst
        self.addressPerMinute = addressPerMinute
        self.addressBurst = addressBurst
        self.maxTracked = maxTracked
    }

    /// A resident's phone never needs more than a few requests a second; a whole estate behind one carrier NAT
    /// shares an address, so addresses get far more room than tokens.
    public static let standard = RateLimits(tokenPerMinute: 600, tokenBurst: 200, addressPerMinute: 6_000, addressBurst: 2_000)
    /// Room for benchmarks that drive thousands of writes a second through a few tokens from one address.
    public static let benchmark = RateLimits(tokenPerMinute: 100_000_000, tokenBurst: 1_000_000, addressPerMinute: 100_000_000, addressBurst: 1_000_000)
    /// No limits (unit tests that drive thousands of requests from one address).
    public static let unlimited = RateLimits(tokenPerMinute: .max / 2, tokenBurst: .max / 2, addressPerMinute: .max / 2, addressBurst: .max / 2)
}

/// Token buckets keyed by bearer token and by client address.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    let limits: RateLimits

    init(limits: RateLimits) { self.limits = limits }

    /// How many clients are tracked now.
    var tracked: Int { buckets.withLock { $0.count } }

    /// Takes one request from `key`'s bucket; nil when allowed, else the seconds until one is available.
    func take(_ key: String, perMinute: Int, burst: Int, nowNanos: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Int? {
        let rate = Double(perMinute) / 60e9  // tokens per nanosecond
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: Double(burst), updated: nowNanos)
            bucket.tokens = min(Double(burst), bucket.tokens + Double(nowNanos &- bucket.updated) * rate)
            bucket.updated = nowNanos
            defer {
                buckets[key] = bucket
                if buckets.count > limits.maxTracked { Self.forget(&buckets, nowNanos: nowNanos, rate: rate, burst: burst) }
            }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / rate / 1e9).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }

    /// Forgets the buckets that have refilled (they would start full anyway), or, if none has, the oldest half.
    private static func forget(_ buckets: inout [String: Bucket], nowNanos: UInt64, rate: Double, burst: Int) {
        let full = buckets.filter { $0.value.tokens + Double(nowNanos &- $0.value.updated) * rate >= Double(burst) }.map(\.key)
        if !full.isEmpty {
            for key in full { buckets.removeValue(forKey: key) }
            return
        }
        for key in buckets.sorted(by: { $0.value.updated < $1.value.updated }).prefix(buckets.count / 2).map(\.key) {
            buckets.removeValue(forKey: key)
        }
    }
}

/// Answers 429 with `Retry-After` when a token or an address is over its limit. `/healthz` is never limited. The
/// address is the client's as `ConnectionPolicy.clientAddress` tells it: behind a trusted proxy, the forwarded one.
struct RateLimitMiddleware: RouterMiddleware {
    let limiter: RateLimiter
    let policy: ConnectionPolicy
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let limited = Counter(label: "shequ_http_rate_limited_total", dimensions: [("by", "token")])
    static let limitedByAddress = Counter(label: "shequ_http_rate_limited_total", dimensions: [("by", "address")])

    func handle(_ request: Request, context: ShequRequestContext, next: (Request, ShequRequestContext) async throws -> Response) async throws -> Response {
        guard request.uri.path != "/healthz" else { return try await next(request, context) }
        let limits = limiter.limits
        var context = context
        if let peer = context.remoteAddress?.ipAddress {
            let address = policy.clientAddress(peer: peer, forwardedFor: request.headers[values: Self.forwardedFor])
            context.clientAddress = address
            if let wait = limiter.take("a:" + address, perMinute: limits.addressPerMinute, burst: limits.addressBurst) {
                Self.limitedByAddress.increment()
                throw APIError.rateLimited(retryAfter: wait)
            }
        }
        if let header = request.headers[.authorization], header.count <= 200,
           let wait = limiter.take("t:" + header, perMinute: limits.tokenPerMinute, burst: limits.tokenBurst) {
            Self.limited.increment()
            throw APIError.rateLimited(retryAfter: wait)
        }
        return try await next(request, context)
    }
}
