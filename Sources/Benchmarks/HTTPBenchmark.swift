import Demo
import Foundation

/// `shequ bench http`: requests per second and p99 on one street node of a running federation, driven by `wrk`
/// (Debian's): reading a committee board and posting on it, beside `GET /healthz` — the HTTP stack with no work —
/// as the baseline.
public enum HTTPBenchmark {
    public struct Run: Sendable {
        public var name: String
        public var requestsPerSecond: Double
        public var p50: Double
        public var p99: Double
        public var requests: Int
        public var failures: Int
    }

    public static func run(seconds: Int, connections: Int, executable: String, directory: String,
                           progress: @escaping @Sendable (String) -> Void) async throws -> [Run] {
        guard let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw BenchmarkFailure("wrk is not installed (apt-get install -y wrk)")
        }
        let federation = try await ProcessFederation.start(nodes: 7, directory: directory, executable: executable, basePort: 14_000, progress: progress)
        do {
            let street = federation.streets[0]
            let cadre = federation.cadres[street]!
            let base = try federation.endpoint(street).http
            for i in 0..<100 { _ = try await federation.post(at: street, title: "公告 \(i)") }
            let script = (directory as NSString).appendingPathComponent("post.lua")
            try """
            wrk.method = "POST"
            wrk.body = '{"title":"压力测试","body":"每秒多少条公告"}'
            wrk.headers["Content-Type"] = "application/json"
            """.write(toFile: script, atomically: true, encoding: .utf8)
            let board = "\(base)/v1/committees/\(cadre.committee)/boards/announcements/posts"
            var runs: [Run] = []
            for (name, url, extra) in [("GET /healthz (baseline: HTTP alone)", "\(base)/healthz", [String]()),
                                       ("GET a board (20 newest notices)", board + "?limit=20", []),
                                       ("POST a notice", board, ["-s", script])] {
                progress("wrk: \(name) for \(seconds) s ...")
                let output = try ProcessProbe.output(of: wrk, ["-t2", "-c\(connections)", "-d\(seconds)s", "--latency", "--timeout", "5s",
                                               "-H", "Authorization: Bearer \(cadre.token)"] + extra + [url])
                runs.append(try parse(output, name: name))
            }
            await federation.stop()
            return runs
        } catch {
            await federation.stop()
            throw error
        }
    }

    /// Requests/sec, the 50% and 99% latency lines, the request count and non-2xx responses of wrk's report.
    static func parse(_ output: String, name: String) throws -> Run {
        var run = Run(name: name, requestsPerSecond: 0, p50: 0, p99: 0, requests: 0, failures: 0)
        for line in output.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("Requests/sec:"), let value = Double(words.last ?? "") { run.requestsPerSecond = value }
            if words.count == 2, words[0] == "50%" { run.p50 = milliseconds(String(words[1])) }
            if words.count == 2, words[0] == "99%" { run.p99 = milliseconds(String(words[1])) }
            if words.count >= 2, words[1] == "requests", let n = Int(words[0]) { run.requests = n }
            if line.hasPrefix("Non-2xx or 3xx responses:"), let n = Int(words.last ?? "") { run.failures += n }
            if line.hasPrefix("Socket errors:") {
                run.failures += line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.reduce(0, +)
            }
        }
        guard run.requestsPerSecond > 0 else { throw BenchmarkFailure("wrk printed no rate:\n\(output)") }
        return run
    }

    /// wrk's latency with its unit (us, ms, s) in milliseconds.
    static func milliseconds(_ text: String) -> Double {
        for (unit, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1_000.0)] where text.hasSuffix(unit) {
            return (Double(text.dropLast(unit.count)) ?? 0) * scale
        }
        return Double(text) ?? 0
    }

    public static func report(_ runs: [Run], connections: Int) -> String {
        var lines = ["HTTP on one street node (wrk, 2 threads, \(connections) connections):"]
        let baseline = runs.first?.requestsPerSecond ?? 1
        for run in runs {
            lines.append("  " + run.name.padding(toLength: 38, withPad: " ", startingAt: 0) + String(format: " %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  %.2f× the baseline's rate",
                                run.requestsPerSecond, run.p50, run.p99, run.requestsPerSecond / baseline) + (run.failures > 0 ? " (\(run.failures) failed)" : ""))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
