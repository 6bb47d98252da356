import Foundation
import Replication

/// `shequ bench city-peak`: a city-wide peak as real processes — the Shanghai topology (232 by default), every street
/// posting at once at a total rate for a while. What it reads: the rate the streets reached, every change's replication
/// lag from its commit at the street to its application at the city (both stamped by the one machine clock), the
/// city's memory sampled through the run, and the CPU the city, all nodes, and this load generator used.
public enum CityPeakBenchmark {
    public struct Options: Sendable {
        public var nodes = 232
        /// Posts per second in total, spread round every street.
        public var rate = 2_000
        public var seconds = 120.0
        /// Concurrent HTTP writers.
        public var writers = 128
        /// A nice value for the city's threads (e.g. -10), set once it is up: on a machine where all the processes
        /// share two cores, the closest this bench comes to the city on hardware of its own. Nil: left as it starts.
        public var cityNice: Int?
        public init() {}

        public static var quick: Options {
            var options = Options()
            options.nodes = 7
            options.rate = 200
            options.seconds = 5
            options.writers = 16
            return options
        }
    }

    /// One sample of the city process through the run.
    public struct Sample: Sendable {
        /// Seconds since the load began.
        public var seconds: Double
        public var rss: Int
        public var pss: Int
    }

    public struct Result: Sendable {
        public var options: Options
        public var startSeconds = 0.0
        public var load = ReplicationBenchmark.Load()
        /// Milliseconds from each change's commit at its street to its application at the city.
        public var cityLag: [Double] = []
        /// The same to the street's district.
        public var districtLag: [Double] = []
        /// The city's lag p99 in each tenth of the load, in order: flat when the city keeps up, rising when a queue grows.
        public var cityLagByTenth: [Double] = []
        /// Changes made at the streets during the load that the city did not hold when the nodes stopped.
        public var notArrived = 0
        public var citySamples: [Sample] = []
        /// CPU seconds over the load phase: the city, every node process together, this process (the load generator).
        public var cityCPU = 0.0
        public var nodesCPU = 0.0
        public var generatorCPU = 0.0
        /// Busy CPU seconds of the whole machine over the load phase, and its cores.
        public var machineCPU = 0.0
        public var cores = ProcessInfo.processInfo.activeProcessorCount
        public var achievedRate: Double { Double(load.posted) / max(load.seconds, 0.001) }
    }

    public static func run(_ options: Options, executable: String, directory: String,
                           progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        var result = Result(options: options)
        let started = Date()
        let federation = try await ProcessFederation.start(nodes: options.nodes, directory: (directory as NSString).appendingPathComponent("shequ"),
                                                         executable: executable, progress: progress)
        result.startSeconds = Date().timeIntervalSince(started)
        let loadStartMillis: Int64
        do {
            try await Task.sleep(for: .seconds(3))
            let city = try federation.endpoint("city").pid
            if let nice = options.cityNice { try ProcessProbe.renice(pid: city, to: nice) }
            let pids = federation.endpoints.map(\.pid)
            progress("every street posting: \(options.rate)/s in total for \(Int(options.seconds)) s from \(options.writers) writers")
            let before = (city: ProcessProbe.cpuSeconds(pid: city), nodes: pids.map(ProcessProbe.cpuSeconds(pid:)).reduce(0, +),
                          generator: ProcessProbe.cpuSeconds(pid: getpid()), machine: ProcessProbe.machineBusySeconds())
            loadStartMillis = Int64(Date().timeIntervalSince1970 * 1_000)
            let sampler = Task { () -> [Sample] in
                var samples: [Sample] = []
                let start = ContinuousClock.now
                while !Task.isCancelled, samples.count < 10_000 {
                    let seconds = (ContinuousClock.now - start).seconds
                    samples.append(Sample(seconds: seconds, rss: ProcessProbe.kilobytes("VmRSS", file: "/proc/\(city)/status") * 1024,
                                          pss: ProcessProbe.kilobytes("Pss", file: "/proc/\(city)/smaps_rollup") * 1024))
                    try? await Task.sleep(for: .seconds(max(1, options.seconds / 40)))
                }
                return samples
            }
            result.load = try await ReplicationBenchmark.load(federation, rate: Double(options.rate), seconds: options.seconds, writers: options.writers,
                                                         deadline: true)
            sampler.cancel()
            result.citySamples = await sampler.value
            result.cityCPU = ProcessProbe.cpuSeconds(pid: city) - before.city
            result.nodesCPU = pids.map(ProcessProbe.cpuSeconds(pid:)).reduce(0, +) - before.nodes
            result.generatorCPU = ProcessProbe.cpuSeconds(pid: getpid()) - before.generator
            result.machineCPU = ProcessProbe.machineBusySeconds() - before.machine
            progress("load: \(result.load.posted) posts in \(String(format: "%.1f", result.load.seconds)) s (\(result.load.refused) refused)")
        } catch {
            await federation.stop()
            throw error
        }
        await federation.stop()
        let arrived = try federation.store("city").readNow { try $0.changeArrivals(since: loadStartMillis) }
        var districts: [NodeID: [ChangeID: Int64]] = [:]
        for district in federation.districts { districts[district] = try federation.store(district).readNow { try $0.changeArrivals(since: loadStartMillis) } }
        let tenth = max(result.load.seconds * 100, 1)
        var byTenth = Array(repeating: [Double](), count: 10)
        for street in federation.streets {
            let made = try federation.store(street).readNow { try $0.changeArrivals(since: loadStartMillis) }
            let district = federation.topology.nodes[street]?.parent.flatMap { districts[$0] } ?? [:]
            for (id, committed) in made where id.origin == street {
                if let applied = district[id] { result.districtLag.append(Double(applied - committed)) }
                guard let applied = arrived[id] else { result.notArrived += 1; continue }
                result.cityLag.append(Double(applied - committed))
                byTenth[min(9, max(0, Int(Double(committed - loadStartMillis) / tenth)))].append(Double(applied - committed))
            }
        }
        result.cityLagByTenth = byTenth.map { Quantiles($0).p99 }
        return result
    }

    public static func report(_ r: Result) -> String {
        let l = r.load
        let o = r.options
        let lag = Quantiles(r.cityLag)
        let wall = max(l.seconds + 3, 0.001)   // the CPU was read 3 s after the last post, when every push had landed
        var lines = ["bench city-peak: \(o.nodes) real `shequ serve` processes on loopback (up in \(String(format: "%.1f", r.startSeconds)) s), every street posting at once" +
                     (o.cityNice.map { "; the city's threads at nice \($0)" } ?? "")]
        lines.append(String(format: "  asked %d posts/s for %.0f s from %d writers; reached %.0f/s (%d posted, %d refused; post %@)", o.rate, o.seconds, o.writers,
                            r.achievedRate, l.posted, l.refused, Quantiles(l.postLatency).text))
        lines.append(String(format: "  replicas reached: %.0f (%.2f per change made)", l.replicasReached, l.replicasReached / max(l.changes, 1)))
        lines.append("  street commit → district apply:           \(Quantiles(r.districtLag).text)")
        lines.append("  street commit → city apply, every change: \(lag.text)\(r.notArrived > 0 ? "; \(r.notArrived) not at the city when stopped" : "")")
        lines.append("  city lag p99 by tenth of the load: " + r.cityLagByTenth.map { String(format: "%.0f", $0) }.joined(separator: ", ") + " ms")
        if let first = r.citySamples.first, let last = r.citySamples.last {
            let settled = r.citySamples.filter { $0.seconds >= o.seconds / 4 }
            let slope = settled.count >= 2 ? Double(settled.last!.rss - settled.first!.rss) / max(settled.last!.seconds - settled.first!.seconds, 1) * 60 : 0
            lines.append(String(format: "  city memory: RSS %@ at the start, %@ at the end, max %@; PSS at the end %@; after the first quarter %@ per minute",
                                ReplicationBenchmark.mib(Double(first.rss)), ReplicationBenchmark.mib(Double(last.rss)),
                                ReplicationBenchmark.mib(Double(r.citySamples.map(\.rss).max() ?? 0)), ReplicationBenchmark.mib(Double(last.pss)),
                                (slope >= 0 ? "+" : "") + ReplicationBenchmark.mib(slope)))
        }
        lines.append(String(format: "  CPU over the load (%.0f s × %d cores): city %.1f s (%.1f %% of the machine, %.1f %% of all nodes' %.1f s); " +
                            "load generator %.1f s; machine busy %.0f %%", wall, r.cores, r.cityCPU, 100 * r.cityCPU / (wall * Double(r.cores)),
                            100 * r.cityCPU / max(r.nodesCPU, 0.001), r.nodesCPU, r.generatorCPU, 100 * r.machineCPU / (wall * Double(r.cores))))
        if !r.cityLag.isEmpty {
            let perChange = 1_000 * r.cityCPU / Double(r.cityLag.count)
            lines.append(String(format: "  city CPU per change applied: %.3f ms (all of it: receiving, verifying, applying, rollups, gossip): one core would take %.0f changes/s",
                                perChange, 1_000 / max(perChange, 0.001)))
        }
        let rateMet = r.achievedRate >= 2_000
        lines.append("  target: ≥ 2,000 changes/s for 2 minutes: \(rateMet && o.seconds >= 120 ? "met" : "MISSED"); city lag p99 < 1 s: \(lag.p99 < 1_000 && r.notArrived == 0 ? "met" : "MISSED")")
        return lines.joined(separator: "\n") + "\n"
    }
}
