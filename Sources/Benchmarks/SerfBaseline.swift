import Foundation

/// The propagation baseline: a Serf cluster (Debian's `serf`) of the same size on loopback, timed by the same harness.
/// Each agent runs an event handler that appends its name, the event's payload and `$EPOCHREALTIME` to one file; a
/// user event is sent with `serf event -coalesce=false` at one agent, and its reach is the last agent's stamp less the
/// sending agent's own (both stamps pay the same handler start-up).
public enum SerfBaseline {
    public struct Result: Sendable {
        public var nodes: Int
        /// Per event, milliseconds until the last agent had it.
        public var reachAll: [Double]
        /// Per event and agent, milliseconds until that agent had it.
        public var reachEach: [Double]
        /// Events some agent never stamped within 10 s, and the fewest agents such an event reached.
        public var incomplete: Int
        public var reachedFewest: Int
        /// Seconds until every agent was a member, alive.
        public var startSeconds: Double
        /// Proportional memory per agent, bytes.
        public var pssPerAgent: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The `serf` executable, if installed.
    public static var executable: String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/serf"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    public static func run(nodes: Int, events: Int, directory: String, basePort: Int = 29_000,
                           progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        guard let serf = executable else { throw Failure(description: "serf is not installed (apt-get install -y serf)") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let log = (directory as NSString).appendingPathComponent("arrivals.log")
        let handler = (directory as NSString).appendingPathComponent("stamp.sh")
        FileManager.default.createFile(atPath: log, contents: nil)
        try """
        #!/bin/bash
        read -r payload
        echo "$SERF_SELF_NAME $payload $EPOCHREALTIME" >> \(log)
        """.write(toFile: handler, atomically: true, encoding: .utf8)
        chmod(handler, 0o755)

        var agents: [Process] = []
        defer { stop(agents) }
        let rpc = { (i: Int) in "127.0.0.1:\(basePort + 1_000 + i)" }
        let started = Date()
        for i in 0..<nodes {
            var arguments = ["agent", "-node=s\(i)", "-bind=127.0.0.1:\(basePort + i)", "-rpc-addr=\(rpc(i))",
                             "-event-handler=user:bench=\(handler)", "-log-level=err"]
            // Each joins the first, retrying: with `-join`, 5 of 231 agents joining at once exited on EOF. (Joining a random
            // earlier agent instead left some agents' member lists short of the whole cluster for over a minute.)
            if i > 0 { arguments += ["-retry-join=127.0.0.1:\(basePort)", "-retry-interval=1s"] }
            let agentLog = try FileHandle(forWritingTo: {
                let path = (directory as NSString).appendingPathComponent("agent-\(i).log")
                FileManager.default.createFile(atPath: path, contents: nil)
                return URL(fileURLWithPath: path)
            }())
            let process = Process()
            process.executableURL = URL(fileURLWithPath: serf)
            process.arguments = arguments
            process.standardOutput = agentLog
            process.standardError = agentLog
            process.standardInput = FileHandle.nullDevice
            // One scheduler thread per agent: 232 Go runtimes with two each starved one another on two cores, and the
            // agents then suspected each other in turn (member-failed storms).
            process.environment = ProcessInfo.processInfo.environment.merging(["GOMAXPROCS": "1"]) { $1 }
            try process.run()
            agents.append(process)
            if i == 0 { try await waitFor(seconds: 10) { try await alive(serf, rpc: rpc(0)) >= 1 } }
        }
        try await waitFor(seconds: 60 + Double(nodes) * 0.25) { try await alive(serf, rpc: rpc(0)) >= nodes }
        let startSeconds = Date().timeIntervalSince(started)
        progress("serf: \(nodes) agents alive in \(String(format: "%.1f", startSeconds)) s")
        // Membership news still spreading when the first agent sees everyone; let it settle.
        try await Task.sleep(for: .seconds(2 + Double(nodes) / 50))

        var reachAll: [Double] = []
        var reachEach: [Double] = []
        var incomplete = 0
        var reachedFewest = nodes
        for event in 0..<events {
            let origin = (event * 7) % nodes
            let payload = "e\(event)"
            _ = try await command(serf, ["event", "-coalesce=false", "-rpc-addr=\(rpc(origin))", "bench", payload])
            let deadline = Date().addingTimeInterval(10)
            var stamps: [String: Double] = [:]
            while Date() < deadline {
                stamps = arrivals(log: log, payload: payload)
                if stamps.count >= nodes { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            guard stamps.count >= nodes, let sent = stamps["s\(origin)"] else {
                incomplete += 1
                reachedFewest = min(reachedFewest, stamps.count)
                // A cluster that keeps losing events is reported as such rather than waited on for every event.
                if incomplete >= 3, reachAll.isEmpty { break }
                continue
            }
            let others = stamps.filter { $0.key != "s\(origin)" }.map { ($0.value - sent) * 1_000 }
            reachEach += others
            reachAll.append(others.max() ?? 0)
            try await Task.sleep(for: .milliseconds(100))
        }
        let pss = agents.map { ProcessProbe.kilobytes("Pss", file: "/proc/\($0.processIdentifier)/smaps_rollup") * 1024 }
        return Result(nodes: nodes, reachAll: reachAll, reachEach: reachEach, incomplete: incomplete, reachedFewest: reachedFewest,
                      startSeconds: startSeconds,
                      pssPerAgent: pss.isEmpty ? 0 : pss.reduce(0, +) / pss.count)
    }

    /// The agents' stamps of one event, by agent name (seconds since the epoch).
    static func arrivals(log: String, payload: String) -> [String: Double] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [:] }
        var stamps: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[1] == payload, let stamp = Double(parts[2]) else { continue }
            stamps[String(parts[0])] = min(stamps[String(parts[0])] ?? .infinity, stamp)
        }
        return stamps
    }

    /// How many members the agent at `rpc` sees alive.
    static func alive(_ serf: String, rpc: String) async throws -> Int {
        let output = try await command(serf, ["members", "-rpc-addr=\(rpc)", "-status=alive"])
        return output.split(separator: "\n").filter { !$0.isEmpty }.count
    }

    /// Runs a serf command to completion (bounded to 10 s) and returns its standard output.
    static func command(_ serf: String, _ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: serf)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        return String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    static func waitFor(seconds: Double, _ condition: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw Failure(description: "serf agents did not all join within \(Int(seconds)) s")
    }

    /// SIGTERM to every agent this run started, SIGKILL after 5 s.
    static func stop(_ agents: [Process]) {
        for agent in agents where agent.isRunning { kill(agent.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, agents.contains(where: \.isRunning) { usleep(50_000) }
        for agent in agents where agent.isRunning { kill(agent.processIdentifier, SIGKILL) }
        for agent in agents { agent.waitUntilExit() }
    }
}
