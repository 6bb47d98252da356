import Foundation
import Gossip
import Governance

/// What to simulate: the topology, how long, how busy, and which faults.
public struct SimulationOptions: Sendable {
    public var seed: UInt64
    public var shape: TopologyGenerator.Shape
    /// Simulated minutes of workload (with faults); a quiet, healed period follows.
    public var minutes: Double
    /// Workload writes per simulated second, across the whole federation.
    public var writesPerSecond: Double
    /// Committees per street that see activity (every committee is defined).
    public var activeCommitteesPerStreet: Int
    public var faults: Faults
    /// Per-node clock skew is drawn from ±this many seconds (with `Faults.skew`).
    public var maxSkewSeconds: Int
    /// How many trace lines a failure report shows.
    public var traceLines: Int = 40
    /// When unresolved tickets escalate themselves: the served rules' shape (street, then district) in seconds instead
    /// of days, so that deadlines pass during the workload's partitions.
    public var escalationRules = [EscalationRule(level: .street, afterMillis: 15_000), EscalationRule(level: .district, afterMillis: 45_000)]

    public init(seed: UInt64, shape: TopologyGenerator.Shape, minutes: Double, writesPerSecond: Double,
                activeCommitteesPerStreet: Int = 3, faults: Faults = .all, maxSkewSeconds: Int = 120) {
        self.seed = seed
        self.shape = shape
        self.minutes = minutes
        self.writesPerSecond = writesPerSecond
        self.activeCommitteesPerStreet = activeCommitteesPerStreet
        self.faults = faults
        self.maxSkewSeconds = maxSkewSeconds
    }

    /// A small federation for many seeds: 1 city, 2 districts, 5 streets, 4 committees each.
    public static func small(seed: UInt64, minutes: Double = 3, faults: Faults = .all) -> SimulationOptions {
        SimulationOptions(seed: seed, shape: .init(districts: 2, streetsPerDistrict: [3, 2], committeesPerStreet: [4, 4, 4, 4, 4],
                                                   gossipBasePort: 0, httpBasePort: 0),
                          minutes: minutes, writesPerSecond: 6, activeCommitteesPerStreet: 3, faults: faults)
    }

    /// The whole of Shanghai: 232 nodes, 6,077 committees.
    public static func shanghai(seed: UInt64, minutes: Double = 10, faults: Faults = .all) -> SimulationOptions {
        SimulationOptions(seed: seed, shape: .shanghai, minutes: minutes, writesPerSecond: 20, activeCommitteesPerStreet: 2, faults: faults)
    }
}

/// The faults a run injects.
public struct Faults: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// 2% of messages lost.
    public static let loss = Faults(rawValue: 1 << 0)
    /// 2% of messages delivered twice (the copy later).
    public static let duplicate = Faults(rawValue: 1 << 1)
    /// Each message delayed independently (1–30 ms per link plus an exponential tail), so later ones overtake.
    public static let reorder = Faults(rawValue: 1 << 2)
    /// A street isolated, a district split from the city, the city cut from everyone, a flapping link.
    public static let partition = Faults(rawValue: 1 << 3)
    /// Nodes stopped at once (SIGKILL: what was not committed is lost) and restarted 5–60 s later.
    public static let crash = Faults(rawValue: 1 << 4)
    /// Per-node clock skew within ±`maxSkewSeconds`.
    public static let skew = Faults(rawValue: 1 << 5)
    /// A street's disk lost: the node stopped, started again on an empty database in recovery (`shequ admin restore
    /// --empty`), taking no writes until its district and the city have shown it what it wrote before.
    public static let restore = Faults(rawValue: 1 << 6)

    public static let none: Faults = []
    public static let all: Faults = [.loss, .duplicate, .reorder, .partition, .crash, .skew, .restore]
    static let names: [(String, Faults)] = [("loss", .loss), ("duplicate", .duplicate), ("reorder", .reorder),
                                            ("partition", .partition), ("crash", .crash), ("skew", .skew), ("restore", .restore)]

    /// Parses "all", "none" or a comma-separated list of names.
    public init?(parsing text: String) {
        if text == "all" { self = .all; return }
        if text == "none" { self = .none; return }
        var faults = Faults()
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let fault = Self.names.first(where: { $0.0 == name })?.1 else { return nil }
            faults.insert(fault)
        }
        self = faults
    }

    public var description: String {
        let names = Self.names.filter { contains($0.1) }.map(\.0)
        return names.isEmpty ? "none" : names.joined(separator: ",")
    }
}
