@preconcurrency import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gossip
import Node
import Replication
import ShequTestSupport
import Storage
import Testing

extension MultiProcess {
    /// Misbehaving peers against a real district process: garbage, oversized and corrupt frames, strangers, a removed key,
    /// silent and dripping connections, a connection flood, a sync flood, and — with a stolen street key while the street is
    /// down — replayed, reordered, forged and clock-ahead changes. None corrupts state or stops the node; each is counted.
    @Suite(.serialized) struct HostilePeerTests {
        @Test(.timeLimit(.minutes(3)))
        func hostilePeersAreRefusedCountedAndHarmless() async throws {
            // The protocol beneath TLS: a raw peer speaks plain TCP to it (TLSLinkTests shows TLS refusing such a peer).
            let federation = try await TestFederation.start(districts: 1, streets: [1], tls: false)
            defer { federation.stop() }
            let (street, district) = (federation.street, federation.district)
            let gossip = try #require(federation.topology.nodes[district.id]?.gossip)
            try await federation.eventually("street linked to its district") { try await federation.converged(federation.committee) }

            // Bytes that are not frames, frames that are not messages, strangers: each connection is closed at once.
            let streetKey = try NodeKey.load(path: federation.directory + "/keys/\(street.id).key")
            let closed = try await offPool { () -> [String: Bool] in
                var closed: [String: Bool] = [:]
                func attempt(_ name: String, _ act: (RawPeer) -> Void) throws {
                    let peer = try RawPeer(address: gossip)
                    act(peer)
                    closed[name] = peer.closedByNode(within: 3)
                }
                var random = SplitMix64(seed: 8)
                try attempt("garbage") { $0.write((0..<512).map { _ in UInt8(truncatingIfNeeded: random.next()) }) }
                try attempt("oversized") { $0.write([0x7F, 0xFF, 0xFF, 0xFF, 0, 1, 2, 3] + Array(repeating: 0, count: 1024)) }
                try attempt("bad checksum") {
                    var frame = RawPeer.frame(GossipMessage.hello(node: street.id, nonce: Array(repeating: 1, count: 32)).payload)
                    frame[frame.count - 1] ^= 0xFF
                    $0.write(frame)
                }
                try attempt("not a message") { $0.write(RawPeer.frame(Array("{\"t\":\"surprise\"}".utf8))) }
                try attempt("truncated") { $0.write(Array(RawPeer.frame(Array(repeating: 0x41, count: 100)).prefix(40))); shutdown($0.fd, Int32(SHUT_WR)) }
                try attempt("unknown node") { $0.write(.hello(node: "street.ghost", nonce: Array(repeating: 2, count: 32))) }
                try attempt("removed key") { peer in
                    // A node that claims the street's id but holds another key: it cannot sign the district's nonce.
                    peer.write(.hello(node: street.id, nonce: Array(repeating: 3, count: 32)))
                    guard case .welcome(_, let nonce, _, _) = peer.read() else { return }
                    let stranger = Curve25519.Signing.PrivateKey()
                    peer.write(.proof(Array(try! stranger.signature(for: GossipMessage.handshakeText(nonce: nonce, signer: street.id, peer: district.id)))))
                }
                return closed
            }
            for (name, wasClosed) in closed { #expect(wasClosed, "\(name): the district kept the connection open") }
            #expect(closed.count == 7)

            // A connection flood, with one silent and one dripping peer among it: at most 32 may be in their handshake;
            // the rest are closed on accept, and the held ones are cut at the 5 s handshake deadline. The node serves on.
            let flood = try await offPool { () -> (immediate: Int, silentCut: Bool, dripCut: Bool) in
                let silent = try RawPeer(address: gossip), drip = try RawPeer(address: gossip)
                let crowd = try (0..<60).map { _ in try RawPeer(address: gossip) }
                let immediate = crowd.filter { $0.closedByNode(within: 0.05) }.count
                let hello = RawPeer.frame(GossipMessage.hello(node: street.id, nonce: Array(repeating: 4, count: 32)).payload)
                var dripCut = false
                for byte in hello.prefix(hello.count - 1) {
                    if !drip.write([byte]) { dripCut = true; break }
                    usleep(300_000)
                }
                return (immediate, silent.closedByNode(within: 3), dripCut || drip.closedByNode(within: 3))
            }
            #expect(flood.immediate >= 25, "closed on accept: \(flood.immediate)")
            #expect(flood.silentCut && flood.dripCut)
            #expect(try await federation.request(district, "GET", "/healthz", token: nil, json: nil).0 == 200)

            // A stolen street key while the street is down: a session as the street that replays its changes twice and in
            // reverse, floods syncs, and sends changes forged or stamped hours ahead. Nothing changes at the district.
            let before = try await federation.digest(district, federation.committee)
            federation.kill(street)
            let streetStore = try Store(path: "\(federation.directory)/data/\(street.id)/node.sqlite", nodeID: street.id)
            let logged = try streetStore.readNow { try $0.changes(origin: street.id, afterSeq: 0, limit: 200) }
            #expect(logged.count >= 3)
            let next = (logged.map(\.id.seq).max() ?? 0) + 1
            /// A copy of the street's first change under another id, changed by `edit`, signed with `key`.
            func variant(origin: String? = nil, seq: UInt64, key: Curve25519.Signing.PrivateKey, _ edit: (inout Change) -> Void = { _ in }) -> Change {
                var change = logged[0]
                change.id = ChangeID(origin: origin ?? street.id, seq: seq)
                edit(&change)
                change.signature = ChangeSignature.sign(change.signedBytes, with: key)
                return change
            }
            let signedAhead = variant(seq: next, key: streetKey) {
                $0.hlc = HLCTimestamp(millis: UInt64(Date().timeIntervalSince1970 * 1000) + 3 * 3_600_000, counter: 0)
            }
            let forged = variant(seq: next + 1, key: Curve25519.Signing.PrivateKey())
            let ghost = variant(origin: "street.ghost", seq: 1, key: Curve25519.Signing.PrivateKey())
            let overreach = variant(seq: next + 2, key: streetKey) { $0.scope = .district(federation.topology.nodes[district.id]!.unit!) }

            let session = try await offPool { () -> Bool in
                let peer = try RawPeer(address: gossip)
                peer.write(.hello(node: street.id, nonce: Array(repeating: 5, count: 32)))
                guard case .welcome(_, let nonce, _, _) = peer.read() else { return false }
                peer.write(.proof(Array(try streetKey.signature(for: GossipMessage.handshakeText(nonce: nonce, signer: street.id, peer: district.id)))))
                for batch in [logged, logged.reversed(), logged, [signedAhead, forged, ghost, overreach]] {
                    guard peer.write(.changes(Array(batch), claims: [:])) else { return false }
                }
                for _ in 0..<200 { guard peer.write(.sync(VersionVector())) else { return false } }
                usleep(500_000)
                peer.write(.hello(node: street.id, nonce: Array(repeating: 6, count: 32)))
                return peer.closedByNode(within: 3)
            }
            #expect(session, "a handshake message after the handshake closes the session")
            #expect(try await federation.digest(district, federation.committee) == before)
            let coverage = try await federation.call(district, "GET", "/v1/cluster/replication", token: federation.districtOfficer)
            #expect("\(coverage)".contains("street.ghost") == false)

            // The street comes back and its new writes still reach the district; the database is sound.
            try await federation.restart(street)
            let post = try await federation.call(street, "POST", "/v1/committees/\(federation.committee)/boards/announcements/posts",
                                                 token: federation.cadre, json: ["title": "停水通知", "body": "周三 9:00–12:00 停水"])
            let postID = try #require(post["id"] as? String)
            try await federation.eventually("post at the district after the attacks") {
                try await federation.status(district, "/v1/posts/\(postID)", token: federation.districtOfficer) == 200
            }
            try await federation.eventually("street and district converge") { try await federation.converged(federation.committee) }
            #expect(try federation.integrity(district) == "ok")

            // Every kind of refusal is counted.
            let metrics = try await federation.text(district, "/metrics")
            func value(_ series: String) -> Double {
                metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) } ?? 0
            }
            let refused = "shequ_gossip_links_refused_total"
            #expect(value("\(refused){reason=\"bad_frame\"}") >= 3, "garbage, oversized, bad checksum")
            #expect(value("\(refused){reason=\"bad_message\"}") >= 1)
            #expect(value("\(refused){reason=\"unknown_node\"}") >= 1)
            #expect(value("\(refused){reason=\"bad_proof\"}") >= 1)
            #expect(value("\(refused){reason=\"handshake_timeout\"}") >= 2, "silent and dripping peers")
            #expect(value("\(refused){reason=\"too_many_handshakes\"}") >= 25)
            #expect(value("\(refused){reason=\"out_of_order\"}") >= 1)
            #expect(value("shequ_gossip_syncs_ignored_total") >= 100)
            #expect(value("shequ_changes_duplicate_total") >= Double(logged.count * 3))
            for reason in ["clock_ahead", "bad_signature", "unknown_origin", "outside_authority"] {
                #expect(value("shequ_changes_rejected_total{reason=\"\(reason)\"}") >= 1, "\(reason)")
            }
            if let (passed, report) = try Promtool.check(metrics) { #expect(passed, "promtool: \(report)") }
        }
    }
}
