import Foundation
import Crypto

/// SHA-256 helpers for pseudonyms (secret-ballot voter keys, household ids) and digests.
public enum Digest {
    /// The SHA-256 of the UTF-8 bytes of `text`, as lowercase hex.
    public static func hex(of text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }
}

/// A street node's key for secret-ballot pseudonyms. It is made once per node, kept in its database's local-only
/// `meta` table and never replicated: only the node where the voter is known anyway can link a pseudonym to a member.
public struct BallotSecret: Sendable, Hashable {
    public let key: [UInt8]

    public init(_ key: [UInt8]) { self.key = key }

    /// A new random secret (32 bytes).
    public static func random() -> BallotSecret {
        var generator = SystemRandomNumberGenerator()
        return BallotSecret((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// The secret as base64, as its backup file beside the node key holds it.
    public var base64: String { Data(key).base64EncodedString() }

    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else { return nil }
        key = Array(data)
    }

    /// HMAC-SHA256 of `text` under the key, as 32 lowercase hex digits (128 bits).
    func pseudonym(of text: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: key))
        return code.prefix(16).map { byte in
            let s = String(byte, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }
}
