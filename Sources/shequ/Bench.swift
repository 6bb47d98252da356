import ArgumentParser
import Benchmarks
import Foundation
import Governance
import Node
import Replication
import Storage

/// `shequ bench NAME`: benchmarks that print figures beside a baseline measured in the same run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks, each beside its baseline, as ratios.", subcommands: [All.self, Propagation.self, Cost.self, Memory.self, Recovery.self, Apply.self, Rollup.self, Compress.self, HTTP.self, TLS.self, Photos.self, Notifications.self, CityPeak.self, Serf.self])

    /// Runs `body` in a fresh scratch directory, removed afterwards.
    static func inScratch<T>(_ name: String, _ body: (String) async throws -> T) async throws -> T {
        let directory = try scratch(name)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await body(directory)
    }

    /// A fresh scratch directory for one bench, removed afterwards by the caller.
    static func scratch(_ name: String) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-bench-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    static func progress(_ line: String) { FileHandle.standardError.write(Data("  · \(line)\n".utf8)) }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remote changes per second through the full apply path, beside plain SQLite inserts of the same rows.")

        @Flag(help: "A small run, for tests.") var quick = false
        @Option(help: "Changes per batch (one transaction each).") var batch = 1_000

        func run() throws {
            let total = quick ? 5_000 : 100_000
            FileHandle.standardError.write(Data("generating \(total) changes at a street node ...\n".utf8))
            let changes = try ApplyBenchmark.makeChanges(count: total)
            FileHandle.standardError.write(Data("applying at a district and inserting plainly ...\n".utf8))
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-bench-\(getpid())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try ApplyBenchmark.run(changes: changes, batch: batch, directory: directory)
            print(result.report)
        }
    }

    struct Rollup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "p50/p99 of each rollup for a district (300 committees, 1 million tickets), beside a GROUP BY scan of the same answer.")

        @Flag(help: "A small run, for tests.") var quick = false
        @Option(help: "Committees in the district.") var committees: Int?
        @Option(help: "Tickets over the year.") var tickets: Int?
        @Option(help: "Keep the filled district's database at this path, and measure one already there instead of filling it again (the full fill takes most of an hour); give the same shape each time.")
        var keep: String?

        func run() throws {
            var shape: RollupBenchmark.Shape = quick ? .quick : .full
            if let committees { shape.committees = max(1, committees) }
            if let tickets { shape.tickets = max(1, tickets) }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-bench-rollup-\(getpid())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            FileHandle.standardError.write(Data("filling a district of \(shape.committees) committees with \(shape.tickets) tickets ...\n".utf8))
            let (rows, changes, seconds) = try RollupBenchmark.run(shape: shape, path: keep ?? directory + "/district.sqlite", reuse: keep != nil) {
                FileHandle.standardError.write(Data(($0 + "\n").utf8))
            }
            print(RollupBenchmark.report(rows, shape: shape, changes: changes, fillSeconds: seconds), terminator: "")
        }
    }

    struct Compress: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "LZ4 frame compression of real change batches beside the lz4 tool on the same bytes, and the wire bytes with none.")

        @Flag(help: "A small run, for tests.") var quick = false

        func run() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-bench-compress-\(getpid())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try CompressionBenchmark.run(changes: quick ? 5_000 : 100_000, minimumSeconds: quick ? 0.2 : 3, directory: directory)
            print(result.report, terminator: "")
        }
    }
}
