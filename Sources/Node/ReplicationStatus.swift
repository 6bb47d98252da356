import Foundation
import Gossip
import GossipNIO
import HTTPAPI
import Prometheus
import Replication

/// The HTTP view of replication: peers' liveness and replication figures.
struct ReplicationStatus: ClusterStatus {
    let service: ReplicationService
    let faultInjection: (@Sendable (FaultSwitch) async -> Void)?

    init(service: ReplicationService, faultInjection enabled: Bool) {
        self.service = service
        self.faultInjection = enabled ? { @Sendable faults in
            service.setConditions(LinkConditions(delayMillis: faults.delayMillis, jitterMillis: faults.jitterMillis, loss: Double(faults.lossPermille) / 1_000))
            await service.setBlocked(Set(faults.blocked))
        } : nil
    }

    /// Every member of the federation as this node's failure detector sees it (SWIM with Lifeguard), and,
    /// for the peers it links to, whether the link is up.
    func members() async -> Value {
        let (_, peers, _) = await service.snapshot()
        let view = await service.memberView()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        return .object(["node": .string(service.local), "items": .list(view.keys.sorted().map { id in
            var entry: [String: Value] = ["node": .string(id), "state": .string(view[id]!.rawValue), "peer": .bool(peers[id] != nil)]
            if let stats = peers[id] {
                entry["linked"] = .bool(stats.connected)
                entry["connects"] = .int(Int64(stats.connects))
                entry["lastContactMsAgo"] = stats.lastContactMillis > 0 ? .int(now - stats.lastContactMillis) : .null
            }
            return .object(entry)
        })])
    }

    func refreshGauges(_ registry: PrometheusCollectorRegistry) async {
        let (_, peers, _) = await service.snapshot()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for (id, s) in peers {
            registry.makeGauge(name: "shequ_replication_lag_changes", labels: [("peer", id)], help: "Changes the peer lacked at its last sync that this node was to send it (a street's that its own link brings not counted)").set(Double(s.lagChanges))
            let seconds = s.lagChanges == 0 ? 0 : (s.caughtUpMillis > 0 ? (now - s.caughtUpMillis) / 1000 : -1)
            registry.makeGauge(name: "shequ_replication_lag_seconds", labels: [("peer", id)], help: "Seconds since the peer was last caught up (-1: never)").set(seconds)
            registry.makeGauge(name: "shequ_gossip_compression_ratio", labels: [("peer", id)], help: "Payload bytes per wire byte sent")
                .set(s.bytesSent > 0 ? Double(s.payloadBytesSent) / Double(s.bytesSent) : 1)
            registry.makeGauge(name: "shequ_gossip_link_up", labels: [("peer", id)], help: "1 while the link to the peer is up").set(s.connected ? 1.0 : 0.0)
        }
        let view = await service.memberView()
        for state in [SWIM.Status.alive, .suspect, .dead] {
            registry.makeGauge(name: "shequ_swim_members", labels: [("state", state.rawValue)], help: "Members in each state, as this node sees them")
                .set(Double(view.values.filter { $0 == state }.count))
        }
    }

    func replication() async -> Value {
        let (coverage, peers, rejections) = await service.snapshot()
        func vector(_ v: VersionVector) -> Value {
            .object(v.origins.mapValues { .object(["contiguous": .int(Int64($0.contiguous)), "gaps": .int(Int64($0.beyond.count))]) })
        }
        return .object([
            "node": .string(service.local),
            "coverage": vector(coverage),
            "rejected": .object(Dictionary(uniqueKeysWithValues: rejections.map { ($0.key.rawValue, Value.int(Int64($0.value))) })),
            "peers": .list(peers.keys.sorted().map { id in
                let s = peers[id]!
                // Lag: changes this node could claim to the peer that its last sync did not cover, and for how long
                // the peer has not been caught up.
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let lagSeconds: Value = s.lagChanges == 0 ? .int(0) : (s.caughtUpMillis > 0 ? .int((now - s.caughtUpMillis) / 1000) : .null)
                return .object([
                    "node": .string(id), "connected": .bool(s.connected), "changesSent": .int(Int64(s.changesSent)),
                    "changesReceived": .int(Int64(s.changesReceived)), "bytesSent": .int(Int64(s.bytesSent)),
                    "payloadBytesReceived": .int(Int64(s.payloadBytesReceived)), "payloadBytesSent": .int(Int64(s.payloadBytesSent)),
                    "compressionRatio": s.bytesSent > 0 ? .string(String(format: "%.2f", Double(s.payloadBytesSent) / Double(s.bytesSent))) : .null,
                    "lagChanges": .int(Int64(s.lagChanges)), "lagSeconds": lagSeconds, "theirCoverage": vector(s.theirCoverage),
                ])
            }),
        ])
    }
}
