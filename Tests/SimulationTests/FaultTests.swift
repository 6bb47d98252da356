@preconcurrency import Crypto
import Gossip
import Replication
@testable import Simulation
import ShequTestSupport
import Testing

@Suite struct FaultTests {
    /// A street cut from the city only, its link to its district up: the city still learns what it wrote through the
    /// district, one anti-entropy round behind it (with the relay turned off, the seeds that see such a cut fail: the
    /// city stops where the cut began). As `shequ simulate --seed N --nodes 8 --minutes 5 --faults partition,loss,reorder,duplicate`.
    @Test("the district relays a street cut from the city only")
    func districtRelaysToTheCity() async throws {
        var checked = 0
        for seed: UInt64 in 1...6 {
            var options = SimulationOptions.small(seed: seed, minutes: 5, faults: [.partition, .loss, .reorder, .duplicate])
            options.shape = .init(districts: 1, streetsPerDistrict: [6], committeesPerStreet: Array(repeating: 4, count: 6), gossipBasePort: 0, httpBasePort: 0)
            let report = try await offPoolOneAtATime { [options] in try Simulator(options).run() }
            #expect(report.passed, "\(report.text)")
            checked += try #require(report.invariants.first { $0.name.hasPrefix("the city's lag") }).checked
        }
        #expect(checked >= 2, "too few streets were cut from the city only to judge the relay")
    }

    /// Streets lose their disk mid-run and start empty in recovery (`admin restore --empty`): each recovers through
    /// the production driver's handshake and recovery check, no sequence number names two changes, and nothing is lost
    /// but what had not left the street.
    @Test("a street restored empty recovers without reusing a sequence number", arguments: [3, 11, 29] as [UInt64])
    func restoredStreetsRecover(seed: UInt64) async throws {
        var options = SimulationTests.options(seed: seed, faults: [.restore, .loss, .reorder, .duplicate])
        options.minutes = 2
        let report = try await offPoolOneAtATime { [options] in try Simulator(options).run() }
        #expect(report.passed, "\(report.text)")
        #expect(report.wipes > 0, "no street lost its disk: \(report.text)")
        #expect(report.recoveries == report.wipes, "\(report.text)")
    }

    static let key = Curve25519.Signing.PrivateKey()
    static let topology = try! TopologyGenerator.generate(
        .init(districts: 1, streetsPerDistrict: [1], committeesPerStreet: [1], gossipBasePort: 1, httpBasePort: 2)
    ) { _ in key.publicKey.rawRepresentation.base64EncodedString() }

    /// The simulator checks each signature once per run: only a change equal field for field to the one checked under
    /// that signature goes through unchecked; a tampered copy is refused on every node, first seen or not.
    @Test func aSignatureCheckedOnceLetsOnlyTheSameChangeThrough() throws {
        let verifier = RememberingVerifier()
        let street = try #require(Self.topology.nodes.values.first { $0.role == .street })
        let committee = try #require(street.committees.keys.first)
        var genuine = Change(id: ChangeID(origin: street.id, seq: 1), hlc: HLCTimestamp(millis: 1_000, counter: 0),
                             draft: ChangeDraft(scope: .committee(committee), kind: "post", entity: "p1", op: .assign, fields: ["title": "t"], author: "m"))
        genuine.signature = ChangeSignature.sign(genuine.signedBytes, with: Self.key)
        var tampered = genuine
        tampered.fields["title"] = "改过"
        let district = try #require(street.parent)
        #expect(ChangeAdmission(topology: Self.topology, localNode: district, verifier: verifier).check(tampered) == .badSignature)
        #expect(ChangeAdmission(topology: Self.topology, localNode: district, verifier: verifier).check(genuine) == nil)
        for node in [street.id, district, "city"] {
            let admission = ChangeAdmission(topology: Self.topology, localNode: node, verifier: verifier)
            #expect(admission.check(genuine) == nil, "\(node)")
            #expect(admission.check(tampered) == .badSignature, "\(node)")
        }
    }
}
