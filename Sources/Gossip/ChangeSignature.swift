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

/// How a receiver checks a change's signature. A served node checks every change it does not already hold
/// (`Ed25519Verifier`); the simulator, where one change reaches several replicas in one process, injects one that
/// remembers what it has checked.
public protocol SignatureVerifier: Sendable {
    /// Whether `change` carries a valid signature by `publicKey`.
    func isValid(_ change: Change, publicKey: Curve25519.Signing.PublicKey) -> Bool
}

/// Checks each signature with Ed25519 (`ChangeSignature.verify`).
public struct Ed25519Verifier: SignatureVerifier {
    public init() {}
    public func isValid(_ change: Change, publicKey: Curve25519.Signing.PublicKey) -> Bool {
        ChangeSignature.verify(change, publicKey: publicKey)
    }
}

/// The checks a receiver makes before applying a change: known origin, valid signature, within the
/// origin's authority, and a scope this node holds.
public struct ChangeAdmission: Sendable {
    public let topology: Topology
    public let localNode: NodeID
    private let keys: [NodeID: Curve25519.Signing.PublicKey]
    /// Each origin's retired keys, with the last sequence number each may still verify.
    private let retired: [NodeID: [(key: Curve25519.Signing.PublicKey, through: UInt64)]]
    private let verifier: any SignatureVerifier

    public init(topology: Topology, localNode: NodeID, verifier: any SignatureVerifier = Ed25519Verifier()) {
        self.topology = topology
        self.localNode = localNode
        var keys: [NodeID: Curve25519.Signing.PublicKey] = [:]
        var retired: [NodeID: [(key: Curve25519.Signing.PublicKey, through: UInt64)]] = [:]
        for node in topology.nodes.values {
            keys[node.id] = ChangeSignature.publicKey(base64: node.publicKey)
            let old = node.retiredKeys.compactMap { r in ChangeSignature.publicKey(base64: r.publicKey).map { (key: $0, through: r.through) } }
            if !old.isEmpty { retired[node.id] = old }
        }
        self.keys = keys
        self.retired = retired
        self.verifier = verifier
    }

    /// Nil when the change may be applied here, else why not.
    public func check(_ change: Change) -> RejectionReason? {
        guard let key = keys[change.id.origin] else { return .unknownOrigin }
        guard verifier.isValid(change, publicKey: key)
                || retired[change.id.origin]?.contains(where: { change.id.seq <= $0.through && verifier.isValid(change, publicKey: $0.key) }) == true
        else { return .badSignature }
        guard topology.mayWrite(change.id.origin, change.scope, kind: change.kind, entity: change.entity) else { return .outsideAuthority }
        guard topology.holds(localNode, change.scope) else { return .notHeldHere }
        return nil
    }
}
