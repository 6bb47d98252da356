@preconcurrency import Crypto
import Gossip
import Replication

/// The simulator's signature check: every node of a run lives in one process, where a change reaches up to three
/// replicas and each would check the same signature again. A change is let through unchecked only when it equals,
/// field for field, the change first found valid under that signature; anything else is checked in full. Injected
/// into each simulated node's `ChangeAdmission`; served nodes check every signature (`Ed25519Verifier`). Not
/// thread-safe: the simulator runs on one thread.
final class RememberingVerifier: SignatureVerifier, @unchecked Sendable {
    private var verified: [[UInt8]: Change] = [:]

    func isValid(_ change: Change, publicKey: Curve25519.Signing.PublicKey) -> Bool {
        if verified[change.signature] == change { return true }
        guard ChangeSignature.verify(change, publicKey: publicKey) else { return false }
        verified[change.signature] = change
        return true
    }
}
