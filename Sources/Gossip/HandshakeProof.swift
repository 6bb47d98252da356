@preconcurrency import Crypto
import Replication

/// The proofs of the mutual handshake: each side signs the other's fresh nonce, bound to both node ids
/// (`GossipMessage.handshakeText`), with its node key; the other checks it against the key in the topology.
public enum HandshakeProof {
    /// `signer`'s proof for `peer`, answering `peer`'s nonce.
    public static func make(nonce: [UInt8], signer: NodeID, peer: NodeID, sign: ([UInt8]) -> [UInt8]) -> [UInt8] {
        sign(GossipMessage.handshakeText(nonce: nonce, signer: signer, peer: peer))
    }

    /// Whether `proof` is `signer`'s signature over `nonce` for `peer`, by the key the topology has for `signer`.
    public static func isValid(_ proof: [UInt8], nonce: [UInt8], signer: NodeID, peer: NodeID, topology: Topology) -> Bool {
        guard let base64 = topology.nodes[signer]?.publicKey, let key = ChangeSignature.publicKey(base64: base64) else { return false }
        return key.isValidSignature(proof, for: GossipMessage.handshakeText(nonce: nonce, signer: signer, peer: peer))
    }
}
