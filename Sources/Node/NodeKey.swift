@preconcurrency import Crypto
import Foundation
import Gossip
import Governance
import Replication
import Storage

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

    /// Makes a key, writes it to `path` (mode 0600), and the node's ballot secret beside it unless one is there, and
    /// returns the public key in base64.
    public static func generate(path: String) throws -> String {
        let key = Curve25519.Signing.PrivateKey()
        try write(key.rawRepresentation.base64EncodedString(), to: path)
        if try ballotSecret(keyPath: path) == nil { try saveBallotSecret(.random(), keyPath: path) }
        return key.publicKey.rawRepresentation.base64EncodedString()
    }

    /// Replaces the key at `path` with a new one (written beside it, then renamed over it, so that a crash leaves one
    /// whole key) and returns the new public key in base64. The ballot secret beside it is left as it is.
    public static func replace(path: String) throws -> String {
        let key = Curve25519.Signing.PrivateKey()
        let fresh = path + ".new"
        try write(key.rawRepresentation.base64EncodedString(), to: fresh)
        guard rename(fresh, path) == 0 else { throw NodeConfiguration.Invalid(description: "could not replace \(path) (errno \(errno))") }
        return key.publicKey.rawRepresentation.base64EncodedString()
    }

    // MARK: - The ballot secret's backup

    /// Where the node's secret-ballot key is kept beside its node key: `keys/street.huamu.key` → `keys/street.huamu.ballot`.
    /// The database holds the secret in use; this file lets a database rebuilt empty (`shequ admin restore --empty`)
    /// keep it, so that a resident who votes again in an open secret poll replaces their ballot instead of adding one.
    /// It is not the key: a rotated node key leaves it as it is.
    public static func ballotSecretPath(keyPath: String) -> String {
        ((keyPath as NSString).deletingPathExtension as NSString).appendingPathExtension("ballot") ?? keyPath + ".ballot"
    }

    /// The backed-up ballot secret, or nil when there is no backup file.
    public static func ballotSecret(keyPath: String) throws -> BallotSecret? {
        let path = ballotSecretPath(keyPath: keyPath)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let secret = BallotSecret(base64: try String(contentsOfFile: path, encoding: .utf8)) else {
            throw NodeConfiguration.Invalid(description: "\(path) is not a ballot secret (base64 of 32 bytes)")
        }
        return secret
    }

    /// Writes the ballot secret's backup beside the key (mode 0600).
    public static func saveBallotSecret(_ secret: BallotSecret, keyPath: String) throws {
        try write(secret.base64, to: ballotSecretPath(keyPath: keyPath))
    }

    private static func write(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data((text + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw NodeConfiguration.Invalid(description: "could not write \(path)")
        }
    }
}

extension TopologyGenerator {
    /// Generates the topology, writing each node's private key to `keysDirectory/<id>.key` (mode 0600).
    public static func generate(_ shape: Shape, keysDirectory: String) throws -> Topology {
        try FileManager.default.createDirectory(atPath: keysDirectory, withIntermediateDirectories: true)
        return try generate(shape) { id in try NodeKey.generate(path: (keysDirectory as NSString).appendingPathComponent("\(id).key")) }
    }
}

extension NodeConfiguration {
    /// The node's database as `shequ serve` opens it: its changes signed with its key, and, when the database is new,
    /// the ballot secret backed up beside the key. For commands and launchers that write to a node before it starts.
    public func openStore(wallMillis: @escaping @Sendable () -> UInt64 = Store.systemMillis) throws -> Store {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let store = try Store(path: databasePath, nodeID: id, wallMillis: wallMillis, signer: try keyPath.map { try NodeKey.signer(path: $0) },
                              ballotSecret: try keyPath.flatMap { try NodeKey.ballotSecret(keyPath: $0) }, pageCache: pageCache)
        applySettings(to: store)
        return store
    }

    /// What the configuration sets on an open store: access lifetimes, and the full-text index on street nodes only
    /// (residents search on their street's node; districts and cities serve no app).
    public func applySettings(to store: Store) {
        store.lifetimes = lifetimes
        store.indexesSearch = role == "street"
        store.keepsInboxes = role == "street"
        store.sendsWebhooks = role == "street" && webhook != nil
        store.departments = role == "district" ? departments : []
    }
}
