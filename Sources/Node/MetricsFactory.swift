import CoreMetrics
import Prometheus

/// The swift-metrics backend of a node: Prometheus, with every name legal and lint-clean — counters end in
/// `_total`, every family has help text, Hummingbird's `hb.*` names become `shequ_http_*` — into the registry
/// that `GET /metrics` reads.
public struct NodeMetricsFactory: MetricsFactory {
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusMetricsFactory.defaultRegistry) {
        self.registry = registry
    }

    static let renamed: [String: String] = [
        "hb.requests": "shequ_http_requests_total",
        "hb.request.errors": "shequ_http_request_errors_total",
        "http.server.active_requests": "shequ_http_active_requests",
        "http.server.request.duration": "shequ_http_request_duration_seconds",
    ]

    static let help: [String: String] = [
        "shequ_http_requests_total": "HTTP requests served, by route, method and status",
        "shequ_http_request_errors_total": "HTTP requests that ended in an error, by route, method and status",
        "shequ_http_active_requests": "HTTP requests in flight",
        "shequ_http_request_duration_seconds": "HTTP request latency, by route, method and status",
        "shequ_sqlite_write_duration_seconds": "Time spent in SQLite write transactions",
        "shequ_changes_applied_total": "Changes applied, made here (local) or received (remote)",
        "shequ_changes_duplicate_total": "Received changes that were already in the log",
        "shequ_changes_rejected_total": "Received changes refused, by reason",
        "shequ_gossip_bytes_total": "Replication bytes on the wire (after compression)",
        "shequ_gossip_payload_bytes_total": "Replication message bytes before compression",
        "shequ_gossip_messages_total": "Messages sent on replication links, by kind (changes, sync, swim)",
    ]

    /// A legal Prometheus name: [a-zA-Z_:][a-zA-Z0-9_:]*.
    static func legal(_ name: String) -> String {
        var out = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") ? $0 : "_" })
        if out.first?.isNumber ?? true { out = "_" + out }
        return out
    }

    static func name(_ label: String, counter: Bool = false) -> String {
        var name = renamed[label] ?? legal(label)
        if counter, !name.hasSuffix("_total") { name += "_total" }
        return name
    }

    static func labels(_ dimensions: [(String, String)]) -> [(String, String)] { dimensions.map { (legal($0.0), $0.1) } }

    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? "Shequ metric \(name)")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(Self.name(label, counter: true)), labels: Self.labels(dimensions))
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(Self.name(label, counter: true)), labels: Self.labels(dimensions))
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        let name = Self.name(label)
        guard aggregate else { return registry.makeGauge(descriptor: Self.descriptor(name), labels: Self.labels(dimensions)) }
        return registry.makeValueHistogram(descriptor: Self.descriptor(name), labels: Self.labels(dimensions),
                                           buckets: [1, 5, 10, 50, 100, 500, 1_000, 5_000, 10_000])
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: Self.descriptor(Self.name(label)), labels: Self.labels(dimensions))
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(
            descriptor: Self.descriptor(Self.name(label)), labels: Self.labels(dimensions),
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)])
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? Histogram<Double> { registry.unregisterValueHistogram(histogram) }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? Histogram<Duration> { registry.unregisterDurationHistogram(histogram) }
    }
}
