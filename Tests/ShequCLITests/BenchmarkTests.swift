@testable import Benchmarks
import Foundation
import ShequTestSupport
import Testing
@testable import shequ

extension MultiProcess {
    /// The quick form of every bench, so none can rot: `shequ bench all --quick` runs as a process, and what it prints is
    /// checked — every phase produced its figures, every write arrived, the cut district converged.
    @Suite struct BenchmarkTests {
        @Test(.timeLimit(.minutes(8)))
        func everyBenchRunsInItsQuickForm() async throws {
            // Minutes of a child process: waited for off the cooperative pool, which the other suites' servers need.
            let (status, output, errors) = try await offPool {
                try Command.runKeepingErrors("/usr/bin/timeout", ["420", TestFederation.executable, "bench", "all", "--quick"])
            }
            // The figures are on standard output; the progress, and why a bench failed, on standard error.
            #expect(status == 0, "\(output.suffix(3_000))\n--- standard error:\n\(errors.suffix(3_000))")
            for expected in ["shequ / lz4 tool", "worst rollup p99", "street → district", "street → city", "replicas reached",
                             "idle:", "under load:", "equal digests on every node:", "GET a board", "POST a notice", "simulator: 7 nodes",
                             "TLS / TCP: p50", "photo lane:", "every photo at the city after",
                             "dispatch at the district → stream:", "emulated network on every gossip link: 10 ± 2 ms", "street → city p99 / RTT",
                             "bench city-peak: 7 real", "street commit → city apply, every change:", "city CPU per change applied:"] {
                #expect(output.contains(expected), "missing \(expected) in:\n\(output.suffix(3_000))")
            }
            #expect(!output.contains("never arrived") && !output.contains("NOT within") && !output.contains("failed)")
                    && !output.contains("not at the city when stopped"), "\(output.suffix(3_000))")
            if SerfBaseline.executable != nil { #expect(output.contains("serf, 7 agents, one → all"), "\(output.suffix(3_000))") }
        }

        /// wrk's report is read for rate, p50, p99, requests and failures, whatever the latency unit.
        @Test func readsWrksReport() throws {
            let report = """
            Running 2s test @ http://127.0.0.1:14001/healthz
              2 threads and 16 connections
              Latency Distribution
                 50%  412.00us
                 75%  600.00us
                 90%    1.10ms
                 99%    2.50s
              20480 requests in 2.00s, 1.95MB read
              Non-2xx or 3xx responses: 3
            Requests/sec:  10240.55
            """
            let run = try HTTPBenchmark.parse(report, name: "x")
            #expect(run.requestsPerSecond == 10240.55 && run.requests == 20480 && run.failures == 3)
            #expect(abs(run.p50 - 0.412) < 1e-9 && run.p99 == 2_500)
            #expect(throws: (any Error).self) { try HTTPBenchmark.parse("connection refused", name: "x") }
        }

        /// The plot has a point per size on each curve, and labels its sizes.
        @Test func plotsEachSize() {
            var small = ReplicationBenchmark.Result(nodes: 7), large = ReplicationBenchmark.Result(nodes: 51)
            small.toCity = [2, 3, 4]
            large.toCity = [5, 6, 40]
            small.idlePSS = [20 << 20]
            large.idlePSS = [22 << 20]
            let svg = BenchPlot.svg([small, large])
            #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
            #expect(svg.contains(">7</text>") && svg.contains(">51</text>"))
            #expect(svg.components(separatedBy: "<polyline").count - 1 >= 4)
        }
    }
}
