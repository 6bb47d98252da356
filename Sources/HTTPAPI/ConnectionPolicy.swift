import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization

/// How long a client may take and how many connections it may hold, and whose `X-Forwarded-For` is believed.
///
/// A street node sits on a city network it does not control: a client that opens connections and never finishes its
/// request headers must not hold them for ever, one address must not take every connection, and behind the TLS
/// terminator the docs recommend every resident must not share the terminator's rate-limit bucket.
public struct ConnectionPolicy: Sendable, Hashable {
    /// A connection's first request headers must be read within this many milliseconds of it opening, however slowly
    /// the bytes trickle in; on a kept-alive connection the next request's, within the idle timeout of the response.
    public var headerTimeoutMillis: Int
    /// A connection that reads nothing for this long is closed (Hummingbird's idle timeout).
    public var idleTimeoutMillis: Int
    /// Connections open at once; beyond it the server stops accepting until one closes.
    public var maxConnections: Int
    /// Connections open at once from one address (trusted proxies are exempt); beyond it a new one is closed at once.
    public var maxConnectionsPerAddress: Int
    /// Proxies whose `X-Forwarded-For` names the client (the TLS terminator in front of the node).
    public var trustedProxies: [AddressRange]

    public init(headerTimeoutMillis: Int = 10_000, idleTimeoutMillis: Int = 75_000, maxConnections: Int = 4_096,
                maxConnectionsPerAddress: Int = 256, trustedProxies: [AddressRange] = []) {
        self.headerTimeoutMillis = headerTimeoutMillis
        self.idleTimeoutMillis = idleTimeoutMillis
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.trustedProxies = trustedProxies
    }

    public static let standard = ConnectionPolicy()

    /// Whether `address` is one of the trusted proxies.
    func isTrusted(_ address: String) -> Bool {
        guard !trustedProxies.isEmpty, let bytes = AddressRange.bytes(of: address) else { return false }
        return isTrusted(bytes)
    }

    func isTrusted(_ bytes: [UInt8]) -> Bool { trustedProxies.contains { $0.contains(bytes) } }

    /// The client a request comes from: the peer itself, unless the peer is a trusted proxy; then the right-most
    /// address of `X-Forwarded-For` that is not a trusted proxy (the left-most ones are the client's to write, so they
    /// are believed only through an unbroken chain of trusted proxies). At most 32 hops are read.
    public func clientAddress(peer: String, forwardedFor: [String]) -> String {
        guard isTrusted(peer) else { return peer }
        let hops = forwardedFor.joined(separator: ",").split(separator: ",").suffix(32)
        var client = peer
        for hop in hops.reversed() {
            let address = hop.trimmingCharacters(in: .whitespaces)
            guard let bytes = AddressRange.bytes(of: address) else { return client }
            client = address
            if !isTrusted(bytes) { return address }
        }
        return client
    }
}

/// An IPv4 or IPv6 network in CIDR notation: `10.0.0.0/8`, `::1/128`, or a single address.
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    let network: [UInt8]
    public let prefixLength: Int

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let bytes = Self.bytes(of: first) else {
            throw Invalid(description: "\(text.debugDescription) is not an IP address or CIDR range")
        }
        let length = parts.count == 2 ? Int(parts[1]) : bytes.count * 8
        guard let length, (0...bytes.count * 8).contains(length) else {
            throw Invalid(description: "\(text.debugDescription): the prefix length must be 0-\(bytes.count * 8)")
        }
        network = Self.masked(bytes, length)
        prefixLength = length
    }

    public var description: String {
        let family = network.count == 4 ? AF_INET : AF_INET6
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = network.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/\(prefixLength)"
    }

    func contains(_ bytes: [UInt8]) -> Bool {
        bytes.count == network.count && Self.masked(bytes, prefixLength) == network
    }

    static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = max(0, min(8, length - index * 8))
            return keep == 8 ? byte : byte & ~(UInt8(0xFF) >> keep)
        }
    }

    /// The address's bytes (4 or 16), or nil when it is not a literal IPv4 or IPv6 address.
    static func bytes(of address: String) -> [UInt8]? {
        guard address.utf8.count <= 45 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address.
            if bytes.prefix(10).allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return Array(bytes.suffix(4)) }
            return bytes
        }
        return nil
    }
}

/// Connections open per address, shared by every connection's guard.
final class ConnectionTable: Sendable {
    private let open = Mutex<[String: Int]>([:])

    /// Counts a new connection from `address`; false (and not counted) when the address already holds `limit`.
    func admit(_ address: String, limit: Int) -> Bool {
        open.withLock { open in
            let count = open[address, default: 0]
            guard count < limit else { return false }
            open[address] = count + 1
            return true
        }
    }

    func release(_ address: String) {
        open.withLock { open in
            let count = open[address, default: 1] - 1
            open[address] = count > 0 ? count : nil
        }
    }

    var addresses: Int { open.withLock { $0.count } }
}

/// One per HTTP connection, after HTTP decoding: closes a connection from an address that already holds its share,
/// and one whose request headers are not all read within the header timeout (a slow-loris client trickling a byte
/// at a time never trips an idle timeout, but it trips this).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let refusedByAddress = Counter(label: "shequ_http_connections_refused_total", dimensions: [("reason", "address")])
    static let headerTimeouts = Counter(label: "shequ_http_connections_refused_total", dimensions: [("reason", "header_timeout")])

    let policy: ConnectionPolicy
    let table: ConnectionTable
    private var counted: String?
    private var deadline: Scheduled<Void>?

    init(policy: ConnectionPolicy, table: ConnectionTable) {
        self.policy = policy
        self.table = table
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if let address = context.channel.remoteAddress?.ipAddress, !policy.isTrusted(address) {
            guard table.admit(address, limit: policy.maxConnectionsPerAddress) else {
                Self.refusedByAddress.increment()
                context.close(promise: nil)
                return
            }
            counted = address
        }
        armDeadline(context: context, millis: policy.headerTimeoutMillis)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if let counted { table.release(counted) }
        counted = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // A kept-alive connection waits for its next request as long as the idle timeout, then has its headers read
        // by then (a client that keeps a connection between requests is not a slow one).
        if case .end = unwrapOutboundIn(data) { armDeadline(context: context, millis: policy.idleTimeoutMillis) }
        context.write(data, promise: promise)
    }

    private func armDeadline(context: ChannelHandlerContext, millis: Int) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(millis))) {
            Self.headerTimeouts.increment()
            channel.close(promise: nil)
        }
    }
}

extension ConnectionPolicy {
    /// Hummingbird's HTTP/1 server with the idle timeout and a guard per connection.
    func serverBuilder() -> HTTPServerBuilder {
        let table = ConnectionTable()
        let policy = self
        return .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(policy: policy, table: table)],
                                           idleTimeout: .milliseconds(Int64(idleTimeoutMillis))))
    }
}
