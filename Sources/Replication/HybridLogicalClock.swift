/// A hybrid logical clock stamp (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014).
///
/// Packed into 64 bits: 48 bits of milliseconds since the Unix epoch, then a 16-bit logical counter,
/// so that stamps compare as plain integers and sort the same way on every node.
public struct HLCTimestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The packed representation: `millis << 16 | counter`.
    public let rawValue: UInt64

    /// The largest physical time a stamp can carry (2^48 - 1 ms, the year 10889).
    public static let maxMillis: UInt64 = (1 << 48) - 1

    /// Wraps a packed value, as read from storage or the wire.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Builds a stamp from its parts; `millis` is clamped to 48 bits.
    public init(millis: UInt64, counter: UInt16) {
        self.rawValue = (min(millis, Self.maxMillis) << 16) | UInt64(counter)
    }

    /// Milliseconds since the Unix epoch.
    public var millis: UInt64 { rawValue >> 16 }
    /// The logical counter that orders stamps within one millisecond.
    public var counter: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    /// The zero stamp, older than every real one.
    public static let zero = HLCTimestamp(rawValue: 0)

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "\(millis).\(counter)" }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(UInt64.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Why a remote stamp was refused by the clock.
public struct ClockError: Error, Hashable, CustomStringConvertible {
    /// How far ahead of local physical time the refused stamp was, in milliseconds.
    public let aheadByMillis: UInt64
    public var description: String { "remote clock stamp is \(aheadByMillis) ms ahead of local time (limit \(HybridLogicalClock.maxForwardDriftMillis) ms)" }
}

/// The clock state machine. It never reads the wall clock: callers pass physical time in,
/// so tests and the simulator drive it with a manual clock.
public struct HybridLogicalClock: Sendable {
    /// A remote stamp further ahead of local physical time than this is refused, never adopted,
    /// so that one node with a bad clock cannot drag every other node's clock into the future.
    public static let maxForwardDriftMillis: UInt64 = 60_000

    /// The last stamp this clock issued or observed.
    public private(set) var last: HLCTimestamp

    /// Starts a clock that will issue stamps strictly after `last` (e.g. the last stamp persisted).
    public init(last: HLCTimestamp = .zero) { self.last = last }

    /// Issues a stamp for a local event at physical time `wallMillis`; strictly greater than every previous stamp.
    public mutating func tick(wallMillis: UInt64) -> HLCTimestamp {
        let physical = min(wallMillis, HLCTimestamp.maxMillis)
        if physical > last.millis {
            last = HLCTimestamp(millis: physical, counter: 0)
        } else {
            last = Self.successor(of: last)
        }
        return last
    }

    /// Whether `remote` is more than `maxForwardDriftMillis` ahead of `wallMillis`: such a stamp is refused (for now).
    public static func isTooFarAhead(_ remote: HLCTimestamp, wallMillis: UInt64) -> Bool {
        let physical = min(wallMillis, HLCTimestamp.maxMillis)
        return remote.millis > physical && remote.millis - physical > maxForwardDriftMillis
    }

    /// Merges a stamp received from another node and returns the stamp for the receive event.
    /// - Throws: `ClockError` when `remote` is more than `maxForwardDriftMillis` ahead of `wallMillis`;
    ///   the clock is left unchanged.
    @discardableResult
    public mutating func observe(_ remote: HLCTimestamp, wallMillis: UInt64) throws(ClockError) -> HLCTimestamp {
        let physical = min(wallMillis, HLCTimestamp.maxMillis)
        if Self.isTooFarAhead(remote, wallMillis: wallMillis) { throw ClockError(aheadByMillis: remote.millis - physical) }
        let top = max(last, remote)
        if physical > top.millis {
            last = HLCTimestamp(millis: physical, counter: 0)
        } else {
            last = Self.successor(of: top)
        }
        return last
    }

    /// The next stamp after `stamp`: the counter goes up, and on overflow the millisecond does.
    private static func successor(of stamp: HLCTimestamp) -> HLCTimestamp {
        if stamp.counter == UInt16.max {
            return HLCTimestamp(millis: stamp.millis + 1, counter: 0)
        }
        return HLCTimestamp(rawValue: stamp.rawValue + 1)
    }
}
