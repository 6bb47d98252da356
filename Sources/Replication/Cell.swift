/// The merged state of one field of one entity, with the stamp of the write that put it there.
public struct Cell: Hashable, Sendable {
    public var value: Value
    public var stamp: WriteStamp
    public var op: FieldOp

    public init(value: Value, stamp: WriteStamp, op: FieldOp) {
        self.value = value
        self.stamp = stamp
        self.op = op
    }

    /// The field name a tombstone writes; a deleted entity has it set to `true`.
    public static let tombstoneField = "_deleted"

    /// The merge rule for one field: given the current cell (if any) and an incoming write,
    /// returns the cell to keep. Commutative, associative and idempotent for writes of one op,
    /// which is what makes every order of delivery converge. (Shapiro et al., "Conflict-free
    /// Replicated Data Types", 2011: LWW-register, max-register, G-set, and remove-wins.)
    ///
    /// Governance never writes one field with two ops, but a buggy or hostile peer might; so the
    /// merge is a lexicographic join: the higher op (`assign` < `raise` < `add` < `remove`) wins
    /// outright, and only writes of the same op compete by that op's rule. Still a semilattice.
    public static func merge(current: Cell?, incoming: Cell) -> Cell {
        guard let current else { return incoming }
        if current.op != incoming.op { return current.op.rawValue < incoming.op.rawValue ? incoming : current }
        switch incoming.op {
        case .assign:
            return precedes(current, incoming) ? incoming : current
        case .add:
            return precedes(incoming, current) ? incoming : current
        case .raise, .remove:
            if incoming.value != current.value { return current.value < incoming.value ? incoming : current }
            return precedes(current, incoming) ? incoming : current
        }
    }

    /// Orders two writes of one field: by stamp, and — for two writes with one stamp, which only a
    /// faulty origin produces — by the bytes of the value's canonical JSON, as SQLite compares text.
    static func precedes(_ a: Cell, _ b: Cell) -> Bool {
        if a.stamp != b.stamp { return a.stamp < b.stamp }
        return a.value.canonicalJSONBytes.lexicographicallyPrecedes(b.value.canonicalJSONBytes)
    }

    /// The cells a change writes: one per field, or the tombstone for `.remove`.
    public static func cells(of change: Change) -> [(field: String, cell: Cell)] {
        let stamp = change.stamp
        if change.op == .remove {
            return [(tombstoneField, Cell(value: .bool(true), stamp: stamp, op: .remove))]
        }
        return change.fields.sorted { $0.key < $1.key }.map { ($0.key, Cell(value: $0.value, stamp: stamp, op: change.op)) }
    }
}

/// The reference model of merged state: entity id → field → cell, in memory.
/// Storage implements the same rules in SQL; tests check the two agree.
public struct CRDTState: Hashable, Sendable {
    public private(set) var entities: [String: [String: Cell]] = [:]

    public init() {}

    /// Merges one change; returns whether any field changed.
    @discardableResult
    public mutating func apply(_ change: Change) -> Bool {
        var changed = false
        for (field, cell) in Cell.cells(of: change) {
            let current = entities[change.entity]?[field]
            let merged = Cell.merge(current: current, incoming: cell)
            if merged != current {
                entities[change.entity, default: [:]][field] = merged
                changed = true
            }
        }
        return changed
    }

    /// The fields of one entity as plain values.
    public func fields(of entity: String) -> [String: Value] {
        entities[entity]?.mapValues(\.value) ?? [:]
    }

    /// Whether the entity carries a tombstone.
    public func isDeleted(_ entity: String) -> Bool {
        entities[entity]?[Cell.tombstoneField]?.value == .bool(true)
    }
}
