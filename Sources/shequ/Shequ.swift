import ArgumentParser
import Foundation
import Replication
import Logging

/// The `shequ` command line (api.md): run a node, run the demo, administer a node, benchmark.
@main
struct Shequ: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shequ",
        abstract: "Shequ 社区: neighbourhood governance, one node per street office.",
        version: "shequ \(Release.version) (wire \(Release.minimumWireVersion)-\(Release.wireVersion))",
        subcommands: [Serve.self, DemoCommand.self, Cluster.self, Admin.self, Query.self, Bench.self, Simulate.self]
    )
}

/// Writes a line to standard output at once (unbuffered, so progress shows even through a pipe).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Logging to standard error, level from `LOG_LEVEL` (default info).
func bootstrapLogging() {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return handler
    }
}
