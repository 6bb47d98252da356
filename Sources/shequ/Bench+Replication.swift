import ArgumentParser
import Benchmarks
import Foundation
import Node

/// The benches that start real processes: propagation beside Serf, cost per change, memory, partition recovery, HTTP.
extension Bench {
    /// Options shared by the benches that run a federation at several sizes.
    struct Sizes: ParsableArguments {
        @Option(help: "Federation sizes in nodes, comma-separated (7 is the demo's shape, 232 Shanghai's).") var nodes = "7,51,232"
        @Flag(help: "A small run, for tests: 7 nodes, a few seconds per phase.") var quick = false
        @Option(help: "Write an SVG of the curves against size here.") var plot: String?
        @Option(help: "Emulate a wide-area network on every gossip link: 'DELAY,JITTER,LOSS' — each frame waits DELAY ± JITTER ms on the way out and LOSS per mille of messages are dropped (e.g. 10,2,10). No Serf baseline then (it runs on plain loopback).")
        var wan: String?
        @Option(help: "With --wan: the nodes send a paused link's last push again after this many ms (gossip.tailProbeMs).")
        var tailProbe: Int?

        var network: ReplicationBenchmark.EmulatedNetwork? {
            get throws {
                guard let wan else { return nil }
                let parts = wan.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 3, let delay = parts[0], let jitter = parts[1], let loss = parts[2], (0...10_000).contains(delay), (0...delay).contains(jitter),
                      (0...1_000).contains(loss) else { throw ValidationError("--wan: DELAY,JITTER,LOSS in ms, ms and per mille, jitter at most the delay, e.g. 10,2,10") }
                if let tailProbe, !(1...10_000).contains(tailProbe) { throw ValidationError("--tail-probe: 1 to 10000 ms") }
                return ReplicationBenchmark.EmulatedNetwork(delayMillis: delay, jitterMillis: jitter, lossPermille: loss, tailProbeMillis: tailProbe)
            }
        }

        var sizes: [Int] {
            get throws {
                if quick { return [7] }
                let sizes = nodes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !sizes.isEmpty, sizes.allSatisfy({ (7...400).contains($0) }) else { throw ValidationError("--nodes: sizes from 7 to 400, e.g. 7,51,232") }
                return sizes
            }
        }
    }

    /// Runs the federation benchmark at each size and prints the chosen sections.
    static func federation(_ sizes: Sizes, sections: Set<ReplicationBenchmark.Section>, serf: Bool) async throws -> [ReplicationBenchmark.Result] {
        var results: [ReplicationBenchmark.Result] = []
        for size in try sizes.sizes {
            let directory = try scratch("federation-\(size)")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var options = sizes.quick ? ReplicationBenchmark.Options.quick(nodes: size) : ReplicationBenchmark.Options(nodes: size)
            options.wan = try sizes.network
            if !serf || options.wan != nil { options.serfEvents = 0 }
            if size > 100 { options.serfEvents = min(options.serfEvents, 20) }
            progress("\(size) nodes ...")
            let result = try await ReplicationBenchmark.run(options, executable: Cluster.executable, directory: directory, progress: progress)
            say(ReplicationBenchmark.report(result, sections: sections))
            results.append(result)
        }
        if let plot = sizes.plot, results.count > 1 {
            try BenchPlot.svg(results).write(toFile: plot, atomically: true, encoding: .utf8)
            say("wrote \(plot)")
        }
        return results
    }

    struct Propagation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A write at a street visible at its district and the city (p50/p99/max), beside a Serf cluster of the same size; also prints cost and memory.")
        @OptionGroup var sizes: Sizes
        func run() async throws { _ = try await Bench.federation(sizes, sections: Set(ReplicationBenchmark.Section.allCases), serf: true) }
    }

    struct Cost: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Messages and bytes per change per replica reached under load (1,000 writes/s), and idle gossip bytes per node per second.")
        @OptionGroup var sizes: Sizes
        func run() async throws { _ = try await Bench.federation(sizes, sections: [.cost], serf: false) }
    }

    struct Memory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Memory per node process idle and under load, and the simulator's memory for the whole of Shanghai.")
        @OptionGroup var sizes: Sizes
        func run() async throws {
            _ = try await Bench.federation(sizes, sections: [.memory], serf: false)
            try Bench.simulatorMemory(quick: sizes.quick)
        }
    }

    /// The peak memory of `shequ simulate` over the Shanghai topology (7 nodes when quick), one simulated minute.
    static func simulatorMemory(quick: Bool) throws {
        let nodes = quick ? 7 : 232
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Cluster.executable)
        process.arguments = ["simulate", "--seed", "7", "--nodes", "\(nodes)", "--minutes", "1", "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let started = Date()
        try process.run()
        // The re-executed simulator is a child of this child; read the peak of the whole tree while it runs.
        var peak = 0
        while process.isRunning {
            peak = max(peak, treePeakKilobytes(process.processIdentifier))
            usleep(100_000)
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("shequ simulate exited with \(process.terminationStatus)") }
        say(String(format: "simulator: %d nodes, one simulated minute in %.1f s, peak resident memory %.1f MiB (%.2f MiB per node)\n", nodes,
                   Date().timeIntervalSince(started), Double(peak) / 1024, Double(peak) / 1024 / Double(nodes)))
    }

    /// The largest peak resident size (VmHWM, kB) of a process and its children.
    static func treePeakKilobytes(_ pid: Int32) -> Int {
        var peak = ProcessProbe.kilobytes("VmHWM", file: "/proc/\(pid)/status")
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { peak = max(peak, treePeakKilobytes(child)) }
        return peak
    }

    struct Serf: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The propagation baseline alone: a Serf cluster on loopback, one user event at a time.")
        @Option(help: "Agents.") var nodes = 51
        @Option(help: "User events.") var events = 10
        func run() async throws {
            let directory = try scratch("serf")
            do {
                let result = try await SerfBaseline.run(nodes: nodes, events: events, directory: directory, progress: progress)
                say("serf, \(nodes) agents: one → all \(Quantiles(result.reachAll).text); one → each \(Quantiles(result.reachEach).text); \(result.incomplete) incomplete")
                try? FileManager.default.removeItem(atPath: directory)
            } catch {
                say("serf failed; its agents' logs are in \(directory)")
                throw error
            }
        }
    }

    struct Recovery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One district cut off for 60 s while both sides write 10,000 changes: time from heal to equal digests, and bytes moved per compressed byte missing.")
        @Flag(help: "A small run, for tests: 5 s, 500 changes.") var quick = false
        func run() async throws {
            let result = try await Bench.inScratch("recovery") { directory in
                try await RecoveryBenchmark.run(changes: quick ? 500 : 10_000, cutSeconds: quick ? 5 : 60, executable: Cluster.executable,
                                                         directory: directory, progress: progress)
            }
            say(RecoveryBenchmark.report(result))
        }
    }

    struct TLS: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tls", abstract: "What mutual TLS costs the gossip links: handshake time and a change's street→city p99, each beside plain TCP.")
        @Flag(help: "A small run, for tests.") var quick = false
        func run() async throws {
            let result = try await Bench.inScratch("tls") { directory in
                try await TLSBenchmark.run(connections: quick ? 20 : 500, writes: quick ? 20 : 300, executable: Cluster.executable,
                                                    directory: directory, progress: progress)
            }
            say(TLSBenchmark.report(result))
        }
    }

    struct Photos: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "photos", abstract: "Do photos hold changes back? A change's street→city p99 while 200 photos of 2 MB replicate, beside none.")
        @Flag(help: "A small run, for tests: 16 photos of 256 KB.") var quick = false
        func run() async throws {
            let result = try await Bench.inScratch("photos") { directory in
                try await PhotoLaneBenchmark.run(notices: quick ? 20 : 100, photos: quick ? 16 : 200, photoSide: quick ? 600 : 1_600,
                                                          executable: Cluster.executable, directory: directory, progress: progress)
            }
            say(PhotoLaneBenchmark.report(result))
        }
    }

    struct Notifications: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "notifications",
            abstract: "How soon is a member told? 1,000 open event streams at one street: commit → stream, and district dispatch → stream, p50/p99.")
        @Flag(help: "A small run, for tests: 100 streams.") var quick = false
        @Option(help: "Open event streams, one per resident.") var streams = 1_000
        func run() async throws {
            let count = quick ? 100 : streams
            let result = try await Bench.inScratch("notifications") { directory in
                try await NotificationBenchmark.run(streams: count, polls: quick ? 3 : 10, messages: quick ? 20 : 200, dispatches: quick ? 10 : 50,
                                                    executable: Cluster.executable, directory: directory, progress: progress)
            }
            say(NotificationBenchmark.report(result))
        }
    }

    struct CityPeak: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "city-peak",
            abstract: "A city-wide peak: every street of the Shanghai topology posting at once (2,000/s for 2 minutes); the city's replication lag p50/p99, its memory through the run, its CPU share.")
        @Flag(help: "A small run, for tests: 7 nodes, 200 posts/s for 5 s.") var quick = false
        @Option(help: "Nodes, in the shape the other benches use (232: Shanghai's).") var nodes: Int?
        @Option(help: "Posts per second in total.") var rate: Int?
        @Option(help: "Seconds of load.") var seconds: Double?
        @Option(help: "Concurrent HTTP writers.") var writers: Int?
        @Option(help: "Give the city's threads this nice value once it is up (-20 to 19; below 0 needs root): the nearest this shared machine comes to a city on hardware of its own.")
        var cityNice: Int?
        func run() async throws {
            var options = quick ? CityPeakBenchmark.Options.quick : CityPeakBenchmark.Options()
            if let nodes { options.nodes = try (7...400).check(nodes, option: "--nodes") }
            if let rate { options.rate = try (1...100_000).check(rate, option: "--rate") }
            if let seconds { options.seconds = try (1...3_600).check(seconds, option: "--seconds") }
            if let writers { options.writers = try (1...1_024).check(writers, option: "--writers") }
            if let cityNice { options.cityNice = try (-20...19).check(cityNice, option: "--city-nice") }
            let result = try await Bench.inScratch("city-peak") { directory in
                try await CityPeakBenchmark.run(options, executable: Cluster.executable, directory: directory, progress: progress)
            }
            say(CityPeakBenchmark.report(result))
        }
    }

    struct HTTP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "http", abstract: "Requests per second and p99 for reading a board and for posting on one street node, with wrk, beside GET /healthz.")
        @Flag(help: "A small run, for tests: 2 s per run.") var quick = false
        @Option(help: "Concurrent connections.") var connections = 16
        func run() async throws {
            let directory = try scratch("http")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let runs = try await HTTPBenchmark.run(seconds: quick ? 2 : 10, connections: connections, executable: Cluster.executable,
                                                   directory: directory, progress: progress)
            say(HTTPBenchmark.report(runs, connections: connections))
        }
    }

    struct All: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every bench in turn (about 22 minutes on 2 cores; --quick: about 2): compression, apply, rollups, recovery, HTTP, propagation with cost and memory at 7, 51 and 232 nodes, propagation over an emulated WAN at 51, the city-wide peak at 232, the simulator's memory.")
        @OptionGroup var sizes: Sizes
        func run() async throws {
            let started = Date()
            func section(_ name: String) {
                fflush(nil)   // the in-process benches print through the buffered stdout
                say("\n##### \(name) (\(Int(Date().timeIntervalSince(started))) s in)")
            }
            section("compression")
            let compress = try Bench.Compress.parse(sizes.quick ? ["--quick"] : [])
            try compress.run()
            section("ingest")
            let apply = try Bench.Apply.parse(sizes.quick ? ["--quick"] : [])
            try apply.run()
            section("rollups")
            let rollup = try Bench.Rollup.parse(sizes.quick ? ["--quick"] : ["--committees", "100", "--tickets", "20000"])
            try rollup.run()
            section("partition recovery")
            let recovery = try Bench.Recovery.parse(sizes.quick ? ["--quick"] : [])
            try await recovery.run()
            section("HTTP")
            let http = try Bench.HTTP.parse(sizes.quick ? ["--quick"] : [])
            try await http.run()
            section("TLS on gossip links")
            let tls = try Bench.TLS.parse(sizes.quick ? ["--quick"] : [])
            try await tls.run()
            let photos = try Bench.Photos.parse(sizes.quick ? ["--quick"] : [])
            try await photos.run()
            section("notifications")
            let notifications = try Bench.Notifications.parse(sizes.quick ? ["--quick"] : [])
            try await notifications.run()
            section("propagation, cost per change, memory")
            _ = try await Bench.federation(sizes, sections: Set(ReplicationBenchmark.Section.allCases), serf: true)
            section("propagation over an emulated WAN (10 ± 2 ms each way, 1 % loss, tail probes after 25 ms)")
            let wan = ["--wan", "10,2,10", "--tail-probe", "25"]
            _ = try await Bench.federation(try Sizes.parse(sizes.quick ? ["--quick"] + wan : ["--nodes", "51"] + wan), sections: [.propagation, .cost], serf: false)
            section("a city-wide peak: every street posting at once")
            let peak = try Bench.CityPeak.parse(sizes.quick ? ["--quick"] : [])
            try await peak.run()
            section("simulator memory")
            try Bench.simulatorMemory(quick: sizes.quick)
            fflush(nil)
            say(String(format: "bench all: %.1f minutes", Date().timeIntervalSince(started) / 60))
        }
    }
}
