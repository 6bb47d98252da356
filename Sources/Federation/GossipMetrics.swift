import Gossip
import Metrics

/// Replication metrics (swift-metrics).
public enum GossipMetrics {
    static let bytesOut = Counter(label: "shequ_gossip_bytes_total", dimensions: [("direction", "out")])
    static let payloadBytesIn = Counter(label: "shequ_gossip_payload_bytes_total", dimensions: [("direction", "in")])
    static let payloadBytesOut = Counter(label: "shequ_gossip_payload_bytes_total", dimensions: [("direction", "out")])
    /// Changes received that this node already covered (counted with the duplicates the apply path finds).
    static let duplicates = Counter(label: "shequ_changes_duplicate_total")
    /// Syncs not answered because the peer sent them too often.
    public static let syncsIgnored = Counter(label: "shequ_gossip_syncs_ignored_total")
    /// Tail probes sent: a paused link's last push sent again (`ReplicationDriver.Settings.tailProbe`).
    static let tailProbes = Counter(label: "shequ_gossip_tail_probes_total")
    static func rejected(_ reason: RejectionReason) -> Counter {
        Counter(label: "shequ_changes_rejected_total", dimensions: [("reason", reason.rawValue)])
    }
}
