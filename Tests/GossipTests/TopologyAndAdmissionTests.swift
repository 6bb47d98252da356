@preconcurrency import Crypto
import Foundation
import Gossip
import Replication
import Testing

@Suite struct TopologyAndAdmissionTests {
    static let keys: [String: Curve25519.Signing.PrivateKey] = Dictionary(uniqueKeysWithValues:
        ["city", "district.a", "district.b", "street.a1", "street.a2", "street.b1"].map { ($0, Curve25519.Signing.PrivateKey()) })

    static let topology: Topology = {
        func node(_ id: String, _ role: TopologyNode.Role, _ parent: String?, _ unit: String?, _ committees: [String: String] = [:]) -> TopologyNode {
            TopologyNode(id: id, role: role, parent: parent, unit: unit, gossip: "127.0.0.1:1", http: "127.0.0.1:2",
                         publicKey: keys[id]!.publicKey.rawRepresentation.base64EncodedString(), committees: committees)
        }
        return try! Topology(nodes: [
            node("city", .city, nil, nil), node("district.a", .district, "city", "a"), node("district.b", .district, "city", "b"),
            node("street.a1", .street, "district.a", "a1", ["c-a1": "甲一"]), node("street.a2", .street, "district.a", "a2", ["c-a2": "甲二"]),
            node("street.b1", .street, "district.b", "b1", ["c-b1": "乙一"]),
        ])
    }()

    static func change(_ origin: String, _ seq: UInt64, _ scope: Scope, signer: String? = nil) -> Change {
        var change = Change(id: ChangeID(origin: origin, seq: seq), hlc: HLCTimestamp(millis: 1_000, counter: 0),
                            draft: ChangeDraft(scope: scope, kind: "post", entity: "p\(seq)", op: .assign, fields: ["title": "t"], author: "m"))
        change.signature = ChangeSignature.sign(change.signedBytes, with: keys[signer ?? origin]!)
        return change
    }

    /// Anti-entropy skips origins that can write nothing the peer holds: checked against every scope by brute force.
    @Test func mayShareIsExactlyWhetherAnOriginCanWriteAScopeTheHolderHolds() {
        let t = Self.topology
        let scopes: [Scope] = [.city, .district("a"), .district("b"), .street("a1"), .street("a2"), .street("b1"),
                               .committee("c-a1"), .committee("c-a2"), .committee("c-b1")]
        for origin in t.nodes.keys {
            for holder in t.nodes.keys {
                let brute = origin == holder || scopes.contains { t.mayWrite(origin, $0) && t.holds(holder, $0) }
                #expect(t.mayShare(origin: origin, with: holder) == brute, "\(origin) → \(holder)")
            }
        }
        // The city leaves other streets' logs alone; a sibling street's replies on district-wide posts are its district's
        // to pass on, read by scope.
        var mine = VersionVector(), theirs = VersionVector()
        for origin in ["street.a2", "street.b1", "district.a", "city"] { _ = mine.insert(ChangeID(origin: origin, seq: 1)) }
        _ = theirs.insert(ChangeID(origin: "street.a1", seq: 1))
        let ranges = SyncPlanner(topology: t, local: "city").ranges(mine: mine, theirs: theirs, peer: "street.a1")
        #expect(Set(ranges.map(\.origin)) == ["district.a", "city"])
        let district = SyncPlanner(topology: t, local: "district.a")
        #expect(district.ranges(mine: mine, theirs: theirs, peer: "street.a1").map(\.origin).contains("street.a2"))
        #expect(district.sharedScopes(origin: "street.a2", peer: "street.a1") == [.district("a")])
        #expect(district.sharedScopes(origin: "street.a1", peer: "city") == nil)
    }

    /// A `sync` carries only the origins the peer ranges over: for every pair of linked nodes and every coverage, the
    /// peer plans the same ranges from the trimmed vector as from the whole one.
    @Test func aSyncCarriesEveryOriginThePeerRangesOverAndNoOther() {
        let t = Self.topology
        var rng = SplitMix64(seed: 11)
        for receiver in t.nodes.keys.sorted() {
            for sender in t.peers(of: receiver) {
                for _ in 0..<20 {
                    var theirs = VersionVector(), mine = VersionVector()
                    for origin in t.nodes.keys {
                        for seq in 1...UInt64(1 + rng.next() % 6) where rng.next() % 3 != 0 { _ = theirs.insert(ChangeID(origin: origin, seq: seq)) }
                        for seq in 1...UInt64(1 + rng.next() % 6) { _ = mine.insert(ChangeID(origin: origin, seq: seq)) }
                    }
                    let trimmed = SyncPlanner(topology: t, local: receiver).syncVector(theirs, for: sender)
                    let planner = SyncPlanner(topology: t, local: sender)
                    #expect(planner.ranges(mine: mine, theirs: trimmed, peer: receiver) == planner.ranges(mine: mine, theirs: theirs, peer: receiver),
                            "\(receiver) → \(sender)")
                }
            }
        }
        // The city tells a street only about the street's own origin.
        var all = VersionVector()
        for origin in t.nodes.keys { _ = all.insert(ChangeID(origin: origin, seq: 1)) }
        #expect(Array(SyncPlanner(topology: t, local: "city").syncVector(all, for: "street.a1").origins.keys) == ["street.a1"])
    }

    @Test func holdingFollowsTheHierarchy() {
        let t = Self.topology
        #expect(t.holds("street.a1", .committee("c-a1")) && !t.holds("street.a1", .committee("c-a2")))
        #expect(t.holds("district.a", .committee("c-a2")) && !t.holds("district.a", .committee("c-b1")))
        #expect(t.holds("city", .committee("c-b1")))
        #expect(t.holds("street.a2", .district("a")) && !t.holds("street.b1", .district("a")))
        #expect(t.holds("street.b1", .city))
        #expect(t.peers(of: "street.a1") == ["district.a", "city"])
        #expect(t.dialed(by: "district.b") == ["city"])
        #expect(t.isAncestor("district.a", of: "street.a2") && !t.isAncestor("district.b", of: "street.a2") && t.isAncestor("city", of: "street.b1"))
    }

    @Test func authorityIsStreetForItsCommitteesDistrictForItsStreetsCityForAll() {
        let t = Self.topology
        #expect(t.mayWrite("street.a1", .committee("c-a1")))
        #expect(!t.mayWrite("street.a1", .committee("c-a2")))
        // A street writes into its district only the thread of a district-wide post: comments and likes.
        #expect(t.mayWrite("street.a1", .district("a"), kind: "comment", entity: "pc_1") && t.mayWrite("street.a1", .district("a"), kind: "like", entity: "l:p_1:m_1"))
        #expect(!t.mayWrite("street.a1", .district("a"), kind: "post", entity: "p_1") && !t.mayWrite("street.a1", .district("b"), kind: "comment", entity: "pc_1"))
        #expect(!t.mayWrite("street.a1", .city, kind: "comment", entity: "pc_1"))
        // A "comment" that names the post itself would write over its fields: refused.
        #expect(!t.mayWrite("street.a1", .district("a"), kind: "comment", entity: "p_1"))
        #expect(t.mayWrite("district.a", .committee("c-a2")) && t.mayWrite("district.a", .district("a")))
        #expect(!t.mayWrite("district.a", .committee("c-b1")) && !t.mayWrite("district.a", .city))
        #expect(t.mayWrite("city", .committee("c-b1")) && t.mayWrite("city", .city))
    }

    @Test func everyNodeRejectsForgedChanges() {
        let forgedKey = Self.change("street.a1", 1, .committee("c-a1"), signer: "street.a2")
        let otherStreet = Self.change("street.a2", 1, .committee("c-a1"))
        let unknown = Change(id: ChangeID(origin: "street.zz", seq: 1), hlc: .zero,
                             draft: ChangeDraft(scope: .committee("c-a1"), kind: "post", entity: "x", op: .assign, fields: [:], author: "m"))
        var tampered = Self.change("street.a1", 2, .committee("c-a1"))
        tampered.fields["title"] = "改过"
        for node in ["street.a1", "district.a", "city"] {
            let admission = ChangeAdmission(topology: Self.topology, localNode: node)
            #expect(admission.check(forgedKey) == .badSignature, "\(node)")
            #expect(admission.check(tampered) == .badSignature, "\(node)")
            #expect(admission.check(unknown) == .unknownOrigin, "\(node)")
            #expect(admission.check(Self.change("street.a1", 3, .committee("c-a1"))) == nil, "\(node)")
        }
        #expect(ChangeAdmission(topology: Self.topology, localNode: "city").check(otherStreet) == .outsideAuthority)
        #expect(ChangeAdmission(topology: Self.topology, localNode: "district.b").check(Self.change("street.a1", 4, .committee("c-a1"))) == .notHeldHere)
    }

    @Test func claimsComeOnlyFromTheOriginOrAnAncestor() {
        let street = SyncPlanner(topology: Self.topology, local: "street.a1")
        #expect(street.acceptsClaim(origin: "city", from: "district.a"))
        #expect(street.acceptsClaim(origin: "street.a2", from: "city"))
        let district = SyncPlanner(topology: Self.topology, local: "district.a")
        #expect(district.acceptsClaim(origin: "street.a1", from: "street.a1"))
        #expect(!district.acceptsClaim(origin: "city", from: "street.a1"))
        var mine = VersionVector()
        for seq in 1...9 { mine.insert(ChangeID(origin: "street.a1", seq: UInt64(seq))); mine.insert(ChangeID(origin: "city", seq: UInt64(seq))) }
        var theirs = VersionVector()
        theirs.insert(ChangeID(origin: "street.a1", seq: 1))
        // Upward, a street claims only its own changes.
        #expect(street.ranges(mine: mine, theirs: theirs, peer: "district.a") == [.init(origin: "street.a1", seqs: 2...9)])
        // Downward, an ancestor claims everything.
        let down = SyncPlanner(topology: Self.topology, local: "district.a").ranges(mine: mine, theirs: theirs, peer: "street.a1")
        #expect(Set(down) == [.init(origin: "street.a1", seqs: 2...9), .init(origin: "city", seqs: 1...9)])
    }

    /// A district relays its own streets' changes to the city, claims and all (the city is not blind to a street that
    /// lost only its link to the city); it relays no other district's streets, and nothing downward but as an ancestor.
    @Test func aDistrictRelaysItsStreetsToTheCity() {
        let city = SyncPlanner(topology: Self.topology, local: "city")
        #expect(city.acceptsClaim(origin: "street.a1", from: "district.a"))
        #expect(!city.acceptsClaim(origin: "street.b1", from: "district.a"))
        let district = SyncPlanner(topology: Self.topology, local: "district.a")
        var mine = VersionVector(), theirs = VersionVector()
        for seq in 1...5 { mine.insert(ChangeID(origin: "street.a1", seq: UInt64(seq))); mine.insert(ChangeID(origin: "street.b1", seq: UInt64(seq))) }
        theirs.insert(ChangeID(origin: "street.a1", seq: 1))
        // Relayed only when the city's coverage of the street has not moved since its previous sync on this session: not
        // at the session's first sync, nor while the street's own link is bringing its changes.
        #expect(district.ranges(mine: mine, theirs: theirs, peer: "city", previous: theirs) == [.init(origin: "street.a1", seqs: 2...5)])
        #expect(district.ranges(mine: mine, theirs: theirs, peer: "city").isEmpty, "the session's first sync")
        #expect(district.ranges(mine: mine, theirs: theirs, peer: "city", previous: VersionVector()).isEmpty, "the street's link is moving")
        // The city tells the district how far it has each of the district's streets, so the district knows what to relay.
        #expect(Set(city.syncVector(mine, for: "district.a").origins.keys) == ["street.a1"])
        // Only the city has peers relaying to it: its districts, not its streets; nobody relays to a district or a street.
        #expect(["district.a", "district.b"].allSatisfy(city.relaysToMe) && !city.relaysToMe("street.a1"))
        #expect(!district.relaysToMe("city") && !district.relaysToMe("street.a1"))
        #expect(!SyncPlanner(topology: Self.topology, local: "street.a1").relaysToMe("district.a"))
    }

    @Test func coveringThroughASequenceAbsorbsGaps() {
        var vector = VersionVector()
        for seq: UInt64 in [1, 2, 7, 9] { vector.insert(ChangeID(origin: "o", seq: seq)) }
        vector.cover("o", through: 6)
        #expect(vector["o"].contiguous == 7 && vector["o"].beyond == [9])
    }

    @Test func messagesRoundTripAndHostileOnesAreRefused() throws {
        var vector = VersionVector()
        vector.insert(ChangeID(origin: "street.a1", seq: 1))
        vector.insert(ChangeID(origin: "street.a1", seq: 5))
        let messages: [GossipMessage] = [
            .hello(node: "street.a1", nonce: [1, 2, 3]), .welcome(node: "city", nonce: [4], proof: [5, 6]), .proof([7]),
            .sync(vector), .changes([Self.change("street.a1", 1, .committee("c-a1"))], claims: ["street.a1": .init(from: 1, through: 1)]), .swim(.ping(seq: 9, updates: [.init(node: "city", status: .suspect, incarnation: 2)])),
            .swim(.ack(seq: 9, target: "city", updates: [])), .swim(.nack(seq: 3)), .swim(.pingRequest(seq: 4, target: "district.a", updates: [])),
        ]
        for message in messages { #expect(try GossipMessage(payload: message.payload) == message) }
        for junk in ["{}", "[]", "{\"t\":\"nope\"}", "{\"t\":\"sync\",\"vv\":{\"o\":{\"c\":3,\"b\":[2]}}}", "{\"t\":\"changes\",\"items\":[{}],\"through\":{}}"] {
            #expect(throws: GossipMessage.DecodeError.self) { try GossipMessage(payload: Array(junk.utf8)) }
        }
        let tooMany = GossipMessage.changes(Array(repeating: Self.change("street.a1", 1, .committee("c-a1")), count: GossipMessage.maxChangesPerMessage + 1), claims: [:])
        #expect(throws: GossipMessage.DecodeError.self) { try GossipMessage(payload: tooMany.payload) }
    }

    @Test func aVectorWithTooManyGapsStillEncodesWithinTheLimit() throws {
        var vector = VersionVector()
        for seq in stride(from: 2, to: UInt64(2 * GossipMessage.maxGapsPerOrigin + 10), by: 2) { vector.insert(ChangeID(origin: "o", seq: seq)) }
        guard case .sync(let decoded, _) = try GossipMessage(payload: GossipMessage.sync(vector).payload) else { Issue.record("not a sync"); return }
        #expect(decoded["o"].beyond.count == GossipMessage.maxGapsPerOrigin)
        #expect(decoded["o"].beyond.min() == 2)
    }

    /// Names and ids that YAML would read as something else when written plain: a colon, a comment sign, a number with
    /// a leading zero, a boolean, quotes, a line break. Written by `Topology.yaml` and read back, each is itself.
    @Test func hostileNamesAndIdsRoundTripThroughTopologyFiles() throws {
        let hostile = ["东区: 一号", "#1居委会", "0123", "yes", "no", "null", "~", "1e3", "'引号'", "\"双引号\"", "第一行\n第二行", " 前后空格 ", "- 列表", "{a: 1}"]
        let key = Self.keys["street.a1"]!.publicKey.rawRepresentation.base64EncodedString()
        var committees: [String: String] = [:]
        for (i, name) in hostile.enumerated() { committees[i == 2 ? "0123" : "c\(i)-\(i == 3 ? "yes" : "x")"] = name }
        committees["yes"] = "yes"
        let nodes = [
            TopologyNode(id: "city", role: .city, parent: nil, unit: nil, gossip: "127.0.0.1:1", http: "127.0.0.1:2", publicKey: key),
            TopologyNode(id: "0123", role: .district, parent: "city", unit: "yes", gossip: "[::1]:3", http: "127.0.0.1:4", publicKey: key),
            TopologyNode(id: "street.on", role: .street, parent: "0123", unit: "0777", gossip: "127.0.0.1:5", http: "127.0.0.1:6", publicKey: key,
                         committees: committees),
        ]
        let topology = try Topology(nodes: nodes)
        let again = try Topology(yaml: topology.yaml)
        #expect(again.nodes == topology.nodes, "\(topology.yaml)")
        // Plain values in a hand-written file are read as written, not as numbers or booleans.
        let hand = try Topology(yaml: "nodes:\n  - id: city\n    role: city\n    gossip: a:1\n    http: b:2\n    publicKey: \(key)\n  - id: 0123\n    role: district\n    parent: city\n    unit: yes\n    gossip: c:3\n    http: d:4\n    publicKey: \(key)\n")
        #expect(hand.nodes["0123"]?.unit == "yes")
    }

    @Test func topologyFilesRoundTripAndBadOnesAreRefused() throws {
        let again = try Topology(yaml: Self.topology.yaml)
        #expect(again.nodes == Self.topology.nodes)
        #expect(throws: (any Error).self) { try Topology(yaml: "nodes:\n  - id: s\n    role: street\n    gossip: a\n    http: b\n    publicKey: k\n") }
        let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("cluster/topologies/demo.yaml")
        let topology = try Topology(yaml: String(contentsOf: demo, encoding: .utf8))
        #expect(topology.nodes.count == 7 && topology.committeeOwner.count == 24)
    }
}
