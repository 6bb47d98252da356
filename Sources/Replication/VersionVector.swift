/// What one node has seen of one origin's changes: everything up to `contiguous`, plus the
/// sequence numbers in `beyond` (all greater than `contiguous + 1`), which arrived out of order.
public struct OriginProgress: Hashable, Sendable, Codable {
    public var contiguous: UInt64
    public var beyond: Set<UInt64>

    public init(contiguous: UInt64 = 0, beyond: Set<UInt64> = []) {
        self.contiguous = contiguous
        self.beyond = beyond
    }

    /// Whether `seq` has been seen.
    public func contains(_ seq: UInt64) -> Bool { seq <= contiguous || beyond.contains(seq) }

    /// Records `seq`; returns false if it was already there.
    @discardableResult
    public mutating func insert(_ seq: UInt64) -> Bool {
        guard seq > 0, !contains(seq) else { return false }
        if seq == contiguous + 1 {
            contiguous = seq
            while beyond.remove(contiguous + 1) != nil { contiguous += 1 }
        } else {
            beyond.insert(seq)
        }
        return true
    }

    /// The highest sequence number seen.
    public var highest: UInt64 { max(contiguous, beyond.max() ?? 0) }

    /// The gaps: sequence numbers below `highest` not yet seen.
    public var missing: [ClosedRange<UInt64>] {
        var ranges: [ClosedRange<UInt64>] = []
        var next = contiguous + 1
        for seq in beyond.sorted() {
            if seq > next { ranges.append(next...(seq - 1)) }
            next = seq + 1
        }
        return ranges
    }
}

/// A version vector with gap sets (as Scuttlebutt and Corrosion keep them): per origin, what has been seen.
/// Anti-entropy compares two vectors to send only what the other side lacks.
public struct VersionVector: Hashable, Sendable, Codable {
    public private(set) var origins: [NodeID: OriginProgress]

    public init(origins: [NodeID: OriginProgress] = [:]) { self.origins = origins }

    /// Whether the change has been seen.
    public func contains(_ id: ChangeID) -> Bool { origins[id.origin]?.contains(id.seq) ?? false }

    /// Records a change; returns false if it had been seen already.
    @discardableResult
    public mutating func insert(_ id: ChangeID) -> Bool {
        origins[id.origin, default: OriginProgress()].insert(id.seq)
    }

    /// Replaces the progress recorded for one origin.
    public mutating func replace(_ origin: NodeID, with progress: OriginProgress) { origins[origin] = progress }

    /// The progress for one origin (empty if never heard of).
    public subscript(origin: NodeID) -> OriginProgress { origins[origin] ?? OriginProgress() }

    /// Whether every change seen by `other` is seen here too.
    public func dominates(_ other: VersionVector) -> Bool {
        for (origin, theirs) in other.origins {
            let mine = self[origin]
            if theirs.contiguous > mine.contiguous {
                for seq in (mine.contiguous + 1)...theirs.contiguous where !mine.beyond.contains(seq) { return false }
            }
            for seq in theirs.beyond where !mine.contains(seq) { return false }
        }
        return true
    }

    /// For each origin, the sequence numbers this vector has and `other` lacks, as ranges,
    /// at most `limit` numbers in all, oldest first per origin.
    public func surplus(over other: VersionVector, limit: Int = .max) -> [NodeID: [ClosedRange<UInt64>]] {
        var result: [NodeID: [ClosedRange<UInt64>]] = [:]
        var budget = limit
        for origin in origins.keys.sorted() where budget > 0 {
            let mine = origins[origin]!
            let theirs = other[origin]
            var ranges: [ClosedRange<UInt64>] = []
            var seq = theirs.contiguous + 1
            let top = mine.highest
            while seq <= top, budget > 0 {
                if mine.contains(seq), !theirs.contains(seq) {
                    var end = seq
                    budget -= 1
                    while end + 1 <= top, budget > 0, mine.contains(end + 1), !theirs.contains(end + 1) {
                        end += 1
                        budget -= 1
                    }
                    ranges.append(seq...end)
                    seq = end + 1
                } else {
                    seq += 1
                }
            }
            if !ranges.isEmpty { result[origin] = ranges }
        }
        return result
    }
}
