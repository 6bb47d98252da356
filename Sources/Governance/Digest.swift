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
