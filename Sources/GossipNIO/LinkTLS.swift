@preconcurrency import Crypto
import Foundation
import Gossip
import NIOCore
import NIOSSL
import Replication
import SwiftASN1
import Synchronization
import X509

/// Mutual TLS 1.3 on replication links, bound to the node keys of the topology instead of a certificate authority.
///
/// Each node presents a self-signed certificate made at start from its own Ed25519 node key, and accepts a peer only
/// if the peer's certificate carries the key the topology lists for it: the dialer the key of the node it dialed, the
/// listener the key of one of its peers. TLS proves the peer holds that key (its CertificateVerify signs the
/// handshake), so a node that is not in the topology cannot finish a handshake, and nothing — not even the gossip
/// hello — crosses the network in clear. Validity dates are not checked (a node's clock may be wrong; its key is what
/// counts), and the gossip handshake's own proofs still run inside.
public struct LinkTLS: Sendable {
    let serverContext: NIOSSLContext
    let clientContext: NIOSSLContext
    let local: NodeID
    /// The topology now (it may be reloaded).
    let topology: CurrentTopology

    /// A node's TLS for `topology` as it stands (the handshake bench; a serving node's follows its reloads).
    public init(key: Curve25519.Signing.PrivateKey, local: NodeID, topology: Topology) throws {
        try self.init(key: key, local: local, topology: CurrentTopology(topology))
    }

    init(key: Curve25519.Signing.PrivateKey, local: NodeID, topology: CurrentTopology) throws {
        let certificateKey = Certificate.PrivateKey(key)
        let name = try DistinguishedName { CommonName(local) }
        let now = Date()
        let certificate = try Certificate(version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: certificateKey.publicKey,
                                          notValidBefore: now.addingTimeInterval(-86_400), notValidAfter: now.addingTimeInterval(20 * 365 * 86_400),
                                          issuer: name, subject: name, extensions: Certificate.Extensions(), issuerPrivateKey: certificateKey)
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let chain = [NIOSSLCertificateSource.certificate(try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der))]
        let privateKey = NIOSSLPrivateKeySource.privateKey(try NIOSSLPrivateKey(bytes: Array(certificateKey.serializeAsPEM().pemString.utf8), format: .pem))
        func restrict(_ configuration: inout TLSConfiguration) {
            configuration.minimumTLSVersion = .tlsv13
            configuration.maximumTLSVersion = .tlsv13
            // Verification is ours (the peer's key against the topology); this asks the peer for its certificate.
            configuration.certificateVerification = .noHostnameVerification
            configuration.signingSignatureAlgorithms = [.ed25519]
            configuration.verifySignatureAlgorithms = [.ed25519]
        }
        var server = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: privateKey)
        restrict(&server)
        var client = TLSConfiguration.makeClientConfiguration()
        client.certificateChain = chain
        client.privateKey = privateKey
        restrict(&client)
        serverContext = try NIOSSLContext(configuration: server)
        clientContext = try NIOSSLContext(configuration: client)
        self.local = local
        self.topology = topology
    }

    /// The listener's handler: a peer whose certificate carries the key of one of this node's peers.
    public func serverHandler() -> NIOSSLServerHandler {
        let local = self.local, topology = self.topology
        return NIOSSLServerHandler(context: serverContext, customVerificationCallback: { certificates, promise in
            let now = topology.value
            let allowed = Set(now.peers(of: local).compactMap { now.nodes[$0]?.publicKey })
            promise.succeed(Self.leafKey(certificates).map { allowed.contains($0) } == true ? .certificateVerified : .failed)
        }, configuration: .init())
    }

    /// The dialer's handler: the peer's certificate must carry the key the topology lists for `peer`.
    public func clientHandler(dialing peer: NodeID) throws -> NIOSSLClientHandler {
        let expected = topology.value.nodes[peer]?.publicKey
        return try NIOSSLClientHandler(context: clientContext, serverHostname: nil, customVerificationCallback: { certificates, promise in
            promise.succeed(expected != nil && Self.leafKey(certificates) == expected ? .certificateVerified : .failed)
        }, configuration: .init())
    }

    /// The Ed25519 key (base64, as the topology writes keys) of the peer's own certificate.
    static func leafKey(_ certificates: [NIOSSLCertificate]) -> String? {
        guard let der = try? certificates.first?.toDERBytes(), let certificate = try? Certificate(derEncoded: der),
              let key = Curve25519.Signing.PublicKey(certificate.publicKey) else { return nil }
        return key.rawRepresentation.base64EncodedString()
    }
}

/// The topology a node runs with, replaced when it is reloaded; shared by the replication service and its TLS checks.
final class CurrentTopology: Sendable {
    private let current: Mutex<Topology>
    init(_ topology: Topology) { current = Mutex(topology) }
    var value: Topology {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}
