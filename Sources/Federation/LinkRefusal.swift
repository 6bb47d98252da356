import Metrics

/// Why a replication connection was refused or cut. Each is counted in `shequ_gossip_links_refused_total{reason}`
/// and logged at warning level; none of them touches stored state.
public enum LinkRefusal: String, Sendable, CaseIterable {
    /// A hello from a node that is not in the topology, or not a peer of this one.
    case unknownNode = "unknown_node"
    /// The peer could not sign this node's nonce with its key in the topology (a removed or replaced key).
    case badProof = "bad_proof"
    /// The handshake did not finish within `ReplicationDriver.Settings.handshakeTimeout` (silent or dripping peers).
    case handshakeTimeout = "handshake_timeout"
    /// Too many connections were in their handshake at once (a connection flood).
    case tooManyHandshakes = "too_many_handshakes"
    /// The peer speaks no wire version this node speaks (a release too old or too new for a rolling upgrade).
    case incompatibleVersion = "incompatible_version"
    /// The TLS handshake failed: a plain-TCP client, or a certificate whose key the topology does not list for a peer.
    case tlsHandshake = "tls_handshake"
    /// A frame out of bounds, with a bad checksum, unknown flags or a payload that does not decompress.
    case badFrame = "bad_frame"
    /// A frame whose payload is not a gossip message.
    case badMessage = "bad_message"
    /// A message out of its place (a handshake message after the handshake, the wrong one during it).
    case outOfOrder = "out_of_order"
    /// Nothing read for `ReplicationDriver.Settings.idleTimeout` on an established link.
    case idle

    /// Counts one refusal in `shequ_gossip_links_refused_total{reason}`.
    public func count() { Counter(label: "shequ_gossip_links_refused_total", dimensions: [("reason", rawValue)]).increment() }
}
