import Foundation
import Gossip
import GossipNIO
import Logging
import ServiceLifecycle
import Storage
import UnixSignals

/// Reloads the topology file on SIGHUP, so that adding, retiring or re-keying a node needs no restart of its district
/// and the city: the replication service keeps every link that stays, and a street defines committees added to it.
/// A file that does not parse, or that changes this node itself, is refused with a log line and the old one kept.
struct TopologyReloader: Service {
    let path: String
    let local: String
    let replication: ReplicationService
    let store: Store
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await cancelWhenGracefulShutdown {
            for await _ in signals {
                await reload()
            }
        }
    }

    func reload() async {
        do {
            let topology = try Topology(yaml: String(contentsOfFile: path, encoding: .utf8))
            try await replication.reload(topology)
            try FederationBootstrap.defineCommittees(store: store, topology: topology, node: local)
        } catch {
            logger.error("topology not reloaded; the previous one stays", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
