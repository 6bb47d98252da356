@preconcurrency import Crypto
import Foundation
import Gossip
@testable import GossipNIO
import Node
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import ShequTestSupport
import Testing

extension MultiProcess {
    /// Gossip links under mutual TLS 1.3 bound to the topology's node keys, between real processes: a wire tap between a
    /// street and its district sees no plaintext of a post written meanwhile (and, with TLS off, it does: the check can
    /// fail); a plain-TCP client and a TLS client whose key is not in the topology are refused before any gossip.
    @Suite(.serialized) struct TLSLinkTests {
        /// Starts a one-street federation, puts a capturing relay between the street and its district (the street's own
        /// copy of the topology points at the relay), writes a post and returns what the relay carried, and the federation.
        func tappedPost(tls: Bool, title: String) async throws -> (capture: [UInt8], federation: TestFederation) {
            let federation = try await TestFederation.start(districts: 1, streets: [1], tls: tls)
            let (street, district) = (federation.street, federation.district)
            let gossip = try #require(federation.topology.nodes[district.id]?.gossip)
            let relay = try CapturingRelay(upstream: UInt16(gossip.split(separator: ":")[1])!)
            defer { relay.stop() }
            // The street's view: the same nodes and keys, the district's gossip address at the relay.
            let view = try Topology(nodes: federation.topology.nodes.values.map { node in
                var node = node
                if node.id == district.id { node.gossip = "127.0.0.1:\(relay.port)" }
                return node
            })
            let viewPath = federation.directory + "/street-view.yaml"
            try view.yaml.write(toFile: viewPath, atomically: true, encoding: .utf8)
            let configPath = "\(federation.directory)/data/\(street.id)/node.yaml"
            var configuration = try await NodeConfiguration.load(path: configPath)
            configuration.topologyPath = viewPath
            try configuration.yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
            federation.kill(street)
            try await federation.restart(street)

            let reply = try await federation.call(street, "POST", "/v1/committees/\(federation.committee)/boards/announcements/posts",
                                                  token: federation.cadre, json: ["title": title, "body": title + " 正文"])
            let id = try #require(reply["id"] as? String)
            try await federation.eventually("the post at the district, through the relay") {
                try await federation.status(district, "/v1/posts/\(id)", token: federation.districtOfficer) == 200
            }
            #expect(relay.captured.count > 1_000, "the link went through the relay: \(relay.captured.count) bytes")
            return (relay.captured, federation)
        }

        static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
            Data(haystack).range(of: Data(needle.utf8)) != nil
        }

        @Test(.timeLimit(.minutes(3)))
        func aTappedLinkCarriesNoPlaintextAndStrangersAreRefused() async throws {
            // With TLS off the tap reads the gossip handshake (and whatever is not compressed away): the check can fail.
            let plain = try await tappedPost(tls: false, title: "明文对照标题")
            plain.federation.stop()
            #expect(Self.contains(plain.capture, "\"hello\"") && Self.contains(plain.capture, plain.federation.street.id))

            let secret = "加密链路秘密标题-\(UUID().uuidString.prefix(8))"
            let (capture, federation) = try await tappedPost(tls: true, title: secret)
            defer { federation.stop() }
            for needle in [secret, federation.street.id, "\"hello\"", "\"changes\"", "announcements"] {
                #expect(!Self.contains(capture, needle), "\(needle) crossed the link in clear")
            }

            // A plain-TCP peer with a valid-looking hello, and TLS clients with a key the topology does not list (or
            // listed for another node): closed, nothing of the gossip protocol answered.
            let district = federation.district
            let gossip = try #require(federation.topology.nodes[district.id]?.gossip)
            let plainRefused = try await offPool { () -> (closed: Bool, answered: Bool) in
                let peer = try RawPeer(address: gossip)
                peer.write(.hello(node: federation.street.id, nonce: Array(repeating: 1, count: 32)))
                let answer = peer.read(seconds: 2)
                return (peer.closedByNode(within: 3), answer != nil)
            }
            #expect(plainRefused.closed && !plainRefused.answered, "a plain-TCP hello is refused: \(plainRefused)")

            let group = MultiThreadedEventLoopGroup.singleton
            func tlsHandshake(key: Curve25519.Signing.PrivateKey, as node: String) async -> Bool {
                // The handshake's outcome: the server's verdict arrives as an error or as the channel closing.
                let done = group.next().makePromise(of: Void.self)
                do {
                    let tls = try LinkTLS(key: key, local: node, topology: federation.topology)
                    let handler = try tls.clientHandler(dialing: district.id)
                    let parts = gossip.split(separator: ":")
                    let channel = try await ClientBootstrap(group: group).connectTimeout(.seconds(2))
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(handler)
                                try channel.pipeline.syncOperations.addHandler(HandshakeOutcome(done: done))
                            }
                        }
                        .connect(host: String(parts[0]), port: Int(parts[1])!).get()
                    defer { channel.close(promise: nil) }
                    try await done.futureResult.get()
                    return true
                } catch {
                    done.fail(error)  // settled either way (a second settling is ignored)
                    return false
                }
            }
            let streetKey = try NodeKey.load(path: "\(federation.directory)/keys/\(federation.street.id).key")
            #expect(await tlsHandshake(key: streetKey, as: federation.street.id), "the street's own key completes a TLS handshake")
            #expect(await tlsHandshake(key: Curve25519.Signing.PrivateKey(), as: federation.street.id) == false, "a key not in the topology")
            let cityKey = try NodeKey.load(path: "\(federation.directory)/keys/city.key")
            #expect(await tlsHandshake(key: cityKey, as: "city"), "another peer's key is a peer's key")
            let metrics = try await federation.text(district, "/metrics")
            #expect(metrics.contains("shequ_gossip_links_refused_total{reason=\"tls_handshake\"}"), "refusals are counted")
        }
    }

    /// Completes `done` when the server has accepted the TLS handshake, fails it when the connection errs or closes. In
    /// TLS 1.3 the client finishes first and the server judges the client's certificate after: an accepted connection is
    /// one still open a second after the client's side finished (the gossip listener then waits for a hello).
    final class HandshakeOutcome: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let done: EventLoopPromise<Void>
        init(done: EventLoopPromise<Void>) { self.done = done }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case TLSUserEvent.handshakeCompleted = event {
                let done = self.done
                context.eventLoop.scheduleTask(in: .seconds(1)) { done.succeed(()) }
            }
            context.fireUserInboundEventTriggered(event)
        }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { done.fail(error) }
        func channelInactive(context: ChannelHandlerContext) { done.fail(ChannelError.eof) }
    }
}
