import ArgumentParser
import Foundation
import Governance
import Node
import Replication
import Storage

/// `shequ bench NAME`: benchmarks that print figures beside a baseline measured in the same run.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks, each beside its baseline, as ratios.", subcommands: [Apply.self])

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
}
