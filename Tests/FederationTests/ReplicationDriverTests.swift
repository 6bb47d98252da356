import Crypto
import Federation
import Gossip
import Replication
import Testing

/// The replication state machine as transcripts: a scripted sequence of events and the exact directives expected.
/// Two drivers are wired back to back where a handshake needs both sides' proofs.
@Suite struct ReplicationDriverTests {
    let street = Fixture.street, district = Fixture.district, city = Fixture.city
    let c1 = ConnectionID(1), c2 = ConnectionID(2)

    /// The dialer's and the acceptor's side of one handshake, message by message, ending with each side's sync.
    @Test func handshakeTranscriptOnBothSides() throws {
        var (s, _) = try Fixture.driver(street)
        var (d, _) = try Fixture.driver(district, nonceBase: 100)
        let start = try s.handle(.start, now: 1_000)
        #expect(Array(start.lines.prefix(2)) == ["dial \(city)", "dial \(district)"])
        #expect(start.count == 4)

        // The street dials the district; the district accepts.
        let opened = try s.handle(.opened(c1, dialed: district), now: 1_010)
        #expect(opened.lines == ["send hello on #1", "schedule handshakeDeadline(#1) at 6010"])
        #expect(try d.handle(.opened(c1, dialed: nil), now: 1_010).lines == ["schedule handshakeDeadline(#1) at 6010"])

        let welcome = try d.handle(.received(opened.sent[0].0, on: c1, bytes: 60), now: 1_020)
        #expect(welcome.lines == ["send welcome on #1"])
        #expect(d.peer(of: c1) == street)

        let proof = try s.handle(.received(welcome.sent[0].0, on: c1, bytes: 60), now: 1_030)
        #expect(proof.lines.prefix(4) == ["send proof on #1", "note linkUp(\"\(district)\")", "send sync on #1", "schedule idleCheck(#1) at 61030"])
        #expect(s.established == [district: c1])

        let done = try d.handle(.received(proof.sent[0].0, on: c1, bytes: 60), now: 1_040)
        #expect(done.lines.prefix(3) == ["note linkUp(\"\(street)\")", "send sync on #1", "schedule idleCheck(#1) at 61040"])
        #expect(d.established == [street: c1])

        // Once established, the deadline passes unnoticed.
        #expect(try d.handle(.timer(.handshakeDeadline(c1)), now: 6_010).isEmpty)
        #expect(try s.handle(.timer(.handshakeDeadline(c1)), now: 6_010).isEmpty)
    }

    /// A rolling upgrade: a node of release N+1 (wire 2, still speaking 1) links with one of release N (wire 1 only,
    /// which sends no versions) and the link speaks 1; a release that dropped 1 refuses a wire-1 peer on both sides.
    @Test func adjacentWireVersionsLinkAndDisjointOnesAreRefused() throws {
        func handshake(street streetWire: GossipMessage.WireVersions, district districtWire: GossipMessage.WireVersions) throws -> (String, String, Int?) {
            var streetSettings = ReplicationDriver.Settings(), districtSettings = ReplicationDriver.Settings()
            streetSettings.wire = streetWire
            districtSettings.wire = districtWire
            var (s, _) = try Fixture.driver(street, settings: streetSettings)
            var (d, _) = try Fixture.driver(district, settings: districtSettings, nonceBase: 100)
            let hello = try s.handle(.opened(c1, dialed: district), now: 0).sent[0].0
            _ = try d.handle(.opened(c1, dialed: nil), now: 0)
            // A wire-1 node sends a hello without versions: exactly what the decoder reads as `.first`.
            let helloOnWire = try GossipMessage(payload: hello.payload)
            let welcome = try d.handle(.received(helloOnWire, on: c1, bytes: 60), now: 1)
            guard let answer = welcome.sent.first?.0 else { return ("", welcome.lines.last ?? "", nil) }
            let proof = try s.handle(.received(try GossipMessage(payload: answer.payload), on: c1, bytes: 60), now: 2)
            if let last = proof.sent.first?.0, case .proof = last { _ = try d.handle(.received(last, on: c1, bytes: 60), now: 3) }
            return (s.established.keys.sorted().joined(), d.established.keys.sorted().joined() + (welcome.lines.last ?? ""), s.wireVersions[district])
        }
        let old = GossipMessage.WireVersions.first, next = GossipMessage.WireVersions(oldest: 1, newest: 2)
        #expect(GossipMessage.hello(node: street, nonce: [1], wire: old).payload.count
                < GossipMessage.hello(node: street, nonce: [1], wire: next).payload.count, "wire 1 sends no versions")
        let mixed = try handshake(street: old, district: next)
        #expect(mixed.0 == district && mixed.2 == 1, "N dials N+1: linked, speaking 1")
        let reverse = try handshake(street: next, district: old)
        #expect(reverse.0 == district && reverse.2 == 1, "N+1 dials N: linked, speaking 1")
        let same = try handshake(street: next, district: next)
        #expect(same.0 == district && same.2 == 2)
        let dropped = GossipMessage.WireVersions(oldest: 2, newest: 3)
        let refused = try handshake(street: old, district: dropped)
        #expect(refused.0.isEmpty && refused.1.hasSuffix("close #1 incompatible_version"), "\(refused)")
        let refusedByListener = try handshake(street: dropped, district: old)
        #expect(refusedByListener.0.isEmpty && refusedByListener.1.hasSuffix("close #1 incompatible_version"))
        // A wire-1 listener never looked at versions and welcomes anyone: the dialer that dropped 1 refuses the welcome.
        var settings = ReplicationDriver.Settings()
        settings.wire = dropped
        var (s, _) = try Fixture.driver(street, settings: settings)
        var (d, _) = try Fixture.driver(district, nonceBase: 100)
        let hello = try s.handle(.opened(c1, dialed: district), now: 0).sent[0].0
        _ = try d.handle(.opened(c1, dialed: nil), now: 0)
        guard case .welcome(let node, let nonce, let proof, _) = try d.handle(.received(hello, on: c1, bytes: 60), now: 1).sent[0].0 else {
            Issue.record("no welcome")
            return
        }
        let answer = try s.handle(.received(.welcome(node: node, nonce: nonce, proof: proof, wire: old), on: c1, bytes: 60), now: 2)
        #expect(answer.lines.last == "close #1 incompatible_version" && s.established.isEmpty)
    }

    /// SIGHUP at a district: a street retired, a street re-keyed, a street added. Links to the first two close (one as a
    /// stranger, one to prove its new key), the city's link stays up, the new street is welcomed, and the re-keyed
    /// street's old key still verifies the changes it signed before the rotation — and no later one.
    @Test func aReloadedTopologyKeepsLiveLinksAndFollowsRetirementsRotationsAndNewcomers() throws {
        let other = "street.luodian", newcomer = "street.gucun"
        var (d, _) = try Fixture.driver(district)
        try accept(&d, from: street, on: c1, now: 0)
        try accept(&d, from: other, on: c2, now: 0)
        try accept(&d, from: city, on: ConnectionID(3), now: 0)
        #expect(d.established.count == 3)

        let rotated = Curve25519.Signing.PrivateKey(), gucunKey = Curve25519.Signing.PrivateKey()
        func base64(_ key: Curve25519.Signing.PrivateKey) -> String { key.publicKey.rawRepresentation.base64EncodedString() }
        var nodes = Fixture.topology.nodes.values.filter { $0.id != other }
        let yuepu = nodes.firstIndex { $0.id == street }!
        nodes[yuepu] = nodes[yuepu].rotated(to: base64(rotated), through: 2)
        nodes.append(TopologyNode(id: newcomer, role: .street, parent: district, unit: "gucun", gossip: "127.0.0.1:9", http: "127.0.0.1:10",
                                  publicKey: base64(gucunKey), committees: ["gucun-01": "顾村一居委会"]))
        let reloaded = try Topology(nodes: nodes)
        #expect(try Topology(yaml: reloaded.yaml).nodes[street]?.retiredKeys == [.init(publicKey: Fixture.topology.nodes[street]!.publicKey, through: 2)],
                "retired keys round-trip through the file")

        let out = try d.handle(.topologyChanged(reloaded), now: 100).lines
        #expect(out.contains("close #1 bad_proof") && out.contains("close #2 unknown_node"), "\(out)")
        #expect(!out.contains { $0.hasPrefix("close #3") } && d.established == [city: ConnectionID(3)], "the city's link stays up")

        // The newcomer is welcomed and linked; the retired street is now a stranger.
        let c4 = ConnectionID(4), c5 = ConnectionID(5)
        _ = try d.handle(.opened(c4, dialed: nil), now: 200)
        let welcome = try d.handle(.received(.hello(node: newcomer, nonce: [7]), on: c4, bytes: 10), now: 200)
        guard case .welcome(_, let nonce, _, _) = try #require(welcome.sent.first?.0) else { Issue.record("no welcome"); return }
        let proof = HandshakeProof.make(nonce: nonce, signer: newcomer, peer: district, sign: { ChangeSignature.sign($0, with: gucunKey) })
        _ = try d.handle(.received(.proof(proof), on: c4, bytes: 10), now: 201)
        #expect(d.established[newcomer] == c4)
        _ = try d.handle(.opened(c5, dialed: nil), now: 200)
        #expect(try d.handle(.received(.hello(node: other, nonce: [8]), on: c5, bytes: 10), now: 200).lines.last == "close #5 unknown_node")

        // The rotated street's changes: its old key verifies 1...2 only, its new key anything.
        let admission = ChangeAdmission(topology: reloaded, localNode: district)
        func signed(_ seq: UInt64, with key: Curve25519.Signing.PrivateKey) -> Change {
            var change = Fixture.post(seq)
            change.signature = ChangeSignature.sign(change.signedBytes, with: key)
            return change
        }
        #expect(admission.check(Fixture.post(2)) == nil, "signed before the rotation")
        #expect(admission.check(Fixture.post(3)) == .badSignature, "the old key signs nothing after its last sequence number")
        #expect(admission.check(signed(3, with: rotated)) == nil)
        #expect(ChangeAdmission(topology: Fixture.topology, localNode: district).check(signed(3, with: rotated)) == .badSignature)
    }

    @Test func refusesStrangersBadProofsAndMessagesOutOfPlace() throws {
        var (d, _) = try Fixture.driver(district)
        // A hello from a node that is no peer of the district's (the other street is one; a made-up id is not).
        _ = try d.handle(.opened(c1, dialed: nil), now: 0)
        #expect(try d.handle(.received(.hello(node: "street.nowhere", nonce: [1]), on: c1, bytes: 10), now: 1).lines
                == ["note refused(#1, peer: nil, Federation.LinkRefusal.unknownNode)", "close #1 unknown_node"])
        // A sync before the handshake.
        _ = try d.handle(.opened(c2, dialed: nil), now: 0)
        #expect(try d.handle(.received(.sync(VersionVector()), on: c2, bytes: 10), now: 1).lines.last == "close #2 out_of_order")
        // A proof signed by another key than the street's.
        let c3 = ConnectionID(3)
        _ = try d.handle(.opened(c3, dialed: nil), now: 0)
        _ = try d.handle(.received(.hello(node: street, nonce: [9]), on: c3, bytes: 10), now: 1)
        let forged = ChangeSignature.sign(GossipMessage.handshakeText(nonce: [9], signer: street, peer: district), with: Fixture.keys[city]!)
        #expect(try d.handle(.received(.proof(forged), on: c3, bytes: 10), now: 2).lines.last == "close #3 bad_proof")
        #expect(d.established.isEmpty)
        // A closed connection that was refused is forgotten: its close changes nothing.
        #expect(try d.handle(.closed(c3), now: 3).isEmpty)
    }

    @Test func silentConnectionsAreClosedAtTheDeadlineAndFloodsAtTheLimit() throws {
        var settings = ReplicationDriver.Settings()
        settings.maxHandshaking = 2
        var (d, _) = try Fixture.driver(district, settings: settings)
        _ = try d.handle(.opened(c1, dialed: nil), now: 0)
        _ = try d.handle(.opened(c2, dialed: nil), now: 0)
        #expect(try d.handle(.opened(ConnectionID(3), dialed: nil), now: 0).lines.last == "close #3 too_many_handshakes")
        #expect(try d.handle(.timer(.handshakeDeadline(c1)), now: 5_000).lines.last == "close #1 handshake_timeout")
        // The slot is free again.
        #expect(try d.handle(.opened(ConnectionID(4), dialed: nil), now: 5_001).lines == ["schedule handshakeDeadline(#4) at 10001"])
    }

    /// Redial after a failure waits 100–200 ms, then doubling to the 2 s cap (each jittered down to half); a link that
    /// came up and went down starts again from the first wait.
    @Test func redialBacksOffAndResetsAfterALink() throws {
        var (s, _) = try Fixture.driver(street)
        _ = try s.handle(.start, now: 0)
        var now: Int64 = 0
        for full in [200, 400, 800, 1_600, 2_000, 2_000] as [Int64] {
            let out = try s.handle(.dialFailed(district), now: now)
            guard case .schedule(.redial(let peer), let at) = try #require(out.first), peer == district else {
                Issue.record("expected a redial, got \(out.lines)"); return
            }
            #expect(at - now >= full / 2 && at - now <= full, "wait \(at - now) for \(full)")
            now = at
            #expect(try s.handle(.timer(.redial(district)), now: now).lines == ["dial \(district)"])
        }
        // A dial already under way is not doubled.
        #expect(try s.handle(.timer(.redial(district)), now: now).isEmpty)
        try connect(&s, to: district, on: c1, now: now)
        let down = try s.handle(.closed(c1), now: now + 10)
        #expect(down.lines.contains("note linkDown(\"\(district)\")"))
        guard case .schedule(.redial, let at) = try #require(down.last) else { Issue.record("\(down.lines)"); return }
        #expect(at - (now + 10) <= 200)
    }

    /// A change stamped more than the allowed drift ahead of a peer's clock (as its sync told it) is neither pushed nor
    /// sent in answer to a sync, and the answer's claim stops before it, so the peer asks again; once the peer's clock
    /// has moved on, it goes. (Before, it was sent every round and refused every round: 79,484 times in the Shanghai
    /// simulation.)
    @Test func changesAPeersClockWouldRefuseAreHeldBackNotResent() throws {
        var (s, store) = try Fixture.driver(street)
        store.state.withLock { $0.now = 1_000_000 }
        for seq: UInt64 in 1...2 { store.append(Fixture.post(seq, at: 1_000_000)) }
        let ahead = Fixture.post(3, at: 1_000_000 + 3 * 60_000)  // written under a clock three minutes fast
        store.append(ahead)
        try connect(&s, to: district, on: c1, now: 10)
        // The district's sync: it holds nothing, and its clock reads the true time.
        let answer = try s.handle(.received(.sync(VersionVector(), clock: 1_000_000), on: c1, bytes: 10), now: 20).sent.map(\.0)
        guard case .changes(let sent, let claims)? = answer.last else { Issue.record("no answer: \(answer)"); return }
        #expect(sent.map(\.id.seq) == [1, 2] && claims[street]?.through == 2, "held back, and not claimed: \(claims)")
        #expect(s.engine.peers[district]?.heldBack == 1)
        // A new local write stamped as far ahead is not pushed either.
        let later = Fixture.post(4, at: 1_000_000 + 3 * 60_000)
        store.append(later)
        #expect(try s.handle(.committed([later]), now: 30).sent.isEmpty)
        // Three minutes on, the district's clock can take them: the next sync gets them.
        store.state.withLock { $0.now = 1_000_000 + 3 * 60_000 }
        let caughtUp = try s.handle(.received(.sync(VersionVector(), clock: 1_000_000 + 3 * 60_000), on: c1, bytes: 10), now: 200_000).sent.map(\.0)
        guard case .changes(let all, let claimed)? = caughtUp.last else { Issue.record("no answer"); return }
        #expect(all.map(\.id.seq) == [1, 2, 3, 4] && claimed[street]?.through == 4)
        // A peer whose sync carries no clock (an older release) gets everything, as before.
        let old = try s.handle(.received(.sync(VersionVector()), on: c1, bytes: 10), now: 400_000).sent.map(\.0)
        guard case .changes(let everything, _)? = old.last else { Issue.record("no answer"); return }
        #expect(everything.count == 4)
        #expect(try GossipMessage(payload: GossipMessage.sync(VersionVector(), clock: 42).payload) == .sync(VersionVector(), clock: 42))
    }

    /// Anti-entropy on a link whose syncs find nothing backs off, doubling to the cap; an answer that brings something
    /// (or a gap, a refusal, a new session) brings the next sync back to the next round.
    @Test func quietLinksSyncLessAndAFindingResetsThem() throws {
        var (s, _) = try Fixture.driver(street)
        try connect(&s, to: district, on: c1, now: 0)
        func syncsSent(from start: Int64, to end: Int64) throws -> [Int64] {
            var times: [Int64] = []
            for now in stride(from: start, to: end, by: 1_000) {
                if try s.handle(.timer(.antiEntropy), now: now).lines.contains("send sync on #1") { times.append(now) }
            }
            return times
        }
        let quiet = try syncsSent(from: 1_000, to: 120_000)
        let gaps = zip(quiet.dropFirst(), quiet).map { $0 - $1 }
        #expect(gaps.prefix(5) == [2_000, 4_000, 8_000, 16_000, 30_000], "doubling from the round: \(gaps)")
        #expect(gaps.dropFirst(4).allSatisfy { $0 == 30_000 }, "capped at 30 s: \(gaps)")
        // The district answers a sync with a change this street lacked (its own post, lost with a disk, say).
        // It leaves a gap (1-8 missing), which the street asks for at once; a second arrival behind the same gap does not
        // ask again.
        let post = Fixture.change(9, kind: "post", scope: .committee(Fixture.committee))
        let answer = try s.handle(.received(.changes([post], claims: [street: .init(from: 9, through: 9)]), on: c1, bytes: 100), now: 120_500)
        #expect(answer.lines.contains("send sync on #1"), "a new gap is asked for at once: \(answer.lines)")
        let next = Fixture.change(11, kind: "post", scope: .committee(Fixture.committee))
        #expect(try !s.handle(.received(.changes([next], claims: [:]), on: c1, bytes: 100), now: 120_600).lines.contains("send sync on #1"))
        let after = try syncsSent(from: 121_000, to: 125_000)
        #expect(after.first == 121_000, "the next round syncs again: \(after)")
    }

    /// The city does not quiet its syncs to a district: what a street cut from the city only writes reaches the city
    /// through its district's answers, one round after it was written at most (the street's own link still backs off).
    @Test func theCitySyncsItsDistrictsEveryRound() throws {
        var (c, _) = try Fixture.driver(city)
        try accept(&c, from: district, on: c1, now: 0)
        var times: [Int64] = []
        for now in stride(from: Int64(1_000), to: 60_000, by: 1_000) where try c.handle(.timer(.antiEntropy), now: now).lines.contains("send sync on #1") {
            times.append(now)
        }
        #expect(times.count >= 50, "a sync at every round: \(times)")
    }

    /// A district relays its street's changes to the city only on a session that has lasted `relayGrace`, and only while
    /// the city's coverage of the street does not move between its syncs: a street whose own link healed with the
    /// district's brings its changes itself, and the city does not take them twice (bench recovery: 1.40–1.50× the
    /// bytes lacking before, 1.00–1.01× after).
    @Test func aDistrictRelaysOnlyWhatTheStreetsOwnLinkIsNotBringing() throws {
        var (d, store) = try Fixture.driver(district)
        store.state.withLock { $0.now = 100_000 }
        try accept(&d, from: street, on: c2, now: 0)
        _ = try d.handle(.received(.changes((1...3).map { Fixture.post($0) }, claims: [:]), on: c2, bytes: 100), now: 0)
        #expect(store.state.withLock { $0.log.count } == 3)
        try accept(&d, from: city, on: c1, now: 0)
        func relayed(_ theirs: VersionVector, at now: Int64) throws -> [String] {
            store.state.withLock { $0.now = 100_000 + now }
            return try d.handle(.received(.sync(theirs), on: c1, bytes: 10), now: now).lines.filter { $0.hasPrefix("send changes(") }
        }
        #expect(try relayed(VersionVector(), at: 1_000).isEmpty, "a new session's first sync")
        #expect(try relayed(VersionVector(), at: 2_000).isEmpty, "a session younger than relayGrace: the street's own link first")
        let second = try relayed(VersionVector(), at: 6_000)
        #expect(second == ["send changes(3) on #1"], "\(second) the city's coverage of the street did not move")
        var moving = VersionVector()
        moving.insert(ChangeID(origin: street, seq: 1))
        #expect(try relayed(moving, at: 7_000).isEmpty, "the street's own link is bringing them")
        #expect(try relayed(moving, at: 8_000) == ["send changes(2) on #1"], "and then stopped")
    }

    @Test func pushesACommittedChangeToEachConnectedHolderOnly() throws {
        var (s, store) = try Fixture.driver(street)
        _ = try s.handle(.start, now: 0)
        try connect(&s, to: district, on: c1, now: 10)
        let change = Fixture.post(1)
        store.append(change)
        // The city's link is down: only the district gets it now (the city by anti-entropy once its link is up).
        let out = try s.handle(.committed([change]), now: 20)
        #expect(out.lines == ["send changes(1) on #1"])
        try connect(&s, to: city, on: c2, now: 30)
        let sync = try s.handle(.timer(.antiEntropy), now: 1_030)
        #expect(Set(sync.lines.filter { $0.hasPrefix("send") }) == ["send sync on #1", "send sync on #2"])
    }

    /// With tail probes on, a push followed by nothing more to that peer is sent again (its last change) once the pushes
    /// pause; every push moves the probe on; a link that went down drops it; with probes off nothing is added.
    @Test func aPausedLinksLastPushIsSentAgainWithTailProbesOn() throws {
        var settings = ReplicationDriver.Settings()
        settings.tailProbe = 25
        var (s, store) = try Fixture.driver(street, settings: settings)
        _ = try s.handle(.start, now: 0)
        try connect(&s, to: district, on: c1, now: 10)
        let (first, second) = (Fixture.post(1), Fixture.post(2))
        store.append(first)
        #expect(try s.handle(.committed([first]), now: 20).lines == ["send changes(1) on #1", "schedule tailProbe(\"\(district)\") at 45"])
        store.append(second)
        #expect(try s.handle(.committed([second]), now: 30).lines == ["send changes(1) on #1", "schedule tailProbe(\"\(district)\") at 55"])
        let probe = try s.handle(.timer(.tailProbe(district)), now: 55)
        #expect(probe.lines == ["send changes(1) on #1"])
        guard case .changes(let changes, let claims) = probe.sent.first?.0 else { Issue.record("no changes sent"); return }
        #expect(changes.map(\.id) == [second.id] && claims.isEmpty, "the last push, as a push")
        #expect(try s.handle(.timer(.tailProbe(district)), now: 80).isEmpty, "one probe per pause")

        // A probe due after the link went down sends nothing.
        let third = Fixture.post(3)
        store.append(third)
        _ = try s.handle(.committed([third]), now: 100)
        _ = try s.handle(.closed(c1), now: 110)
        #expect(try s.handle(.timer(.tailProbe(district)), now: 125).lines.allSatisfy { !$0.hasPrefix("send") })

        // Off (the default): a push schedules nothing.
        var (plain, plainStore) = try Fixture.driver(street)
        _ = try plain.handle(.start, now: 0)
        try connect(&plain, to: district, on: c1, now: 10)
        plainStore.append(first)
        #expect(try plain.handle(.committed([first]), now: 20).lines == ["send changes(1) on #1"])
    }

    /// A peer's syncs closer together than 250 ms are not answered; the next one after that is.
    @Test func throttlesAPeersSyncs() throws {
        var (d, _) = try Fixture.driver(district)
        try accept(&d, from: street, on: c1, now: 0)
        #expect(try d.handle(.received(.sync(VersionVector()), on: c1, bytes: 10), now: 100).lines.allSatisfy { !$0.contains("syncIgnored") })
        #expect(try d.handle(.received(.sync(VersionVector()), on: c1, bytes: 10), now: 300).lines == ["note syncIgnored(from: \"\(street)\")"])
        #expect(try d.handle(.received(.sync(VersionVector()), on: c1, bytes: 10), now: 350).lines.allSatisfy { !$0.contains("syncIgnored") })
    }

    /// A link heard from within the idle timeout is checked again later; a silent one is closed.
    @Test func closesSilentLinks() throws {
        var (d, _) = try Fixture.driver(district)
        try accept(&d, from: street, on: c1, now: 0)
        _ = try d.handle(.received(.sync(VersionVector()), on: c1, bytes: 10), now: 20_000)
        #expect(try d.handle(.timer(.idleCheck(c1)), now: 60_000).lines == ["schedule idleCheck(#1) at 80000"])
        let closed = try d.handle(.timer(.idleCheck(c1)), now: 80_000)
        #expect(closed.lines.contains("note linkDown(\"\(street)\")") && closed.lines.last == "close #1 idle")
    }

    /// A second connection from the same peer replaces the first, which is closed.
    @Test func aNewSessionReplacesTheOld() throws {
        var (d, _) = try Fixture.driver(district)
        try accept(&d, from: street, on: c1, now: 0)
        let out = try accept(&d, from: street, on: c2, now: 100)
        #expect(out.lines.contains("close #1"))
        #expect(d.established == [street: c2])
        // The old connection's close, when the shell reports it, takes nothing down.
        #expect(try d.handle(.closed(c1), now: 200).isEmpty)
    }

    /// A restored street takes writes again only once every peer it dials has shown, in a sync, that it holds nothing
    /// of the street's own beyond its log.
    @Test func recoveryEndsWhenEveryDialedPeerHoldsNothingBeyondTheLog() throws {
        var (s, store) = try Fixture.driver(street)
        store.state.withLock { $0.recovering = true }
        store.append(Fixture.post(1))
        _ = try s.handle(.start, now: 0)
        try connect(&s, to: district, on: c1, now: 10)
        try connect(&s, to: city, on: c2, now: 10)
        var ahead = VersionVector()
        for seq in 1...3 { ahead.insert(ChangeID(origin: street, seq: UInt64(seq))) }
        var same = VersionVector()
        same.insert(ChangeID(origin: street, seq: 1))
        // The district holds #2 and #3, which the street lost: not clear.
        #expect(try s.handle(.received(.sync(ahead), on: c1, bytes: 10), now: 20).lines.contains(
            "note recovering(peer: \"\(district)\", clear: false, own: 1, theirs: 3)"))
        #expect(try s.handle(.received(.sync(same), on: c2, bytes: 10), now: 20).lines.contains(
            "note recovering(peer: \"\(city)\", clear: true, own: 1, theirs: 1)"))
        #expect(store.isRecovering)
        // #2 and #3 come back from the district; its next sync shows nothing beyond.
        store.append(Fixture.post(2))
        store.append(Fixture.post(3))
        let out = try s.handle(.received(.sync(ahead), on: c1, bytes: 10), now: 1_000)
        #expect(out.lines.contains("note recovered(own: 3)"))
        #expect(!store.isRecovering && store.state.withLock { $0.recoveryFinished } == 1)
    }

    /// Changes received from a peer are applied with their coverage, and a duplicate is not applied twice.
    @Test func appliesReceivedChangesOnce() throws {
        var (d, store) = try Fixture.driver(district)
        store.state.withLock { $0.now = 2_000 }
        try accept(&d, from: street, on: c1, now: 0)
        let batch = GossipMessage.changes([Fixture.post(1), Fixture.post(2)], claims: [:])
        #expect(try d.handle(.received(batch, on: c1, bytes: 100), now: 10).lines.first?.hasPrefix("note applied(Replication.RemoteApplyResult(applied: 2") == true)
        #expect(try d.handle(.received(batch, on: c1, bytes: 100), now: 20).lines.first?.hasPrefix("note applied(Replication.RemoteApplyResult(applied: 0, duplicates: 2") == true)
        #expect(d.engine.coverage[street].contiguous == 2)
    }

    /// Pushes that waited on several connections are applied in one store transaction, each as `received` would; one
    /// the store cannot take closes its own connection only, and nothing more of that connection is handled; a message
    /// other than `changes` is handled after, in order.
    @Test func changesThatWaitedOnSeveralConnectionsAreAppliedTogether() throws {
        var (d, store) = try Fixture.driver(district)
        store.state.withLock { $0.now = 2_000; $0.failing = Fixture.post(5).id }
        try accept(&d, from: street, on: c1, now: 0)
        try accept(&d, from: "street.luodian", on: c2, now: 0)
        let out = try d.handle(.receivedTogether([
            WaitingMessages([(.changes([Fixture.post(1), Fixture.post(2)], claims: [:]), 100), (.sync(VersionVector(), clock: 2_000), 10),
                             (.changes([Fixture.post(3)], claims: [:]), 50)], on: c1),
            WaitingMessages([(.changes([Fixture.post(5)], claims: [:]), 50), (.sync(VersionVector(), clock: 2_000), 10)], on: c2),
        ]), now: 10)
        #expect(store.state.withLock { $0.together } == 1)
        #expect(d.engine.coverage[street].contiguous == 3)
        let lines = out.lines
        #expect(lines.filter { $0.hasPrefix("note applied(Replication.RemoteApplyResult(applied: ") }.count == 2, "\(lines)")
        #expect(lines.contains("close #2") && !lines.contains("close #1"), "\(lines)")
        // The sync is answered after the transaction: with what the batch brought already covered.
        let failed = lines.firstIndex { $0.hasPrefix("note applyFailed(#2") }
        let sync = lines.firstIndex { $0.hasPrefix("send sync") || $0.hasPrefix("send changes") }
        #expect(failed != nil && sync != nil && failed! < sync!, "\(lines)")
        // Nothing more of the connection whose push failed is handled: its sync is not answered.
        #expect(!out.sent.contains { $0.1 == c2 }, "\(lines)")
    }

    /// A resident's comment on a district-wide post, received from its street, goes on at once to the district's other
    /// streets (streets link to no street); the street's committee business does not.
    @Test func aDistrictPassesAStreetsThreadOnToItsOtherStreets() throws {
        var (d, store) = try Fixture.driver(district)
        store.state.withLock { $0.now = 2_000 }
        try accept(&d, from: street, on: c1, now: 0)
        try accept(&d, from: "street.luodian", on: c2, now: 0)
        let comment = Fixture.change(1, kind: "comment", scope: .district("baoshan"))
        let out = try d.handle(.received(.changes([comment, Fixture.post(2)], claims: [:]), on: c1, bytes: 100), now: 10)
        #expect(out.sent.count == 1 && out.lines.last == "send changes(1) on #2")
        if case .changes(let forwarded, _) = out.sent.first?.0 { #expect(forwarded.map(\.id) == [comment.id]) }
        // A post in the district's own scope would be refused from a street: not passed on either.
        let post = Fixture.change(3, kind: "post", scope: .district("baoshan"))
        #expect(try d.handle(.received(.changes([post], claims: [:]), on: c1, bytes: 100), now: 20).sent.isEmpty)
    }

    /// The failure detector ticks on its 100 ms grid, at the first point at or past SWIM's next deadline.
    @Test func failureDetectorTicksOnItsGrid() throws {
        var (s, _) = try Fixture.driver(street)
        let start = try s.handle(.start, now: 1_000)
        guard case .schedule(.failureDetector, let first) = try #require(start.last) else { Issue.record("\(start.lines)"); return }
        #expect(first > 1_000 && first <= 1_100)
        let tick = try s.handle(.timer(.failureDetector), now: first)
        guard case .schedule(.failureDetector, let next) = try #require(tick.last) else { Issue.record("\(tick.lines)"); return }
        #expect((next - first) % 100 == 0 && next > first)
    }

    // MARK: - Helpers

    /// Runs a whole handshake between `driver` (dialing `peer`) and a fresh driver of `peer`.
    func connect(_ driver: inout ReplicationDriver, to peer: NodeID, on connection: ConnectionID, now: Int64) throws {
        var (other, _) = try Fixture.driver(peer, nonceBase: 200)
        let hello = try driver.handle(.opened(connection, dialed: peer), now: now).sent[0].0
        _ = try other.handle(.opened(connection, dialed: nil), now: now)
        let welcome = try other.handle(.received(hello, on: connection, bytes: 1), now: now).sent[0].0
        _ = try driver.handle(.received(welcome, on: connection, bytes: 1), now: now)
        #expect(driver.established[peer] == connection)
    }

    /// Runs a whole handshake in which `driver` accepts a connection dialed by a fresh driver of `peer`.
    @discardableResult
    func accept(_ driver: inout ReplicationDriver, from peer: NodeID, on connection: ConnectionID, now: Int64) throws -> [ReplicationDriver.Directive] {
        var (other, _) = try Fixture.driver(peer, nonceBase: 200)
        _ = try driver.handle(.opened(connection, dialed: nil), now: now)
        let hello = try other.handle(.opened(connection, dialed: driver.local), now: now).sent[0].0
        let welcome = try driver.handle(.received(hello, on: connection, bytes: 1), now: now).sent[0].0
        let proof = try other.handle(.received(welcome, on: connection, bytes: 1), now: now).sent[0].0
        let out = try driver.handle(.received(proof, on: connection, bytes: 1), now: now)
        #expect(driver.established[peer] == connection)
        return out
    }
}
