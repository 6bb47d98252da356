import Foundation
import Replication

/// The messages two nodes exchange over a replication link (docs/protocol.md). Each is one frame's
/// payload, encoded as canonical JSON.
public enum GossipMessage: Hashable, Sendable {
    /// The dialer introduces itself with a fresh nonce and the wire versions it speaks.
    case hello(node: NodeID, nonce: [UInt8], wire: WireVersions = .current)
    /// The listener introduces itself, proves its key over the dialer's nonce, and sends its own nonce and versions.
    case welcome(node: NodeID, nonce: [UInt8], proof: [UInt8], wire: WireVersions = .current)
    /// The dialer proves its key over the listener's nonce.
    case proof([UInt8])
    /// "This is what I hold or know I need not hold; send me what I lack." With `clock`, the sender's wall clock (ms
    /// since the epoch): the receiver holds back changes stamped too far ahead of it, which it would only refuse.
    case sync(VersionVector, clock: UInt64? = nil)
    /// A batch of changes, oldest first per origin, and, per origin, a claim: the range of sequence numbers in which
    /// the sender has sent every change the receiver holds (only an origin's own node or an ancestor may claim it).
    case changes([Change], claims: [NodeID: Claim])
    /// Failure detection (SWIM with Lifeguard), with membership news piggybacked.
    case swim(SWIM.Message)

    /// `changes` in messages of at most `perMessage`, in order. `claimed`: each message claims, for the one origin its
    /// changes come from, the range from its first to its last sequence number (the form anti-entropy sends); otherwise
    /// it claims nothing (an eager push).
    public static func batches(_ changes: [Change], perMessage: Int = maxChangesPerMessage, claimed: Bool) -> [GossipMessage] {
        stride(from: 0, to: changes.count, by: perMessage).map { start in
            let slice = Array(changes[start..<min(start + perMessage, changes.count)])
            let claims = claimed ? [slice.last!.id.origin: Claim(from: slice.first!.id.seq, through: slice.last!.id.seq)] : [:]
            return .changes(slice, claims: claims)
        }
    }

    /// Received messages as the driver takes them, each with its payload's size: each run of consecutive eager pushes
    /// (claim-less `changes`) becomes one push of their changes in order, up to `limit` changes each (more starts
    /// another), its size the sum of theirs; every other message stays as it is and where it is. A receiver that fell
    /// behind and finds many pushes from one peer waiting applies them in one transaction instead of one each, exactly
    /// as if the peer had committed them together.
    public static func coalescingPushes(_ messages: [(message: GossipMessage, bytes: Int)],
                                        limit: Int = maxChangesPerMessage) -> [(message: GossipMessage, bytes: Int)] {
        var out: [(message: GossipMessage, bytes: Int)] = []
        out.reserveCapacity(messages.count)
        for (message, bytes) in messages {
            if case .changes(let more, let claims) = message, claims.isEmpty, let last = out.last,
               case .changes(let run, let runClaims) = last.message, runClaims.isEmpty, run.count + more.count <= limit {
                out[out.count - 1] = (.changes(run + more, claims: [:]), last.bytes + bytes)
            } else {
                out.append((message, bytes))
            }
        }
        return out
    }

    /// The message's kind as the wire names it (`t`): hello, welcome, proof, sync, changes or swim.
    public var kindName: String {
        switch self {
        case .hello: "hello"
        case .welcome: "welcome"
        case .proof: "proof"
        case .sync: "sync"
        case .changes: "changes"
        case .swim: "swim"
        }
    }

    /// The wire versions one end speaks: `oldest...newest`. Version 1 sent none (a hello without them is version 1
    /// only); a link speaks the newest version both ends speak, and two ends with none in common do not link.
    public struct WireVersions: Hashable, Sendable {
        public var oldest: Int
        public var newest: Int
        public init(oldest: Int, newest: Int) {
            self.oldest = oldest
            self.newest = newest
        }
        public static let current = WireVersions(oldest: Release.minimumWireVersion, newest: Release.wireVersion)
        /// What a version-1 node, which sends no versions, speaks.
        public static let first = WireVersions(oldest: 1, newest: 1)

        /// The version a link between `self` and `other` speaks, or nil when they share none.
        public func agreed(with other: WireVersions) -> Int? {
            let version = min(newest, other.newest)
            return version >= max(oldest, other.oldest) ? version : nil
        }

        /// Wire 1 said nothing of versions; a node playing it says nothing either.
        var fields: [String: Value] { self == .first ? [:] : ["v": .int(Int64(newest)), "vmin": .int(Int64(oldest))] }
    }

    /// "Of this origin, every change you hold with a sequence number in `from...through` is in this batch or was in
    /// an earlier one." The receiver covers through `through` only if it already covers everything before `from`, so
    /// a batch that arrives after a later one, or whose predecessor was lost, never makes it skip a change.
    public struct Claim: Hashable, Sendable {
        public var from: UInt64
        public var through: UInt64
        public init(from: UInt64, through: UInt64) {
            self.from = from
            self.through = through
        }
    }

    // MARK: - Limits

    /// At most this many changes in one `changes` message.
    public static let maxChangesPerMessage = 500
    /// At most this many origins in a version vector, and gap entries per origin.
    public static let maxOrigins = 4_096
    public static let maxGapsPerOrigin = 10_000

    /// The text both sides sign in the handshake: binds the nonce to the signer and the peer.
    public static func handshakeText(nonce: [UInt8], signer: NodeID, peer: NodeID) -> [UInt8] {
        Array("shequ-hello-v1|\(Data(nonce).base64EncodedString())|\(signer)|\(peer)".utf8)
    }

    /// Why bytes were not a message.
    public struct DecodeError: Error, Hashable, CustomStringConvertible {
        public let description: String
    }
}

// MARK: - Encoding

extension GossipMessage {
    /// The canonical JSON payload.
    public var payload: [UInt8] { value.canonicalJSONBytes }

    var value: Value {
        switch self {
        case .hello(let node, let nonce, let wire):
            return .object(["t": "hello", "node": .string(node), "nonce": .string(Data(nonce).base64EncodedString())]
                .merging(wire.fields) { a, _ in a })
        case .welcome(let node, let nonce, let proof, let wire):
            return .object(["t": "welcome", "node": .string(node), "nonce": .string(Data(nonce).base64EncodedString()),
                            "proof": .string(Data(proof).base64EncodedString())].merging(wire.fields) { a, _ in a })
        case .proof(let proof):
            return .object(["t": "proof", "proof": .string(Data(proof).base64EncodedString())])
        case .sync(let vector, let clock):
            var fields: [String: Value] = ["t": "sync", "vv": Self.encode(vector)]
            if let clock { fields["now"] = .int(Int64(clamping: clock)) }
            return .object(fields)
        case .changes(let changes, let claims):
            return .object(["t": "changes", "items": .list(changes.map(Self.encode)),
                            "through": .object(claims.mapValues { .int(Int64($0.through)) }),
                            "from": .object(claims.mapValues { .int(Int64($0.from)) })])
        case .swim(let message):
            func updates(_ list: [SWIM.Update]) -> Value {
                .list(list.map { .list([.string($0.node), .string($0.status.rawValue), .int(Int64($0.incarnation))]) })
            }
            switch message {
            case .ping(let seq, let u): return .object(["t": "swim", "k": "ping", "seq": .int(Int64(seq)), "u": updates(u)])
            case .ack(let seq, let target, let u): return .object(["t": "swim", "k": "ack", "seq": .int(Int64(seq)), "target": .string(target), "u": updates(u)])
            case .nack(let seq): return .object(["t": "swim", "k": "nack", "seq": .int(Int64(seq))])
            case .pingRequest(let seq, let target, let u):
                return .object(["t": "swim", "k": "ping-req", "seq": .int(Int64(seq)), "target": .string(target), "u": updates(u)])
            }
        }
    }

    /// A vector on the wire. Past `maxGapsPerOrigin` out-of-order entries only the lowest are sent: the peer
    /// then resends a few changes this node already has, which applying ignores, instead of refusing the message.
    static func encode(_ vector: VersionVector) -> Value {
        .object(vector.origins.mapValues { progress in
            .object(["c": .int(Int64(progress.contiguous)),
                     "b": .list(progress.beyond.sorted().prefix(maxGapsPerOrigin).map { .int(Int64($0)) })])
        })
    }

    static func encode(_ change: Change) -> Value {
        .object([
            "o": .string(change.id.origin), "s": .int(Int64(change.id.seq)), "h": .int(Int64(change.hlc.rawValue)),
            "sc": .string(change.scope.description), "k": .string(change.kind), "e": .string(change.entity),
            "op": .int(Int64(change.op.rawValue)), "f": .object(change.fields), "a": .string(change.author),
            "sig": .string(Data(change.signature).base64EncodedString()),
        ])
    }

    /// Decodes a payload, refusing anything malformed or over the limits.
    public init(payload: some Collection<UInt8>) throws(DecodeError) {
        let value: Value
        do { value = try Value(jsonBytes: payload) } catch { throw DecodeError(description: "not JSON: \(error)") }
        guard let o = value.object, let type = o["t"]?.string else { throw DecodeError(description: "no message type") }
        func string(_ key: String) throws(DecodeError) -> String {
            guard let s = o[key]?.string, s.utf8.count <= 4_096 else { throw DecodeError(description: "\(type): bad \(key)") }
            return s
        }
        func bytes(_ key: String) throws(DecodeError) -> [UInt8] {
            guard let data = Data(base64Encoded: try string(key)) else { throw DecodeError(description: "\(type): \(key) is not base64") }
            return Array(data)
        }
        func number(_ key: String) throws(DecodeError) -> UInt64 {
            guard let i = o[key]?.int, i >= 0 else { throw DecodeError(description: "\(type): bad \(key)") }
            return UInt64(i)
        }
        func wire() throws(DecodeError) -> WireVersions {
            guard o["v"] != nil || o["vmin"] != nil else { return .first }
            guard let newest = o["v"]?.int, let oldest = o["vmin"]?.int, 1 <= oldest, oldest <= newest, newest <= 1_000_000 else {
                throw DecodeError(description: "\(type): bad wire versions")
            }
            return WireVersions(oldest: Int(oldest), newest: Int(newest))
        }
        switch type {
        case "hello": self = .hello(node: try string("node"), nonce: try bytes("nonce"), wire: try wire())
        case "welcome": self = .welcome(node: try string("node"), nonce: try bytes("nonce"), proof: try bytes("proof"), wire: try wire())
        case "proof": self = .proof(try bytes("proof"))
        case "swim":
            let seq = try number("seq")
            var updates: [SWIM.Update] = []
            for entry in o["u"]?.list ?? [] {
                guard let e = entry.list, e.count == 3, let node = e[0].string, let status = e[1].string.flatMap(SWIM.Status.init(rawValue:)),
                      let inc = e[2].int, inc >= 0, updates.count < 64 else { throw DecodeError(description: "swim: bad update") }
                updates.append(SWIM.Update(node: node, status: status, incarnation: UInt64(inc)))
            }
            switch o["k"]?.string {
            case "ping": self = .swim(.ping(seq: seq, updates: updates))
            case "ack": self = .swim(.ack(seq: seq, target: try string("target"), updates: updates))
            case "nack": self = .swim(.nack(seq: seq))
            case "ping-req": self = .swim(.pingRequest(seq: seq, target: try string("target"), updates: updates))
            default: throw DecodeError(description: "swim: unknown kind")
            }
        case "sync":
            guard let vv = o["vv"]?.object, vv.count <= Self.maxOrigins else { throw DecodeError(description: "sync: bad vector") }
            var origins: [NodeID: OriginProgress] = [:]
            for (origin, entry) in vv {
                guard let e = entry.object, let c = e["c"]?.int, c >= 0, let gaps = e["b"]?.list, gaps.count <= Self.maxGapsPerOrigin else {
                    throw DecodeError(description: "sync: bad entry for \(origin)")
                }
                var beyond: Set<UInt64> = []
                for gap in gaps {
                    guard let g = gap.int, g > c + 1 else { throw DecodeError(description: "sync: bad gap for \(origin)") }
                    beyond.insert(UInt64(g))
                }
                origins[origin] = OriginProgress(contiguous: UInt64(c), beyond: beyond)
            }
            let clock = o["now"]?.int
            if let clock, clock < 0 { throw DecodeError(description: "sync: bad clock") }
            self = .sync(VersionVector(origins: origins), clock: clock.map { UInt64($0) })
        case "changes":
            guard let items = o["items"]?.list, items.count <= Self.maxChangesPerMessage, let through = o["through"]?.object,
                  let from = o["from"]?.object, through.count <= Self.maxOrigins, from.count == through.count
            else { throw DecodeError(description: "changes: bad batch") }
            var changes: [Change] = []
            for item in items { changes.append(try Self.decodeChange(item)) }
            var claims: [NodeID: Claim] = [:]
            for (origin, seq) in through {
                guard let last = seq.int, let first = from[origin]?.int, first >= 1, last >= first - 1 else {
                    throw DecodeError(description: "changes: bad claim for \(origin)")
                }
                claims[origin] = Claim(from: UInt64(first), through: UInt64(last))
            }
            self = .changes(changes, claims: claims)
        default:
            throw DecodeError(description: "unknown message type \(type)")
        }
    }

    static func decodeChange(_ value: Value) throws(DecodeError) -> Change {
        guard let o = value.object, let origin = o["o"]?.string, let seq = o["s"]?.int, seq > 0, let hlc = o["h"]?.int, hlc >= 0,
              let scopeText = o["sc"]?.string, let scope = Scope(scopeText), let kind = o["k"]?.string, let entity = o["e"]?.string,
              let opCode = o["op"]?.int, let op = FieldOp(rawValue: UInt8(clamping: opCode)), let fields = o["f"]?.object,
              let author = o["a"]?.string, let sigText = o["sig"]?.string, let signature = Data(base64Encoded: sigText),
              origin.utf8.count <= 128, entity.utf8.count <= 256, kind.utf8.count <= 64, author.utf8.count <= 256 else {
            throw DecodeError(description: "malformed change")
        }
        let draft = ChangeDraft(scope: scope, kind: kind, entity: entity, op: op, fields: fields, author: author)
        return Change(id: ChangeID(origin: origin, seq: UInt64(seq)), hlc: HLCTimestamp(rawValue: UInt64(hlc)), draft: draft, signature: Array(signature))
    }
}
