import Foundation
import Histogram
import Replication

/// `shequ bench propagation` and `shequ bench cost`: a federation of real processes on loopback, measured in phases —
/// idle (gossip bytes and messages per node per second, memory), propagation (notices posted one at a time at the
/// streets, each one's arrival at its district and the city read from their logs), load (posts at a fixed rate:
/// messages and bytes per replica reached, memory under load) — and beside it a Serf cluster of the same size.
public enum ReplicationBenchmark {
    public struct Options: Sendable {
        public var nodes: Int
        /// Notices posted one at a time for the propagation figures, `spacing` apart.
        public var writes = 200
        public var spacing: Duration = .milliseconds(25)
        public var idleSeconds = 10.0
        /// Posts per second in the load phase, for `loadSeconds`.
        public var loadRate = 1_000
        public var loadSeconds = 10.0
        /// Serf user events (0: no baseline).
        public var serfEvents = 30
        /// Mutual TLS on the gossip links (as nodes run by default).
        public var tls = true
        /// A wide-area network emulated on every gossip link (nil: loopback as it is).
        public var wan: EmulatedNetwork?

        public init(nodes: Int) { self.nodes = nodes }

        public static func quick(nodes: Int) -> Options {
            var options = Options(nodes: nodes)
            options.writes = 20
            options.idleSeconds = 2
            options.loadRate = 200
            options.loadSeconds = 2
            options.serfEvents = 3
            return options
        }
    }

    /// Delay and loss on every gossip link, set through each node's fault switch: each frame waits delay ± jitter
    /// (uniform) on the way out, and `lossPermille` of the messages after the handshake are dropped.
    public struct EmulatedNetwork: Sendable {
        public var delayMillis: Int
        public var jitterMillis: Int
        public var lossPermille: Int
        /// The nodes' tail probe (`gossip.tailProbeMs`; nil: off, as on TCP links).
        public var tailProbeMillis: Int?
        public init(delayMillis: Int, jitterMillis: Int, lossPermille: Int, tailProbeMillis: Int? = nil) {
            self.delayMillis = delayMillis
            self.jitterMillis = jitterMillis
            self.lossPermille = lossPermille
            self.tailProbeMillis = tailProbeMillis
        }
        /// The round trip the links are set to (each way delayed once, by the sender).
        public var rttMillis: Double { Double(2 * delayMillis) }
    }

    public struct Result: Sendable {
        public var nodes: Int
        public var wan: EmulatedNetwork?
        /// Messages the emulated loss dropped, and tail probes sent, all nodes, over the whole run.
        public var dropped = 0.0
        public var tailProbes = 0.0
        public var startSeconds = 0.0
        /// Milliseconds from the commit at the street to the arrival at its district / at the city.
        public var toDistrict: [Double] = []
        public var toCity: [Double] = []
        public var notArrived = 0
        public var idleBytesPerNodeSecond = 0.0
        public var idleMessagesPerNodeSecond: [String: Double] = [:]
        public var load = Load()
        public var idlePSS: [Int] = []
        public var loadPSS: [Int] = []
        public var idleRSS: [Int] = []
        public var serf: SerfBaseline.Result?
    }

    public struct Load: Sendable {
        public var seconds = 0.0
        public var posted = 0
        public var refused = 0
        /// Changes made at the streets and applied elsewhere (each application is one replica reached).
        public var changes = 0.0
        public var replicasReached = 0.0
        public var messages: [String: Double] = [:]
        public var wireBytes = 0.0
        public var postLatency: [Double] = []
        /// Proportional memory of every node halfway through, bytes.
        public var pss: [Int] = []
    }

    public static func run(_ options: Options, executable: String, directory: String,
                           progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        var result = Result(nodes: options.nodes)
        result.wan = options.wan
        let started = Date()
        let federation = try await ProcessFederation.start(nodes: options.nodes, directory: (directory as NSString).appendingPathComponent("shequ"),
                                                         executable: executable, faults: options.wan != nil, tls: options.tls,
                                                         tailProbeMillis: options.wan?.tailProbeMillis, progress: progress)
        result.startSeconds = Date().timeIntervalSince(started)
        var posts: [(id: String, street: NodeID)] = []
        do {
            if let wan = options.wan {
                for node in federation.topology.nodes.keys.sorted() {
                    try await federation.setFaults(node, json: .object(["blocked": .strings([]), "delay_ms": .int(Int64(wan.delayMillis)),
                                                                        "jitter_ms": .int(Int64(wan.jitterMillis)), "loss_permille": .int(Int64(wan.lossPermille))]))
                }
                progress("every link: \(wan.delayMillis) ± \(wan.jitterMillis) ms each way, \(Double(wan.lossPermille) / 10) % of messages dropped")
            }
            try await Task.sleep(for: .seconds(3))
            // Idle.
            let idleBefore = try await federation.metrics(prefix: "shequ_gossip_")
            let idleStart = Date()
            try await Task.sleep(for: .seconds(options.idleSeconds))
            let idleAfter = try await federation.metrics(prefix: "shequ_gossip_")
            let idle = Date().timeIntervalSince(idleStart) * Double(options.nodes)
            result.idleBytesPerNodeSecond = delta(idleBefore, idleAfter, "shequ_gossip_bytes_total{direction=\"out\"}") / idle
            result.idleMessagesPerNodeSecond = messages(idleBefore, idleAfter).mapValues { $0 / idle }
            let idleMemory = federation.memory().values
            result.idlePSS = idleMemory.map(\.pss)
            result.idleRSS = idleMemory.map(\.rss)
            progress("idle: \(Int(result.idleBytesPerNodeSecond)) B/s per node")

            // Propagation: one notice at a time, round the streets.
            let streets = federation.streets
            for i in 0..<options.writes {
                let street = streets[(i * 7) % streets.count]
                posts.append((try await federation.post(at: street, title: "传播测试 \(i)"), street))
                try await Task.sleep(for: options.spacing)
            }
            progress("propagation: \(posts.count) notices posted")
            try await Task.sleep(for: .seconds(2))

            // Load at a fixed rate.
            guard options.loadSeconds > 0 else { throw SkipLoad() }
            result.load = try await load(federation, rate: Double(options.loadRate), seconds: options.loadSeconds)
            result.loadPSS = result.load.pss
            progress("load: \(result.load.posted) posts in \(String(format: "%.1f", result.load.seconds)) s (\(result.load.refused) refused)")
        } catch is SkipLoad {
        } catch {
            await federation.stop()
            throw error
        }
        if options.wan != nil, let counters = try? await federation.metrics(prefix: "shequ_gossip_") {
            result.dropped = counters["shequ_gossip_dropped_total"] ?? 0
            result.tailProbes = counters["shequ_gossip_tail_probes_total"] ?? 0
        }
        await federation.stop()
        let arrivals = try federation.firstArrivals(entities: posts.map(\.id))
        for post in posts {
            guard let made = arrivals[post.street]?[post.id], let parent = federation.topology.nodes[post.street]?.parent,
                  let district = arrivals[parent]?[post.id], let city = arrivals["city"]?[post.id] else { result.notArrived += 1; continue }
            result.toDistrict.append(Double(district - made))
            result.toCity.append(Double(city - made))
        }
        if options.serfEvents > 0 {
            result.serf = try await SerfBaseline.run(nodes: options.nodes, events: options.serfEvents,
                                                     directory: (directory as NSString).appendingPathComponent("serf"), progress: progress)
        }
        return result
    }

    /// Posts at `rate` per second for `seconds` from `writers` concurrent writers, round the streets; the cost is the change
    /// in the federation's counters from before the first post until 3 s after the last (so every push has landed).
    /// With `deadline`, writers that fall behind the rate stop once `seconds` are up instead of making every post.
    static func load(_ federation: ProcessFederation, rate: Double, seconds: Double, streets: [NodeID]? = nil, writers: Int = 32,
                     deadline: Bool = false) async throws -> Load {
        let counters = { try await federation.metrics(prefix: "shequ_") }
        let before = try await counters()
        let streets = streets ?? federation.streets
        let total = Int((rate * seconds).rounded())
        let start = ContinuousClock.now
        let next = Counter()
        /// What a writer brings back: its posts' outcomes; and the memory sample taken halfway.
        enum Part: Sendable {
            case posts([(ok: Bool, ms: Double)])
            case memory([Int])
        }
        var outcomes: [(ok: Bool, ms: Double)] = []
        var pss: [Int] = []
        try await withThrowingTaskGroup(of: Part.self) { group in
            for _ in 0..<writers {
                group.addTask {
                    var mine: [(ok: Bool, ms: Double)] = []
                    while let k = next.take(below: total), !deadline || ContinuousClock.now < start + .seconds(seconds) {
                        try await Task.sleep(until: start + .seconds(Double(k) / rate))
                        let sent = ContinuousClock.now
                        let ok = (try? await federation.post(at: streets[k % streets.count], title: "负载 \(k)")) != nil
                        mine.append((ok, (ContinuousClock.now - sent).milliseconds))
                    }
                    return .posts(mine)
                }
            }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds / 2))
                return .memory(federation.memory().values.map(\.pss))
            }
            for try await part in group {
                switch part {
                case .posts(let mine): outcomes += mine
                case .memory(let sample): pss = sample
                }
            }
        }
        let elapsed = (ContinuousClock.now - start).seconds
        try await Task.sleep(for: .seconds(3))
        let after = try await counters()
        var load = Load()
        load.seconds = elapsed
        load.pss = pss
        load.posted = outcomes.filter(\.ok).count
        load.refused = outcomes.count - load.posted
        load.postLatency = outcomes.filter(\.ok).map(\.ms)
        load.changes = delta(before, after, "shequ_changes_applied_total{source=\"local\"}")
        load.replicasReached = delta(before, after, "shequ_changes_applied_total{source=\"remote\"}")
        load.messages = messages(before, after)
        load.wireBytes = delta(before, after, "shequ_gossip_bytes_total{direction=\"out\"}")
        return load
    }

    static func delta(_ before: [String: Double], _ after: [String: Double], _ series: String) -> Double {
        (after[series] ?? 0) - (before[series] ?? 0)
    }

    /// Replication messages sent between two scrapes, by kind (changes, sync, swim).
    static func messages(_ before: [String: Double], _ after: [String: Double]) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: ["changes", "sync", "swim"].map { ($0, delta(before, after, "shequ_gossip_messages_total{kind=\"\($0)\"}")) })
    }

    /// Hands out 0, 1, 2, ... below a bound, from any task.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func take(below bound: Int) -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard value < bound else { return nil }
            defer { value += 1 }
            return value
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1_000 }
}

/// Quantiles of a sample of milliseconds, through HdrHistogram (microsecond resolution).
public struct Quantiles: Sendable {
    public var count: Int
    public var p50: Double
    public var p99: Double
    public var max: Double

    public init(_ milliseconds: [Double]) {
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for value in milliseconds { histogram.record(UInt64(Swift.max(0, value * 1_000))) }
        count = milliseconds.count
        p50 = count == 0 ? 0 : Double(histogram.valueAtPercentile(50)) / 1_000
        p99 = count == 0 ? 0 : Double(histogram.valueAtPercentile(99)) / 1_000
        max = count == 0 ? 0 : Double(histogram.max) / 1_000
    }

    public var text: String { String(format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms (n = %d)", p50, p99, max, count) }
}

extension ReplicationBenchmark {
    public enum Section: String, CaseIterable, Sendable { case propagation, cost, memory }
    /// A run without the load phase ends its phases here.
    struct SkipLoad: Error {}

    static func mib(_ bytes: Double) -> String { String(format: "%.1f MiB", bytes / 1_048_576) }
    static func mean(_ values: [Int]) -> Double { values.isEmpty ? 0 : Double(values.reduce(0, +)) / Double(values.count) }

    /// The figures of one size, with the baselines and the targets of issue 6.
    public static func report(_ r: Result, sections: Set<Section>) -> String {
        var lines = ["== \(r.nodes) nodes: real `shequ serve` processes on loopback, up and alive in \(String(format: "%.1f", r.startSeconds)) s"]
        if let wan = r.wan {
            lines.append("emulated network on every gossip link: \(wan.delayMillis) ± \(wan.jitterMillis) ms each way (RTT \(Int(wan.rttMillis)) ms), " +
                         "\(Double(wan.lossPermille) / 10) % of messages dropped (\(Int(r.dropped)) dropped in the run); " +
                         (wan.tailProbeMillis.map { "tail probes after \($0) ms (\(Int(r.tailProbes)) sent)" } ?? "no tail probes"))
        }
        if sections.contains(.propagation) {
            let city = Quantiles(r.toCity)
            lines.append("propagation (a notice committed at a street, then its arrival in each log):")
            lines.append("  street → district  \(Quantiles(r.toDistrict).text)")
            lines.append("  street → city      \(city.text)\(r.notArrived > 0 ? "; \(r.notArrived) never arrived" : "")")
            if let serf = r.serf {
                let all = Quantiles(serf.reachAll)
                lines.append("  serf, \(serf.nodes) agents, one → all   \(all.text)" +
                             (serf.incomplete > 0 ? "; \(serf.incomplete) events did not reach every agent in 10 s (one reached only \(serf.reachedFewest))" : ""))
                lines.append("  serf, one → each                \(Quantiles(serf.reachEach).text)")
                lines.append(String(format: "  ratio: serf one → all / shequ street → city: p50 %.1f×, p99 %.1f×", all.p50 / Swift.max(city.p50, 0.5),
                                    all.p99 / Swift.max(city.p99, 0.5)))
                let serfSlower = all.count == 0 ? serf.incomplete > 0 : city.p99 < all.p99
                lines.append("  target: street → city p99 < 150 ms and below serf's p99: \(city.p99 < 150 && serfSlower ? "met" : "MISSED")")
            } else if let wan = r.wan {
                let rtt = wan.rttMillis
                let slow = r.toCity.filter { $0 >= 3 * rtt }.sorted()
                lines.append(String(format: "  street → city p99 / RTT: %.2f×; arrivals at 3 × RTT or later: %d of %d%@", city.p99 / rtt, slow.count, r.toCity.count,
                                    slow.isEmpty ? "" : " (" + slow.map { String(format: "%.0f", $0) }.joined(separator: ", ") + " ms)"))
                lines.append("  target: street → city p99 < 3 × RTT (\(Int(3 * rtt)) ms): \(city.p99 < 3 * rtt ? "met" : "MISSED")")
            } else {
                lines.append("  target: street → city p99 < 150 ms: \(city.p99 < 150 ? "met" : "MISSED")")
            }
        }
        if sections.contains(.cost) {
            let l = r.load
            let replicas = Swift.max(l.replicasReached, 1)
            let replication = (l.messages["changes"] ?? 0) + (l.messages["sync"] ?? 0)
            lines.append("cost per change (load: \(l.posted) notices in \(String(format: "%.1f", l.seconds)) s = \(Int(Double(l.posted) / Swift.max(l.seconds, 0.001)))/s, \(l.refused) refused; post \(Quantiles(l.postLatency).text)):")
            lines.append(String(format: "  changes made %.0f, replicas reached %.0f (%.2f per change)", l.changes, l.replicasReached, l.replicasReached / Swift.max(l.changes, 1)))
            lines.append(String(format: "  replication messages per replica reached: %.3f (changes %.3f + sync %.3f); SWIM messages %.3f", replication / replicas,
                                (l.messages["changes"] ?? 0) / replicas, (l.messages["sync"] ?? 0) / replicas, (l.messages["swim"] ?? 0) / replicas))
            lines.append(String(format: "  wire bytes per replica reached: %.0f (all traffic, SWIM included)", l.wireBytes / replicas))
            lines.append("  target: at most 1.2 messages per replica reached: \(replication / replicas <= 1.2 ? "met" : "MISSED")")
            lines.append(String(format: "  idle: %.0f wire bytes/s per node; messages/s per node: sync %.2f, swim %.2f, changes %.2f", r.idleBytesPerNodeSecond,
                                r.idleMessagesPerNodeSecond["sync"] ?? 0, r.idleMessagesPerNodeSecond["swim"] ?? 0, r.idleMessagesPerNodeSecond["changes"] ?? 0))
        }
        if sections.contains(.memory) {
            lines.append("memory per node (PSS: shared pages divided among their users; RSS counts the shared binary in each):")
            lines.append("  idle:       PSS mean \(mib(mean(r.idlePSS))), max \(mib(Double(r.idlePSS.max() ?? 0))); RSS mean \(mib(mean(r.idleRSS)))")
            lines.append("  under load: PSS mean \(mib(mean(r.loadPSS))), max \(mib(Double(r.loadPSS.max() ?? 0)))")
            if let serf = r.serf { lines.append("  serf agent: PSS mean \(mib(Double(serf.pssPerAgent)))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
