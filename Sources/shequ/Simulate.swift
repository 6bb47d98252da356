import ArgumentParser
import Foundation
import Node
import Simulation

/// `shequ simulate`: the federation in one process over a simulated network and clock, from one seed.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Runs the federation in one process over a simulated network with faults, from a seed, and checks the invariants.",
        discussion: """
            The same seed gives the same run: the fingerprint printed at the end is equal for equal runs. Faults: \
            loss, duplicate, reorder, partition, crash, skew, restore (or all, none). On a failure it prints the seed and the events \
            that led to it, and exits with status 1.
            """)

    @Option(help: "The seed; with --seeds, the first of them.") var seed: UInt64 = 1
    @Option(help: "Run this many seeds, one after another, from --seed.") var seeds = 1
    @Option(help: "Nodes: 232 or more is the whole of Shanghai (232 nodes, 6,077 committees); fewer makes a smaller federation.")
    var nodes = 8
    @Option(help: "Committees per street (default 4; 28–29 for Shanghai).") var committees: Int?
    @Option(help: "Simulated minutes of workload with faults (a healed quiet period follows).") var minutes: Double = 3
    @Option(help: "Workload writes per simulated second (default 6; 20 for Shanghai).") var rate: Double?
    @Option(help: "Faults: all, none, or a list such as loss,reorder,partition.") var faults = "all"
    @Option(help: "Largest clock skew, seconds (with the skew fault).") var maxSkew = 120
    @Flag(help: "Only the summary line per seed.") var quiet = false

    func validate() throws {
        guard Faults(parsing: faults) != nil else { throw ValidationError("unknown fault in '\(faults)'; use loss, duplicate, reorder, partition, crash, skew, restore, all or none") }
        try (4...5_000).check(nodes, option: "--nodes")
        guard minutes > 0, minutes <= 24 * 60 else { throw ValidationError("--minutes must be above 0 and at most 1440") }
        try (1...100_000).check(seeds, option: "--seeds")
        if let rate { guard rate > 0, rate <= 10_000 else { throw ValidationError("--rate must be above 0 and at most 10000") } }
        if let committees { try (1...100).check(committees, option: "--committees") }
        try (0...3_600).check(maxSkew, option: "--max-skew")
    }

    func run() throws {
        Self.ensureDeterministicHashing()
        var failed: [UInt64] = []
        for offset in 0..<UInt64(seeds) {
            let options = self.options(seed: seed &+ offset)
            let simulator = try Simulator(options)
            let report = try simulator.run { line in if !quiet, seeds == 1 { FileHandle.standardError.write(Data("\(line)\n".utf8)) } }
            if quiet || seeds > 1 {
                print(String(format: "seed %llu: %@ — %d writes, %d invariants, %.1f× real time, fingerprint %@", report.seed,
                             report.passed ? "ok" : "FAILED", report.acknowledgedWrites, report.invariants.count,
                             report.simulatedSeconds / max(report.realSeconds, 0.001), String(report.fingerprint.prefix(16))))
                if !report.passed { print(report.text) }
            } else {
                print(report.text)
            }
            if !report.passed { failed.append(report.seed) }
        }
        if seeds > 1 { print("\(seeds - failed.count) of \(seeds) seeds passed" + (failed.isEmpty ? "" : "; failed: \(failed.map(String.init).joined(separator: ", "))")) }
        if !failed.isEmpty { throw ExitCode(1) }
    }

    func options(seed: UInt64) -> SimulationOptions {
        var options: SimulationOptions
        if nodes >= 232 {
            options = .shanghai(seed: seed, minutes: minutes, faults: Faults(parsing: faults)!)
        } else {
            // One district per ~15 nodes, the rest streets, spread evenly.
            let districts = max(1, Int((Double(nodes - 1) / 15).rounded()))
            let streets = nodes - 1 - districts
            let perDistrict = (0..<districts).map { streets / districts + ($0 < streets % districts ? 1 : 0) }
            options = .small(seed: seed, minutes: minutes, faults: Faults(parsing: faults)!)
            options.shape = .init(districts: districts, streetsPerDistrict: perDistrict, committeesPerStreet: Array(repeating: committees ?? 4, count: streets),
                                  gossipBasePort: 0, httpBasePort: 0)
        }
        if let committees, nodes >= 232 { options.shape.committeesPerStreet = Array(repeating: committees, count: options.shape.committeesPerStreet.count) }
        if let rate { options.writesPerSecond = rate }
        options.maxSkewSeconds = maxSkew
        return options
    }

    /// Swift seeds its hash function per process, which changes the order of dictionaries; a simulation must not
    /// depend on that, so the command runs itself again with hashing made deterministic.
    static func ensureDeterministicHashing() {
        guard ProcessInfo.processInfo.environment["SWIFT_DETERMINISTIC_HASHING"] == nil else { return }
        setenv("SWIFT_DETERMINISTIC_HASHING", "1", 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
    }
}
