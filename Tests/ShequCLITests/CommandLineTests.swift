import ArgumentParser
import Benchmarks
import Demo
import Foundation
import Gossip
import Governance
import HTTPAPI
import Node
import Replication
import Storage
import ShequTestSupport
import Testing
@testable import shequ

extension MultiProcess {
    @Suite struct CommandLineTests {
        @Test func parsesEveryCommandOfTheContract() throws {
            #expect(Shequ.configuration.version == "shequ \(Release.version) (wire \(Release.minimumWireVersion)-\(Release.wireVersion))")
            #expect(try Shequ.parseAsRoot(["serve", "--config", "street.yaml"]) is Serve)
            let demo = try #require(try Shequ.parseAsRoot(["demo", "--data", "/tmp/d", "--seed", "9"]) as? DemoCommand)
            #expect(demo.data == "/tmp/d" && demo.seed == 9 && demo.topology == "cluster/topologies/demo.yaml")
            #expect(try Shequ.parseAsRoot(["cluster", "up", "t.yaml", "--data", "d"]) is Cluster.Up)
            #expect(try Shequ.parseAsRoot(["cluster", "down", "--data", "d"]) is Cluster.Down)
            #expect(try Shequ.parseAsRoot(["admin", "committee", "--data", "d", "--node", "street.a", "--id", "c1", "--name", "一村",
                                           "--street", "s", "--district", "d"]) is Admin.CreateCommittee)
            #expect(try Shequ.parseAsRoot(["admin", "staff", "--data", "d", "--node", "n", "--role", "cadre", "--name", "王主任", "--committee", "c1"]) is Admin.CreateStaff)
            #expect(try Shequ.parseAsRoot(["bench", "apply", "--quick"]) is Bench.Apply)
            #expect(try Shequ.parseAsRoot(["bench", "rollup", "--quick"]) is Bench.Rollup)
            let query = try #require(try Shequ.parseAsRoot(["query", "sla", "--demo", "data/demo", "--node", "city", "--group-by", "street"]) as? Query)
            #expect(query.rollup == "sla" && query.groupBy == "street" && !query.json)
            // Each rollup takes the parameters its declaration names: the path and query come from `Rollups`, and an option
            // the rollup does not take is refused before anything is asked.
            let hot = try #require(try Shequ.parseAsRoot(["query", "hot-topics", "--url", "http://x", "--token", "t", "--window", "48h", "--limit", "5"]) as? Query)
            let asked = try hot.asked()
            #expect(asked.path == "/v1/rollups/hot-topics" && asked.query == ["window": "48h", "limit": "5"] && asked.layout.count == 2)
            #expect(try (#require(try Shequ.parseAsRoot(["query", "answers", "--url", "http://x", "--token", "t"]) as? Query)).asked().path == "/v1/rollups/answers")
            let refused = try #require(try Shequ.parseAsRoot(["query", "participation", "--url", "http://x", "--token", "t", "--since", "2026-05-01"]) as? Query)
            #expect(throws: ValidationError.self) { try refused.asked() }
            do { _ = try refused.asked() } catch let error as ValidationError {
                #expect(error.message == "participation does not take --since; it takes --group-by")
            }
            let poll = try #require(try Shequ.parseAsRoot(["query", "poll", "v_1", "--url", "http://x", "--token", "t"]) as? Query)
            #expect(try poll.asked().path == "/v1/rollups/polls/v_1" && poll.asked().single)
        }

        /// `shequ query` tables line up in a terminal, Chinese labels counting two columns each.
        /// An option outside its range fails naming the range as the option is written: whole seconds without ".0".
        @Test func anOptionOutOfRangeNamesItsBounds() throws {
            func message(_ check: () throws -> Void) -> String? {
                do { try check() } catch let error as ValidationError { return error.message } catch { return nil }
                return nil
            }
            #expect(message { try (1...3_600.0).check(0.5, option: "--seconds") } == "--seconds must be between 1 and 3600")
            #expect(message { try (0.5...2.5).check(3, option: "--ratio") } == "--ratio must be between 0.5 and 2.5")
            #expect(message { try (7...400).check(6, option: "--nodes") } == "--nodes must be between 7 and 400")
            #expect(message { try (7...400).check(7, option: "--nodes") } == nil)
        }

        @Test func rollupTablesLineUpWithChineseLabels() throws {
            let body: Value = .object(["categories": .list([
                .object(["category": "traffic", "label": "交通出行", "posts": .int(12), "comments": .int(3), "likes": .int(40), "score": .int(55)]),
                .object(["category": "other", "label": "其他", "posts": .int(1), "comments": .int(0), "likes": .int(2), "score": .int(3)]),
            ]), "posts": .list([]), "since": "2026-11-16", "until": "2026-11-22"])
            let lines = RollupTables.render(Rollups.named("hot-topics")!.layout, body).split(separator: "\n").map(String.init)
            let table = lines[1...4]
            // Every column starts at the same display column on every row: "posts" sits over 12 and 1.
            let header = table.first!, traffic = table.dropFirst(2).first!, other = table.last!
            func column(of text: String, in line: String) -> Int { Text.displayWidth(String(line[..<line.range(of: text)!.lowerBound])) }
            #expect(column(of: "posts", in: header) == column(of: "12", in: traffic))
            #expect(column(of: "posts", in: header) == column(of: "1 ", in: other))
            #expect(lines.last == "(no rows)")
        }

        /// The quick form of `shequ bench rollup`: every rollup agrees with its GROUP BY scan.
        @Test func rollupBenchmarkAgreesWithItsScans() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-bench-\(UUID())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let shape = RollupBenchmark.Shape(committees: 6, tickets: 800, iterations: 3)
            let (rows, changes) = try await offPool {
                let (rows, changes, _) = try RollupBenchmark.run(shape: shape, path: directory + "/district.sqlite") { _ in }
                return (rows, changes)
            }
            #expect(rows.count == 6 && changes > 800)
            for row in rows { #expect(row.sameAnswer, "\(row.name)") }
            #expect(RollupBenchmark.report(rows, shape: shape, changes: changes, fillSeconds: 1).contains("worst rollup p99"))
        }

        /// `shequ admin staff` signs what it writes with the node's key, and refuses to write unsigned changes that every
        /// peer would refuse, unless the node is standalone.
        @Test func adminWritesAreSignedWithTheNodesKey() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-sign-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let publicKey = try NodeKey.generate(path: directory + "/node.key")
            let base = ["admin", "staff", "--data", directory + "/data", "--node", "street.a", "--role", "street_officer", "--name", "值班", "--unit", "a"]
            var unsigned = try Shequ.parseAsRoot(base)
            #expect(throws: (any Error).self) { try unsigned.run() }
            var signed = try Shequ.parseAsRoot(base + ["--key", directory + "/node.key"])
            try signed.run()
            let changes = try Store(path: directory + "/data/node.sqlite", nodeID: "street.a").readNow { try $0.changes(origin: "street.a", afterSeq: 0, limit: 10) }
            #expect(changes.count == 1)
            #expect(ChangeSignature.verify(changes[0], publicKey: try #require(ChangeSignature.publicKey(base64: publicKey))))
        }

        /// `shequ admin revoke`: the member's tokens stop working at once; a member without tokens is an error.
        @Test func revokingAMembersTokensSignsThemOut() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-revoke-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let options = try Admin.NodeOptions.parse(["--data", directory, "--node", "street.a"])
            let (member, token) = try options.open().writeNow { tx -> (String, String) in
                let id = tx.mintID(.member)
                try tx.append(Member.staff(id: id, role: .streetOfficer, displayName: "街道", committee: nil, unit: "s", scope: .street("s"), author: "street.a"))
                return (id, try tx.issueToken(member: id))
            }
            #expect(try options.open().readNow { try $0.member(forToken: token) }?.id == member)
            var revoke = try #require(try Shequ.parseAsRoot(["admin", "revoke", "--data", directory, "--node", "street.a", "--member", member]) as? Admin.Revoke)
            try revoke.run()
            #expect(try options.open().readNow { try $0.member(forToken: token) } == nil)
            #expect(throws: (any Error).self) { try revoke.run() }
        }

        /// The quick form of `shequ bench compress`: real batches compress and come back whole, beside the lz4 tool.
        @Test func compressionBenchmarkComparesWithTheLZ4Tool() throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-compress-\(UUID())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let result = try CompressionBenchmark.run(changes: 1_200, minimumSeconds: 0.05, directory: directory)
            #expect(result.changes == 1_200 && result.messages == 3)
            #expect(result.frameCompressedBytes < result.payloadBytes / 2, "signed change batches compress at least 2×")
            #expect(result.wireBytes < result.uncompressedWireBytes && result.frameCompressMBps > 0 && result.frameDecompressMBps > 0)
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/lz4") {
                let tool = try #require(result.tool, "the lz4 tool's figures were not read")
                #expect(abs(Double(tool.compressedBytes) / Double(result.wholeCompressedBytes) - 1) < 0.1, "the same bytes, the same ratio")
            }
            #expect(result.report.contains("shequ / lz4 tool"))
        }

        @Test func refusesBadArguments() {
            #expect(throws: (any Error).self) { try Shequ.parseAsRoot(["serve"]) }
            #expect(throws: (any Error).self) { try Shequ.parseAsRoot(["demo", "--seed", "eighty"]) }
            #expect(throws: (any Error).self) { try Shequ.parseAsRoot(["cluster", "up", "--data", "d"]) }
            #expect(throws: (any Error).self) {
                try Shequ.parseAsRoot(["admin", "committee", "--data", "d", "--node", "n", "--id", "bad id!", "--name", "x", "--street", "s", "--district", "d"])
            }
        }

        @Test func readsANodeConfigurationFromYAML() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-config-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let written = NodeConfiguration(id: "street.yuepu", role: "street", unit: "yuepu", httpPort: 18_080, dataDirectory: "nodes/yuepu")
            let path = directory.appendingPathComponent("street.yaml").path
            try written.yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let read = try await NodeConfiguration.load(path: path)
            #expect(read.id == "street.yuepu" && read.role == "street" && read.unit == "yuepu" && read.httpPort == 18_080)
            #expect(read.dataDirectory == directory.appendingPathComponent("nodes/yuepu").path)
            #expect(read.rateLimits == .standard)
            // Values YAML would read as something else when written plain come back as written.
            var hostile = NodeConfiguration(id: "0123", role: "street", unit: "yes", httpPort: 18_081, dataDirectory: "数据: #1/yes")
            hostile.rateLimits = RateLimits(tokenPerMinute: 60, tokenBurst: 10, addressPerMinute: 600, addressBurst: 100)
            hostile.connections = ConnectionPolicy(headerTimeoutMillis: 2_500, idleTimeoutMillis: 30_000, maxConnections: 900, maxConnectionsPerAddress: 40,
                                                   trustedProxies: [try AddressRange("10.1.0.0/16"), try AddressRange("::1")])
            hostile.topologyPath = "topology.yaml"
            hostile.keyPath = "keys/0123.key"
            hostile.gossipTailProbeMillis = 25
            hostile.pageCache = PageCacheBudget(mebibytes: 96)
            try hostile.yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let again = try await NodeConfiguration.load(path: path)
            #expect(again.gossipTailProbeMillis == 25 && read.gossipTailProbeMillis == nil, "\(hostile.yaml)")
            #expect(again.id == "0123" && again.unit == "yes" && again.httpPort == 18_081 && again.rateLimits == hostile.rateLimits, "\(hostile.yaml)")
            #expect(again.dataDirectory == directory.appendingPathComponent("数据: #1/yes").path, "\(hostile.yaml)")
            #expect(again.connections == hostile.connections, "\(hostile.yaml)")
            #expect(again.pageCache.kibibytes == 96 * 1_024 && read.pageCache == .standard, "\(hostile.yaml)")
            try "node:\n  id: \"a\"\nstorage:\n  pageCacheMiB: 2\n".write(toFile: path, atomically: true, encoding: .utf8)
            await #expect(throws: NodeConfiguration.Invalid.self) { try await NodeConfiguration.load(path: path) }
            try "node:\n  id: \"a\"\nhttp:\n  trustedProxies: [\"10.0.0.0/33\"]\n".write(toFile: path, atomically: true, encoding: .utf8)
            await #expect(throws: NodeConfiguration.Invalid.self) { try await NodeConfiguration.load(path: path) }
            try "node:\n  id: \"bad id\"\n".write(toFile: path, atomically: true, encoding: .utf8)
            await #expect(throws: NodeConfiguration.Invalid.self) { try await NodeConfiguration.load(path: path) }
        }

        /// The quick form of `shequ bench apply`, so the benchmark cannot rot.
        @Test func applyBenchmarkRunsAndEveryChangeLands() async throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-bench-\(UUID())").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let changes = try await offPool { try ApplyBenchmark.makeChanges(count: 1_500) }
            #expect(changes.count == 1_500)
            let result = try await offPool { try ApplyBenchmark.run(changes: changes, batch: 500, directory: directory) }
            #expect(result.applyRate > 0 && result.plainRate > 0 && result.floorRate > 0)
            #expect(result.report.contains("ratio") && result.report.contains("batches of 500"))
            #expect(result.largestLogBytes > 0, "the write-ahead log was measured")
        }
    }

    @Suite struct DemoSeedingTests {
        /// `shequ demo --seed-only` on the committed demo topology: accounts for every role, data on every street.
        @Test func demoSeedsEveryCommitteeAndWritesAccountsForEveryRole() async throws {
            let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-demo-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let demo = try #require(try Shequ.parseAsRoot(["demo", "--data", directory, "--seed-only",
                                                            "--topology", repo.appendingPathComponent("cluster/topologies/demo.yaml").path]) as? DemoCommand)
            try await offPool { try demo.seedIfNeeded(directory: directory, keys: repo.appendingPathComponent("cluster/keys/demo").path) }
            let accounts = try JSONFile.read(directory + "/demo-accounts.json", as: DemoAccount.init)
            let committees = Set(accounts.compactMap(\.committee))
            #expect(committees.count == 24)
            for committee in committees {
                #expect(Set(accounts.filter { $0.committee == committee }.map(\.role)) == ["resident", "cadre", "secretary"], "\(committee)")
            }
            #expect(accounts.filter { $0.role == "street_officer" }.count == 4)
            #expect(accounts.filter { $0.role == "district_officer" }.count == 2)
            #expect(accounts.filter { $0.role == "city_officer" }.count == 1)
            #expect(Set(accounts.map(\.token)).count == accounts.count)
            // Four weeks of history before today: tickets were raised on most days, and many answered after minutes or hours.
            let databases = try FileManager.default.subpathsOfDirectory(atPath: directory).filter { $0.hasSuffix("node.sqlite") && $0.contains("yuepu") }
            let path = directory + "/" + (try #require(databases.first))
            let store = try Store(path: path, nodeID: "street.yuepu")
            try store.readNow { view in
                let days = try view.ticketRollup(groupBy: .day, scope: .street("yuepu"))
                #expect(days.count >= 20, "\(days.map(\.key))")
                let sla = try #require(try view.slaRollup(groupBy: .street, scope: .street("yuepu"), nowMillis: view.nowMillis).first)
                #expect((sla.firstResponseP90Minutes ?? 0) > 60)
            }
        }
    }
}
