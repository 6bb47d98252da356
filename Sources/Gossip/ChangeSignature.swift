@preconcurrency import Crypto
import Foundation
import Replication

/// Ed25519 signatures on changes (swift-crypto): every change is signed by its origin, and a receiver
/// checks it against the origin's key in the topology.
public enum ChangeSignature {
    /// Signs the change's canonical bytes with the origin's private key.
    public static func sign(_ bytes: [UInt8], with key: Curve25519.Signing.PrivateKey) -> [UInt8] {
        Array((try? key.signature(for: bytes)) ?? Data())
    }

    /// Whether `change` carries a valid signature by `publicKey`.
    public static func verify(_ change: Change, publicKey: Curve25519.Signing.PublicKey) -> Bool {
        !change.signature.isEmpty && publicKey.isValidSignature(change.signature, for: change.signedBytes)
    }

    /// Reads a base64 public key from the topology.
    public static func publicKey(base64: String) -> Curve25519.Signing.PublicKey? {
        Data(base64Encoded: base64).flatMap { try? Curve25519.Signing.PublicKey(rawRepresentation: $0) }
    }
}

/// Why a received change was refused; each reason is counted and logged.
public enum RejectionReason: String, Sendable, CaseIterable {
    case unknownOrigin = "unknown_origin"
    case badSignature = "bad_signature"
    case outsideAuthority = "outside_authority"
    case notHeldHere = "not_held_here"
    case unknownKind = "unknown_kind"
    case clockAhead = "clock_ahead"
}

/// Changes whose signatures have been found valid, shared by the nodes of one simulation (`Simulator`): there a
/// change reaches up to three replicas in the same process, and each would otherwise check the same signature
/// again. A change is let through only when it equals, field for field, the change first checked with that
/// signature; anything else is checked in full. A served node has no use for it: a change it already holds is
/// skipped before any check, so it checks each signature once. Not thread-safe: the simulator runs on one thread.
public final class VerifiedSignatures: @unchecked Sendable {
    private var verified: [[UInt8]: Change] = [:]
    public init() {}

    func contains(_ change: Change) -> Bool { verified[change.signature] == change }
    func insert(_ change: Change) { verified[change.signature] = change }
}

/// The checks a receiver makes before applying a change: known origin, valid signature, within the
/// origin's authority, and a scope this node holds.
public struct ChangeAdmission: Sendable {
    public let topology: Topology
    public let localNode: NodeID
    private let keys: [NodeID: Curve25519.Signing.PublicKey]
    private let verified: VerifiedSignatures?

    public init(topology: Topology, localNode: NodeID, verified: VerifiedSignatures? = nil) {
        self.topology = topology
        self.localNode = localNode
        var keys: [NodeID: Curve25519.Signing.PublicKey] = [:]
        for node in topology.nodes.values { keys[node.id] = ChangeSignature.publicKey(base64: node.publicKey) }
        self.keys = keys
        self.verified = verified
    }

    /// Nil when the change may be applied here, else why not.
    public func check(_ change: Change) -> RejectionReason? {
        guard let key = keys[change.id.origin] else { return .unknownOrigin }
        if let verified, verified.contains(change) {
            // Checked already, with this key: the origin's key is the same on every node of one topology.
        } else {
            guard ChangeSignature.verify(change, publicKey: key) else { return .badSignature }
            verified?.insert(change)
        }
        guard topology.mayWrite(change.id.origin, change.scope) else { return .outsideAuthority }
        guard topology.holds(localNode, change.scope) else { return .notHeldHere }
        return nil
    }
}
