import Foundation
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Logging
import ShequTestSupport
import Testing

/// Header-read deadline, per-address connection cap and trusted proxies: what a street node on a network it does not
/// control needs. Without the guard, none of the slow clients below was ever closed.
@Suite struct ConnectionPolicyTests {
    @Test func forwardedForIsBelievedOnlyThroughTrustedProxies() throws {
        let policy = ConnectionPolicy(trustedProxies: [try AddressRange("10.0.0.0/8"), try AddressRange("::1")])
        #expect(policy.clientAddress(peer: "203.0.113.9", forwardedFor: ["1.2.3.4"]) == "203.0.113.9", "an untrusted peer's header is ignored")
        #expect(policy.clientAddress(peer: "10.0.0.2", forwardedFor: ["1.2.3.4"]) == "1.2.3.4")
        #expect(policy.clientAddress(peer: "::1", forwardedFor: ["6.6.6.6, 1.2.3.4, 10.9.9.9"]) == "1.2.3.4",
                "the right-most untrusted hop: what the client wrote to the left is not believed")
        #expect(policy.clientAddress(peer: "10.0.0.2", forwardedFor: ["1.2.3.4", "10.0.0.7"]) == "1.2.3.4", "several header lines are one list")
        #expect(policy.clientAddress(peer: "10.0.0.2", forwardedFor: ["garbage, 1.2.3.4"]) == "1.2.3.4")
        #expect(policy.clientAddress(peer: "10.0.0.2", forwardedFor: ["1.2.3.4, not-an-ip"]) == "10.0.0.2", "a malformed hop stops the walk")
        #expect(policy.clientAddress(peer: "10.0.0.2", forwardedFor: []) == "10.0.0.2")
        #expect(policy.clientAddress(peer: "::ffff:10.0.0.2", forwardedFor: ["1.2.3.4"]) == "1.2.3.4", "IPv4-mapped addresses match IPv4 ranges")
        #expect(throws: AddressRange.Invalid.self) { try AddressRange("10.0.0.0/33") }
        #expect(throws: AddressRange.Invalid.self) { try AddressRange("example.org") }
        #expect(try AddressRange("192.168.7.9/16").description == "192.168.0.0/16")
        #expect(try AddressRange("fe80::1/10").description == "fe80::/10")
    }

    @Test func residentsBehindATrustedProxyEachHaveTheirOwnBucket() async throws {
        let node = try TestNode()
        // One token a minute: a slow run cannot refill the shared bucket while its thirty requests are sent.
        let limits = RateLimits(tokenPerMinute: 1_000_000, tokenBurst: 1_000_000, addressPerMinute: 1, addressBurst: 5)
        func statuses(trusting proxies: [AddressRange]) async throws -> [HTTPResponse.Status] {
            let server = APIServer(store: node.store, identity: node.server.identity, limits: limits,
                                   connections: ConnectionPolicy(headerTimeoutMillis: 120_000, trustedProxies: proxies))
            return try await server.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
                var statuses: [HTTPResponse.Status] = []
                // Ten residents, three requests each, all through the proxy on loopback.
                for resident in 0..<10 {
                    for _ in 0..<3 {
                        statuses.append(try await client.execute(uri: "/v1/committees", method: .get,
                                                                 headers: [RateLimitMiddleware.forwardedFor: "198.51.100.\(resident)"]).status)
                    }
                }
                return statuses
            }
        }
        let shared = try await statuses(trusting: [])
        #expect(shared.filter { $0 == .tooManyRequests }.count >= 20, "without trust every resident shares the proxy's bucket of 5")
        let own = try await statuses(trusting: [try AddressRange("127.0.0.0/8"), try AddressRange("::1")])
        #expect(own.allSatisfy { $0 == .ok }, "each forwarded address has its own bucket: \(own)")
    }

    @Test func slowClientsAreClosedAndOneAddressCannotTakeEveryConnection() async throws {
        let node = try TestNode()
        let policy = ConnectionPolicy(headerTimeoutMillis: 3_000, idleTimeoutMillis: 60_000, maxConnections: 1_000, maxConnectionsPerAddress: 20)
        let server = APIServer(store: node.store, identity: node.server.identity, limits: .unlimited, connections: policy)
        try await server.application(host: "127.0.0.1", port: 0, logger: Logger(label: "test")).test(.live) { client in
            let port = try #require(client.port)
            // 60 connections from one address, each stopping half-way through its headers.
            var slow: [RawSocket] = []
            for _ in 0..<60 {
                let socket = try RawSocket(from: "127.0.0.3", to: port)
                try socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
                slow.append(socket)
            }
            // Those over the address's share are closed at once (well within the 3 s deadline).
            let early = try await RawSocket.waitUntil(seconds: 2.5) { slow.filter(\.isClosed).count >= 40 }
            #expect(early, "40 connections over the per-address cap of 20 are closed")
            let survivors = slow.filter { !$0.isClosed }
            #expect(survivors.count == 20)
            // One more keeps trickling a byte at a time: an idle timeout never sees it idle; the header deadline does.
            let trickle = try RawSocket(from: "127.0.0.4", to: port)
            // Meanwhile a real client from another address is served.
            let real = try RawSocket(from: "127.0.0.2", to: port)
            try real.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let served = try await RawSocket.waitUntil(seconds: 10) { real.reply.contains("\"status\"") }
            #expect(served, "a real client is answered while slow ones hold connections: \(real.reply)")
            var trickled = 0
            let allClosed = try await RawSocket.waitUntil(seconds: 15) {
                if !trickle.isClosed, trickled < 200 { try? trickle.send(trickled == 0 ? "GET /healthz HTTP/1.1\r\n" : "X"); trickled += 1 }
                return survivors.allSatisfy(\.isClosed) && trickle.isClosed
            }
            #expect(allClosed, "every slow client is closed by the header deadline")
            #expect(trickled > 3, "the trickling client sent bytes for a while before its deadline")
            // The address's share is free again.
            let again = try RawSocket(from: "127.0.0.3", to: port)
            try again.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await RawSocket.waitUntil(seconds: 10) { again.reply.contains("\"status\"") })
            for socket in slow + [trickle, real, again] { socket.close() }
        }
    }
}

/// A blocking TCP socket bound to a chosen loopback source address, for clients that misbehave on purpose.
final class RawSocket: @unchecked Sendable {
    private var fd: Int32
    private(set) var received = ""
    private var sawEOF = false

    struct Failure: Error { let what: String }

    init(from source: String, to port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(what: "socket") }
        let bound = IPv4.bind(fd, IPv4.address(source, port: 0))
        let connected = IPv4.connect(fd, IPv4.address("127.0.0.1", port: UInt16(port)))
        guard bound == 0, connected == 0 else { Glibc.close(fd); throw Failure(what: "bind/connect \(errno)") }
    }

    func send(_ text: String) throws {
        let sent = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
        guard sent >= 0 else { throw Failure(what: "send \(errno)") }
    }

    /// Reads what has arrived without waiting; true once the server has closed (EOF or reset).
    var isClosed: Bool {
        guard !sawEOF else { return true }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        while true {
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if n > 0 { received += String(decoding: buffer.prefix(n), as: UTF8.self); continue }
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { sawEOF = true }
            return sawEOF
        }
    }

    /// What the server has sent so far.
    var reply: String {
        _ = isClosed
        return received
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }

    /// Polls `condition` every 50 ms until it holds or `seconds` pass.
    static func waitUntil(seconds: Double, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try condition()
    }
}
