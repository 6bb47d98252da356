@preconcurrency import Crypto
import Foundation
import Gossip
import Replication

/// Node keys: Ed25519, stored as base64 of the raw 32-byte private key.
public enum NodeKey {
    public static func load(path: String) throws -> Curve25519.Signing.PrivateKey {
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: text) else { throw NodeConfiguration.Invalid(description: "\(path) is not a base64 key") }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: data)
    }

    /// The signer a `Store` uses: Ed25519 over each change's canonical bytes with the key at `path`.
    public static func signer(path: String) throws -> @Sendable ([UInt8]) -> [UInt8] {
        let key = try load(path: path)
        return { bytes in ChangeSignature.sign(bytes, with: key) }
    }

    /// Makes a key, writes it to `path` (mode 0600) and returns the public key in base64.
    public static func generate(path: String) throws -> String {
        let key = Curve25519.Signing.PrivateKey()
        FileManager.default.createFile(atPath: path, contents: Data((key.rawRepresentation.base64EncodedString() + "\n").utf8),
                                       attributes: [.posixPermissions: 0o600])
        return key.publicKey.rawRepresentation.base64EncodedString()
    }
}

extension TopologyGenerator {
    /// Generates the topology, writing each node's private key to `keysDirectory/<id>.key` (mode 0600).
    public static func generate(_ shape: Shape, keysDirectory: String) throws -> Topology {
        try FileManager.default.createDirectory(atPath: keysDirectory, withIntermediateDirectories: true)
        return try generate(shape) { id in try NodeKey.generate(path: (keysDirectory as NSString).appendingPathComponent("\(id).key")) }
    }
}
