import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Gossip
import Governance
import Node
import Replication
import ShequTestSupport
import Storage
import Testing

extension MultiProcess {
    /// The demo-shaped federation as real processes on loopback (issue 3's "done when").
    @Suite(.serialized) struct FederationTests {
        @Test(.timeLimit(.minutes(4)))
        func replicatesSurvivesPartitionAndSIGKILLAndConverges() async throws {
            let federation = try await TestFederation.start()
            defer { federation.stop() }
            let x = federation.committee
            let (street, district, city) = (federation.street, federation.district, federation.city)

            // A resident joins at the street and is approved: their personal data must stay there.
            let code = try await federation.call(street, "GET", "/v1/committees/\(x)/join-code", token: federation.cadre)
            let joined = try await federation.call(street, "POST", "/v1/committees/\(x)/join", token: nil, json: [
                "joinCode": code["joinCode"] as! String, "realName": "赵桂英", "phone": "13600001111", "building": "5号楼", "room": "302", "birthYear": 1950,
            ])
            let residentID = try #require(joined["memberId"] as? String)
            _ = try await federation.call(street, "POST", "/v1/committees/\(x)/members/\(residentID)/approve", token: federation.cadre)

            // A post written at a street is readable at its district and at the city.
            let post = try await federation.call(street, "POST", "/v1/committees/\(x)/boards/announcements/posts", token: federation.cadre,
                                                 json: ["title": "停水通知", "body": "本周四停水清洗水箱。"])
            let postID = try #require(post["id"] as? String)
            let started = Date()
            try await federation.eventually("post at district") { try await federation.status(district, "/v1/posts/\(postID)", token: federation.districtOfficer) == 200 }
            try await federation.eventually("post at city") { try await federation.status(city, "/v1/posts/\(postID)", token: federation.cityOfficer) == 200 }
            let latency = Date().timeIntervalSince(started)
            print("street→city visible after \(Int(latency * 1000)) ms")

            // A district-wide announcement written at the district is readable at its street.
            let survey = try await federation.call(district, "POST", "/v1/committees/\(x)/boards/district-survey/posts", token: federation.districtOfficer,
                                                   json: ["title": "宝山大调研", "body": "请居民填写社区需求问卷。"])
            let surveyID = try #require(survey["id"] as? String)
            try await federation.eventually("district board at street") {
                let page = try await federation.call(street, "GET", "/v1/committees/\(x)/boards/district-survey/posts", token: federation.cadre)
                return ((page["items"] as? [[String: Any]]) ?? []).contains { $0["id"] as? String == surveyID }
            }

            // A ticket escalated at the street and dispatched at the district has one history on all three nodes.
            let ticket = try await federation.call(street, "POST", "/v1/committees/\(x)/tickets", token: federation.cadre,
                                                   json: ["category": "facilities", "title": "路灯不亮", "location": ["address": "东门"]])
            let ticketID = try #require(ticket["id"] as? String)
            _ = try await federation.call(street, "POST", "/v1/tickets/\(ticketID)/events", token: federation.cadre, json: ["type": "escalate"])
            _ = try await federation.call(street, "POST", "/v1/tickets/\(ticketID)/events", token: federation.streetOfficer, json: ["type": "escalate"])
            try await federation.eventually("ticket at district") { try await federation.status(district, "/v1/tickets/\(ticketID)", token: federation.districtOfficer) == 200 }
            let dispatched = try await federation.call(district, "POST", "/v1/tickets/\(ticketID)/events", token: federation.districtOfficer,
                                                       json: ["type": "assign", "assignee": "区绿化市容局", "note": "派单"])
            #expect(dispatched["level"] as? String == "district")
            func history(_ node: TestFederation.Node) async throws -> [String] {
                let t = try await federation.call(node, "GET", "/v1/tickets/\(ticketID)", token: node == street ? federation.cadre : node == district ? federation.districtOfficer : federation.cityOfficer)
                return ((t["history"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
            }
            try await federation.eventually("same ticket history everywhere") {
                let (a, b, c) = (try await history(street), try await history(district), try await history(city))
                return a.count == 3 && a == b && b == c
            }

            // Every rollup answers over the replicas at the district and the city, and the command centre shows the committee.
            for node in [district, city] {
                let token = federation.token(for: node)
                try await federation.eventually("rollups at \(node.id)") {
                    let tickets = try await federation.call(node, "GET", "/v1/rollups/tickets?groupBy=committee", token: token)
                    let participation = try await federation.call(node, "GET", "/v1/rollups/participation", token: token)
                    let members = ((participation["items"] as? [[String: Any]]) ?? []).first { $0["key"] as? String == x }?["members"] as? Int
                    return ((tickets["items"] as? [[String: Any]]) ?? []).contains { $0["key"] as? String == x && $0["total"] as? Int == 1 }
                        && (members ?? 0) >= 1
                }
                for path in ["/v1/rollups/sla", "/v1/rollups/hot-topics?window=7d", "/v1/rollups/polls", "/dashboard", "/dashboard/committees/\(x)"] {
                    #expect(try await federation.status(node, path, token: token) == 200, "\(node.id)\(path)")
                }
                // Open311 on every node, over the tickets it holds.
                let (status, body) = try await federation.request(node, "GET", "/open311/v2/requests/\(ticketID).json", token: nil, json: nil)
                #expect(status == 200 && ((body as? [[String: Any]])?.first?["agency_responsible"] as? String) == "区网格化平台")
            }

            // Partition: the street is cut from district and city; both sides keep writing.
            try await federation.cut(street, from: [district, city])
            for i in 0..<5 {
                let r = try await federation.call(street, "POST", "/v1/committees/\(x)/boards/announcements/posts", token: federation.cadre,
                                                  json: ["title": "断网期间公告 \(i)", "body": "街道照常受理。"])
                #expect(r["id"] != nil)
            }
            let duringCut = try await federation.call(district, "POST", "/v1/tickets/\(ticketID)/events", token: federation.districtOfficer,
                                                      json: ["type": "comment", "note": "已派城管处理"])
            #expect(duringCut["id"] as? String == ticketID)
            try await Task.sleep(for: .seconds(1))
            #expect(try await federation.digest(street, x) != federation.digest(district, x))
            try await federation.heal()
            try await federation.eventually("digests equal after healing", seconds: 30) { try await federation.converged(x) }

            // SIGKILL in the middle of writes, restart, catch up.
            async let writes: Void = {
                for i in 0..<20 {
                    _ = try? await federation.call(street, "POST", "/v1/committees/\(x)/boards/announcements/posts", token: federation.cadre,
                                                   json: ["title": "写入 \(i)", "body": "测试"])
                }
            }()
            try await Task.sleep(for: .milliseconds(150))
            federation.kill(street)
            await writes
            _ = try await federation.call(district, "POST", "/v1/tickets/\(ticketID)/events", token: federation.districtOfficer,
                                          json: ["type": "comment", "note": "街道重启期间"])
            try await federation.restart(street)
            try await federation.eventually("digests equal after restart", seconds: 30) { try await federation.converged(x) }
            let integrity = try federation.integrity(street)
            #expect(integrity == "ok")

            // The failure detector sees every member alive again once the restarted street is back.
            try await federation.eventually("every member alive in the city's view", seconds: 40) {
                let members = try await federation.call(city, "GET", "/v1/cluster/members", token: federation.cityOfficer)
                let states = ((members["items"] as? [[String: Any]]) ?? []).compactMap { $0["state"] as? String }
                return states.count == federation.topology.nodes.count - 1 && states.allSatisfy { $0 == "alive" }
            }

            // The city's /metrics, from a real process, is valid for promtool and carries replication figures.
            let metrics = try await federation.text(city, "/metrics")
            for name in ["shequ_gossip_bytes_total", "shequ_changes_applied_total", "shequ_sqlite_write_duration_seconds_bucket",
                         "shequ_swim_members", "shequ_replication_lag_changes", "shequ_http_requests_total", "shequ_gossip_compression_ratio"] {
                #expect(metrics.contains(name), "missing \(name)")
            }
            if let (passed, report) = try Promtool.check(metrics) { #expect(passed, "promtool: \(report)") }

            // Residents' personal data stays on the street: the replicas hold none.
            #expect(try federation.residentRows(street) == 1)
            #expect(try federation.residentRows(district) == 0 && federation.residentRows(city) == 0)
            let replicated = try await federation.call(city, "GET", "/v1/committees/\(x)/members", token: federation.cityOfficer)
            let names = ((replicated["items"] as? [[String: Any]]) ?? []).compactMap { $0["displayName"] as? String }
            #expect(names.contains("赵**") && !names.contains("赵桂英"))

            // A compressed payload captured from a real connection decodes with the lz4 tool into a message.
            let captures = try FileManager.default.contentsOfDirectory(atPath: federation.directory + "/capture").filter { $0.hasSuffix(".lz4") }
            #expect(!captures.isEmpty)
            if let first = captures.sorted().first, FileManager.default.isExecutableFile(atPath: "/usr/bin/lz4") {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/lz4")
                process.arguments = ["-d", "-c", federation.directory + "/capture/" + first]
                let pipe = Pipe()
                process.standardOutput = pipe
                try process.run()
                let decoded = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                #expect(process.terminationStatus == 0)
                #expect(try GossipMessage(payload: Array(decoded)) != .swim(.nack(seq: 0)))
            }

            // Schemathesis over the routes only a node with a replication service has, on a real street process as its
            // officer (HTTPAPITests covers the rest); the fault switch it fuzzes is why this comes last.
            let config = """
            base-url = "\(street.http)"
            headers = { Authorization = "Bearer \(federation.streetOfficer)" }
            [generation]
            max-examples = 10
            """
            let (status, report) = try await offPool {
                try Schemathesis.run(config: config, in: federation.directory, arguments: ["--include-path-regex", "^/v1/cluster/|^/metrics$"])
            }
            #expect(status == 0, "schemathesis found failures:\n\(report)")
            #expect(Schemathesis.tested(report) == 5, "\(report)")
        }
    }
}
