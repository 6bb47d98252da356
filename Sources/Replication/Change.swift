/// The id of a node in the federation, e.g. `street.baoshan.yuepu`.
public typealias NodeID = String

/// A change's identity: its origin node and that node's sequence number, counted from 1 without gaps.
public struct ChangeID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The node that made the change.
    public var origin: NodeID
    /// The origin's sequence number, 1, 2, 3, ...
    public var seq: UInt64

    public init(origin: NodeID, seq: UInt64) {
        self.origin = origin
        self.seq = seq
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.origin, lhs.seq) < (rhs.origin, rhs.seq) }
    public var description: String { "\(origin)#\(seq)" }
}

/// Where a change belongs: one committee, a district-wide or street-wide scope, or the whole city.
/// Authority and replication are decided by scope.
public enum Scope: Hashable, Sendable, CustomStringConvertible, Comparable {
    case committee(String)
    case street(String)
    case district(String)
    case city

    /// `c:<id>`, `s:<id>`, `d:<id>` or `city`: the form stored in SQLite and sent on the wire.
    public var description: String {
        switch self {
        case .committee(let id): "c:\(id)"
        case .street(let id): "s:\(id)"
        case .district(let id): "d:\(id)"
        case .city: "city"
        }
    }

    /// Parses the `description` form.
    public init?(_ text: String) {
        if text == "city" { self = .city; return }
        guard text.count > 2, text.dropFirst().first == ":" else { return nil }
        let id = String(text.dropFirst(2))
        switch text.first {
        case "c": self = .committee(id)
        case "s": self = .street(id)
        case "d": self = .district(id)
        default: return nil
        }
    }

    /// The committee id, when the scope is one committee.
    public var committee: String? { if case .committee(let id) = self { id } else { nil } }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.description < rhs.description }
}

/// How a change's fields merge into the current state (see docs/crdt.md).
public enum FieldOp: UInt8, Sendable, Codable, CaseIterable {
    /// Last-writer-wins register: the greatest (HLC, origin) stamp wins.
    case assign = 0
    /// Max-register: the greatest value wins; equal values keep the greatest stamp.
    case raise = 1
    /// Grow-only set element / write-once field: the first write (least stamp) wins and is never replaced.
    case add = 2
    /// Tombstone: the entity is deleted, and stays deleted whatever arrives later (remove-wins).
    case remove = 3
}

/// The stamp that orders competing writes to one field: HLC first, origin as the tie-break,
/// so two nodes that write in the same millisecond with the same counter still agree.
public struct WriteStamp: Hashable, Comparable, Sendable {
    public var hlc: HLCTimestamp
    public var origin: NodeID

    public init(hlc: HLCTimestamp, origin: NodeID) {
        self.hlc = hlc
        self.origin = origin
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        if lhs.hlc != rhs.hlc { return lhs.hlc < rhs.hlc }
        return lhs.origin.utf8.lexicographicallyPrecedes(rhs.origin.utf8)
    }
}

/// A write before it is stamped: what Governance produces from a command.
public struct ChangeDraft: Hashable, Sendable {
    public var scope: Scope
    /// The entity kind, e.g. `post`; see Governance's `EntityKind`.
    public var kind: String
    /// The entity id, unique across the federation.
    public var entity: String
    public var op: FieldOp
    /// Field name to value; for `.remove`, ignored.
    public var fields: [String: Value]
    /// The member who asked for the write (a pseudonymous id), or a node id for system writes.
    public var author: String

    public init(scope: Scope, kind: String, entity: String, op: FieldOp, fields: [String: Value], author: String) {
        self.scope = scope
        self.kind = kind
        self.entity = entity
        self.op = op
        self.fields = fields
        self.author = author
    }
}

/// One replicated, idempotent delta: a draft stamped by its origin with a sequence number and an HLC.
/// Applying the same change twice, or changes in any order, gives the same state.
public struct Change: Hashable, Sendable {
    public var id: ChangeID
    public var hlc: HLCTimestamp
    public var scope: Scope
    public var kind: String
    public var entity: String
    public var op: FieldOp
    public var fields: [String: Value]
    public var author: String
    /// The origin's Ed25519 signature over `signedBytes`; empty on a node that does not sign.
    public var signature: [UInt8]

    public init(id: ChangeID, hlc: HLCTimestamp, draft: ChangeDraft, signature: [UInt8] = []) {
        self.id = id
        self.hlc = hlc
        self.scope = draft.scope
        self.kind = draft.kind
        self.entity = draft.entity
        self.op = draft.op
        self.fields = draft.fields
        self.author = draft.author
        self.signature = signature
    }

    /// The stamp that orders this change's writes against competing ones.
    public var stamp: WriteStamp { WriteStamp(hlc: hlc, origin: id.origin) }

    /// The fields as canonical JSON: the form stored in the log and covered by the signature.
    public var fieldsJSON: String { Value.object(fields).canonicalJSON }

    /// The bytes the origin signs: every part of the change but the signature, canonically encoded.
    public var signedBytes: [UInt8] {
        let text = "shequ-change-v1\n\(id.origin)\n\(id.seq)\n\(hlc.rawValue)\n\(scope)\n\(kind)\n\(entity)\n\(op.rawValue)\n\(author)\n\(fieldsJSON)"
        return Array(text.utf8)
    }
}
