import Foundation
import Gossip
import Replication

/// Counters kept while the simulation runs.
struct SimulationStats {
    var events = 0
    /// Automatic escalation events the ticket watches wrote (a street's and its district's write of one event count twice).
    var automaticEscalations = 0
    var messages = 0
    var bytes = 0
    var byKind: [String: Int] = [:]
    var changesSent = 0
    var lost = 0
    var duplicated = 0
    var droppedInFlight = 0
    var applied = 0
    var duplicates = 0
    var refusedClock = 0
    var syncsIgnored = 0
    var connects = 0
    var partitions = 0
    var crashes = 0
    var writesWhileDown = 0
    var refusals: [String: Int] = [:]
    var skipped: [String: Int] = [:]
    var swimChanges: [SWIM.Status: Int] = [:]
    var falseSuspicions = 0
    /// Connections refused or cut by a driver, by reason (a lost handshake message ends in a handshake timeout).
    var linksRefused: [String: Int] = [:]
    /// Streets that lost their disk, and recoveries completed.
    var wipes = 0
    var recoveries = 0

    mutating func count(_ message: GossipMessage, bytes: Int) {
        messages += 1
        self.bytes += bytes
        let kind: String
        switch message {
        case .sync: kind = "sync"
        case .changes(let changes, _): kind = "changes"; changesSent += changes.count
        case .swim: kind = "swim"
        case .hello, .welcome, .proof: kind = "handshake"
        }
        byKind[kind, default: 0] += 1
    }
}

/// The events that led somewhere: faults, heals and every acknowledged write, with the simulated time.
struct Trace {
    private(set) var lines: [(Int64, String)] = []
    mutating func add(_ time: Int64, _ line: String) { lines.append((time, line)) }

    /// The last `limit` lines that mention any of `terms`, with every fault and heal in between.
    func about(_ terms: [String], limit: Int, start: Int64) -> [String] {
        let picked = lines.filter { line in
            line.1.hasPrefix("fault") || line.1.hasPrefix("heal") || line.1.hasPrefix("restart") || line.1.hasPrefix("workload")
                || terms.contains { line.1.contains($0) }
        }
        return picked.suffix(limit).map { time, text in String(format: "  t=%8.3fs  ", Double(time - start) / 1_000) + text }
    }

    /// A fingerprint of the whole trace: equal for equal runs.
    var digest: String { Digest.hex(of: lines.map { "\($0.0) \($0.1)" }.joined(separator: "\n")) }
}

import Governance

/// One invariant and what was found.
public struct InvariantResult: Sendable {
    public var name: String
    public var checked: Int
    public var failures: [String]
    /// Words to look for in the trace when it failed (entity or committee ids).
    public var terms: [String]
    public var passed: Bool { failures.isEmpty }
}

/// What `shequ simulate` prints: the invariants, the Maelstrom-style figures, and on failure the seed and a trace.
public struct SimulationReport: Sendable {
    public let seed: UInt64
    public let nodes: Int
    public let committees: Int
    public let faults: Faults
    public let simulatedSeconds: Double
    public let realSeconds: Double
    public let invariants: [InvariantResult]
    public let acknowledgedWrites: Int
    public let acknowledgedChanges: Int
    public let messages: Int
    public let messagesByKind: [String: Int]
    public let bytes: Int
    public let lost: Int
    public let duplicated: Int
    public let partitions: Int
    public let crashes: Int
    /// Streets that lost their disk, recoveries completed, and acknowledged changes lost with a disk before they left it.
    public let wipes: Int
    public let recoveries: Int
    public let lostWithDisk: Int
    public let linksRefused: [String: Int]
    public let refusedClock: Int
    public let refusals: [String: Int]
    public let skipped: [String: Int]
    public let falseSuspicions: Int
    /// Propagation latency from commit at the origin to arrival at each other replica, ms: p50, p99, max.
    public let latency: (p50: Int64, p99: Int64, max: Int64)
    public let latencyUnderNoFault: (p50: Int64, p99: Int64)
    /// A digest of the trace and of every replica's state: the same seed must give the same fingerprint.
    public let fingerprint: String
    public let failureTrace: [String]

    public var passed: Bool { invariants.allSatisfy(\.passed) }

    init(simulator sim: Simulator, checks: InvariantChecks, elapsed: Duration) {
        seed = sim.options.seed
        nodes = sim.nodeIDs.count
        committees = sim.topology.committeeOwner.count
        faults = sim.options.faults
        simulatedSeconds = Double(sim.end - sim.start) / 1_000
        realSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        invariants = checks.results
        acknowledgedWrites = sim.workload.acknowledgedWrites
        acknowledgedChanges = sim.workload.acknowledged.count
        messages = sim.stats.messages
        messagesByKind = sim.stats.byKind
        bytes = sim.stats.bytes
        lost = sim.stats.lost
        duplicated = sim.stats.duplicated
        partitions = sim.stats.partitions
        crashes = sim.stats.crashes
        wipes = sim.stats.wipes
        recoveries = sim.stats.recoveries
        lostWithDisk = checks.lostWithDisk
        linksRefused = sim.stats.linksRefused
        refusedClock = sim.stats.refusedClock
        refusals = sim.stats.refusals
        skipped = sim.stats.skipped
        falseSuspicions = sim.stats.falseSuspicions
        func quantile(_ sorted: [Int64], _ q: Double) -> Int64 { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }
        let all = checks.latencies.sorted()
        latency = (quantile(all, 0.5), quantile(all, 0.99), all.last ?? 0)
        let calm = checks.calmLatencies.sorted()
        latencyUnderNoFault = (quantile(calm, 0.5), quantile(calm, 0.99))
        fingerprint = Digest.hex(of: sim.trace.digest + checks.stateDigest)
        let terms = checks.results.flatMap(\.terms)
        failureTrace = checks.results.allSatisfy(\.passed) ? [] : sim.trace.about(Array(terms.prefix(8)), limit: sim.options.traceLines, start: sim.start)
    }

    /// The report as text.
    public var text: String {
        var out: [String] = []
        out.append("seed \(seed): \(nodes) nodes, \(committees) committees, faults \(faults)")
        out.append(String(format: "simulated %.0f s in %.1f s of real time: %.1f× faster than real time", simulatedSeconds, realSeconds,
                          simulatedSeconds / max(realSeconds, 0.001)))
        out.append("workload: \(acknowledgedWrites) writes acknowledged (\(acknowledgedChanges) changes)"
                   + (refusals.isEmpty ? "" : "; refused by the rules: " + refusals.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
                   + (skipped.isEmpty ? "" : "; skipped: " + skipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        out.append("faults: \(partitions) partitions, \(crashes) crashes, \(wipes) disks lost (\(recoveries) recoveries, \(lostWithDisk) changes lost with a disk before they left it), "
                   + "\(lost) messages lost, \(duplicated) duplicated, "
                   + "\(refusedClock) changes refused for a clock too far ahead, SWIM declared running nodes suspect or dead \(falseSuspicions) times (behind partitions, mostly)")
        if !linksRefused.isEmpty {
            out.append("connections refused: " + linksRefused.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        let perChange = Double(messages - (messagesByKind["swim"] ?? 0)) / Double(max(acknowledgedChanges, 1))
        out.append(String(format: "messages: %d (%@), %.1f MB; %.2f replication messages per change, %.2f with SWIM",
                          messages, messagesByKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                          Double(bytes) / 1e6, perChange, Double(messages) / Double(max(acknowledgedChanges, 1))))
        out.append("propagation (commit at the origin → arrival at each replica): p50 \(latency.p50) ms, p99 \(latency.p99) ms, max \(latency.max) ms; "
                   + "writes made while no fault was active: p50 \(latencyUnderNoFault.p50) ms, p99 \(latencyUnderNoFault.p99) ms")
        out.append("invariants:")
        for result in invariants {
            out.append("  \(result.passed ? "ok  " : "FAIL") \(result.name) (\(result.checked) checked)")
            for failure in result.failures.prefix(5) { out.append("         \(failure)") }
        }
        out.append("fingerprint \(fingerprint)")
        if !passed {
            out.append("FAILED — reproduce with: shequ simulate --seed \(seed) --faults \(faults)")
            out.append("trace (the last events touching what failed, with every fault):")
            out.append(contentsOf: failureTrace)
        }
        return out.joined(separator: "\n")
    }
}
