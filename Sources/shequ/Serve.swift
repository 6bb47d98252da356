import ArgumentParser
import Foundation
import Logging
import Metrics
import Node

/// `shequ serve --config FILE`: run one node until SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one node (street, district or city) until SIGTERM; shuts down gracefully.")

    @Option(name: .long, help: "The node's YAML configuration file (keys may be overridden by environment variables, e.g. HTTP_PORT).")
    var config: String

    func run() async throws {
        bootstrapLogging()
        MetricsSystem.bootstrap(NodeMetricsFactory())
        let configuration = try await NodeConfiguration.load(path: config)
        let node = try ShequNode(configuration: configuration, logger: Logger(label: "shequ.node"))
        try await node.run()
    }
}
