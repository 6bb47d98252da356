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
    /// How long an event waited for the driver's serial queue, and how long the driver took over it, by what it was:
    /// where a node that falls behind spends its time.
    public static let queueWait = Metrics.Timer(label: "shequ_gossip_queue_wait_seconds")
    public static func handled(_ event: ReplicationDriver.Event) -> Metrics.Timer {
        switch event {
        case .received(let message, _, _):
            switch message {
            case .changes: handledChanges
            case .sync: handledSync
            case .swim: handledSWIM
            default: handledOther
            }
        case .committed: handledCommitted
        case .timer: handledTimer
        default: handledOther
        }
    }
    /// How long carrying out an event's directives (sending its messages) took.
    public static let carriedOut = Metrics.Timer(label: "shequ_gossip_directives_seconds")
    private static let handledChanges = Metrics.Timer(label: "shequ_gossip_handle_seconds", dimensions: [("event", "changes")])
    private static let handledSync = Metrics.Timer(label: "shequ_gossip_handle_seconds", dimensions: [("event", "sync")])
    private static let handledSWIM = Metrics.Timer(label: "shequ_gossip_handle_seconds", dimensions: [("event", "swim")])
    private static let handledCommitted = Metrics.Timer(label: "shequ_gossip_handle_seconds", dimensions: [("event", "committed")])
    private static let handledTimer = Metrics.Timer(label: "shequ_gossip_handle_seconds", dimensions: [("event", "timer")])
    private static let handledOther = Metrics.Timer(label: "shequ_gossip_handle_seconds", dimensions: [("event", "other")])

    static func rejected(_ reason: RejectionReason) -> Counter {
        Counter(label: "shequ_changes_rejected_total", dimensions: [("reason", reason.rawValue)])
    }
}
