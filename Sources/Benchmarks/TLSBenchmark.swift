@preconcurrency import Crypto
import Foundation
import Gossip
import GossipNIO
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import Replication

/// `shequ bench tls`: what mutual TLS costs the gossip links, beside plain TCP in the same run.
///
/// - Handshake: a connection set up and one 64-byte round trip on it, on loopback in this process, with the nodes'
///   TLS (Ed25519 certificates checked against the topology, TLS 1.3) and without. The round trip is included because
///   in TLS 1.3 the listener judges the dialer's certificate after the dialer has finished.
/// - Changes: the propagation phase of `bench propagation` (notices posted one at a time at the streets of a 7-process
///   federation, each one's arrival at the city read from its log), once with TLS and once without.
public enum TLSBenchmark {
    public struct Result: Sendable {
        public var handshakes: (tls: [Double], tcp: [Double])
        public var toCity: (tls: [Double], tcp: [Double])
        public var toDistrict: (tls: [Double], tcp: [Double])
        public var notArrived: (tls: Int, tcp: Int)
    }

    public static func run(connections: Int, writes: Int, executable: String, directory: String,
                           progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        let keys = (0..<2).map { _ in Curve25519.Signing.PrivateKey() }
        let topology = try TopologyGenerator.generate(.init(districts: 1, streetsPerDistrict: [1], committeesPerStreet: [1],
                                                            gossipBasePort: 1, httpBasePort: 2)) { id in
            (id == "city" ? keys[0] : keys[1]).publicKey.rawRepresentation.base64EncodedString()
        }
        let city = topology.cityID
        guard let district = topology.nodes.values.first(where: { $0.role == .district })?.id else { throw BenchmarkFailure("no district") }
        let server = try LinkTLS(key: keys[0], local: city, topology: topology)
        let client = try LinkTLS(key: keys[1], local: district, topology: topology)
        let tls = try await handshakes(count: connections, server: { server.serverHandler() }, client: { try client.clientHandler(dialing: city) })
        let tcp = try await handshakes(count: connections, server: { nil }, client: { nil })
        progress("handshakes: \(connections) with TLS, \(connections) without")

        var options = ReplicationBenchmark.Options(nodes: 7)
        options.writes = writes
        options.idleSeconds = 1
        options.loadSeconds = 0
        options.serfEvents = 0
        options.tls = true
        let withTLS = try await ReplicationBenchmark.run(options, executable: executable, directory: (directory as NSString).appendingPathComponent("tls"),
                                                         progress: progress)
        options.tls = false
        let plain = try await ReplicationBenchmark.run(options, executable: executable, directory: (directory as NSString).appendingPathComponent("tcp"),
                                                       progress: progress)
        return Result(handshakes: (tls, tcp), toCity: (withTLS.toCity, plain.toCity), toDistrict: (withTLS.toDistrict, plain.toDistrict),
                      notArrived: (withTLS.notArrived, plain.notArrived))
    }

    /// Milliseconds for each of `count` connections: connect, handshake, one echoed round trip.
    static func handshakes(count: Int, server: @escaping @Sendable () -> NIOSSLServerHandler?,
                           client: @escaping @Sendable () throws -> NIOSSLClientHandler?) async throws -> [Double] {
        let group = MultiThreadedEventLoopGroup.singleton
        let listener = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = server() { try channel.pipeline.syncOperations.addHandler(tls) }
                    try channel.pipeline.syncOperations.addHandler(Echo())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { listener.close(promise: nil) }
        guard let port = listener.localAddress?.port else { throw BenchmarkFailure("the handshake bench's listener has no port") }
        var times: [Double] = []
        for _ in 0..<count {
            let started = ContinuousClock.now
            let answered = group.next().makePromise(of: Void.self)
            let handler = try client()
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let handler { try channel.pipeline.syncOperations.addHandler(handler) }
                        try channel.pipeline.syncOperations.addHandler(RoundTrip(answered: answered))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            try await channel.writeAndFlush(ByteBuffer(repeating: 7, count: 64))
            try await answered.futureResult.get()
            let elapsed = ContinuousClock.now - started
            times.append(Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15)
            try await channel.close()
        }
        return times
    }

    final class Echo: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.writeAndFlush(data, promise: nil)
        }
    }

    final class RoundTrip: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let answered: EventLoopPromise<Void>
        var received = 0
        init(answered: EventLoopPromise<Void>) { self.answered = answered }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += unwrapInboundIn(data).readableBytes
            if received >= 64 { answered.succeed(()) }
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { answered.fail(error) }
        func channelInactive(context: ChannelHandlerContext) { answered.fail(ChannelError.eof) }
    }

    public static func report(_ r: Result) -> String {
        let handshakeTLS = Quantiles(r.handshakes.tls), handshakeTCP = Quantiles(r.handshakes.tcp)
        let cityTLS = Quantiles(r.toCity.tls), cityTCP = Quantiles(r.toCity.tcp)
        let districtTLS = Quantiles(r.toDistrict.tls), districtTCP = Quantiles(r.toDistrict.tcp)
        func ratio(_ a: Double, _ b: Double) -> String { b > 0 ? String(format: "%.2f×", a / b) : "-" }
        return """
        == mutual TLS 1.3 on gossip links, beside plain TCP in the same run
        connection + handshake + one round trip, loopback, in process (\(handshakeTLS.count) each):
          TLS (Ed25519 certificates, keys checked against the topology): \(handshakeTLS.text)
          plain TCP:                                                      \(handshakeTCP.text)
          TLS / TCP: p50 \(ratio(handshakeTLS.p50, handshakeTCP.p50)), p99 \(ratio(handshakeTLS.p99, handshakeTCP.p99))
        a notice at a street reaching the city, 7 processes, one at a time (\(cityTLS.count) with TLS, \(cityTCP.count) without; \
        \(r.notArrived.tls + r.notArrived.tcp) not arrived):
          TLS:       \(cityTLS.text)
          plain TCP: \(cityTCP.text)
          TLS / TCP: p50 \(ratio(cityTLS.p50, cityTCP.p50)), p99 \(ratio(cityTLS.p99, cityTCP.p99))
        reaching the district: TLS p99 \(String(format: "%.1f", districtTLS.p99)) ms, plain p99 \(String(format: "%.1f", districtTCP.p99)) ms \
        (\(ratio(districtTLS.p99, districtTCP.p99)))
        """
    }
}
