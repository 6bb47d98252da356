import Foundation
import Governance
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import Storage
import Prometheus
import ShequTestSupport
import Testing

/// The seed stories of mission.md, driven over HTTP against a real listening server.
@Suite struct SeedStoriesTests {
    @Test func residentJoinsPostsMentionsAndTheCadreAnswers() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("yuepu-07")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            // Join: pending until approved; a pending member cannot read the boards.
            let joined = try await api.call(.post, "/v1/committees/yuepu-07/join", json: .object([
                "joinCode": .string(code), "realName": .string("李秀英"), "phone": .string("13912345678"), "building": .string("3号楼"),
                "room": .string("502"), "birthYear": .int(1958), "partyMember": .bool(false),
            ]))
            #expect(joined.status == .accepted && joined["status"] == .string("pending"))
            let resident = joined["token"].string!, residentID = joined["memberId"].string!
            #expect(try await api.call(.get, "/v1/committees/yuepu-07/boards", token: resident).status == .forbidden)
            let pending = try await api.call(.get, "/v1/committees/yuepu-07/members?status=pending", token: cadre)
            #expect(pending["items"].list?.compactMap { $0.object?["id"]?.string } == [residentID])
            #expect(try await api.call(.get, "/v1/committees/yuepu-07/members?status=pending", token: resident).status == .forbidden)
            #expect(try await api.call(.post, "/v1/committees/yuepu-07/members/\(residentID)/approve", token: cadre).status == .ok)
            // Wrong join code, and the real name never leaves in the member view.
            let wrong = try await api.call(.post, "/v1/committees/yuepu-07/join", json: .object([
                "joinCode": .string("WRONG123"), "realName": .string("张三"), "phone": .string("13912345678"), "building": .string("1"),
                "room": .string("1"), "birthYear": .int(1990),
            ]))
            #expect(wrong.status == .forbidden && wrong["error"].object?["code"] == .string("wrong_join_code"))

            // 身边事: the resident posts and @mentions the cadre.
            let me = try await api.call(.get, "/v1/me", token: cadre)
            let cadreID = me["id"].string!
            let post = try await api.call(.post, "/v1/committees/yuepu-07/boards/around-me/posts", token: resident, json: .object([
                "title": .string("树胶滴在车上"), "body": .string("12号楼前的树掉树胶，能否修剪？"), "mentions": .strings([cadreID]),
            ]))
            #expect(post.status == .created)
            let pid = post["id"].string!
            // Residents may not post announcements, nor in the party corner.
            #expect(try await api.call(.post, "/v1/committees/yuepu-07/boards/announcements/posts", token: resident,
                                       json: .object(["title": .string("x"), "body": .string("y")])).status == .forbidden)
            // The cadre sees the mention and answers.
            let inbox = try await api.call(.get, "/v1/messages", token: cadre)
            #expect(inbox["mentions"].list?.compactMap { $0.object?["post"]?.string } == [pid])
            #expect(try await api.call(.post, "/v1/posts/\(pid)/comments", token: cadre, json: .object(["body": .string("已联系绿化公司，本周修剪。")])).status == .created)
            // Likes are idempotent and counted.
            #expect(try await api.call(.put, "/v1/posts/\(pid)/like", token: resident)["likes"] == .int(1))
            #expect(try await api.call(.put, "/v1/posts/\(pid)/like", token: resident)["likes"] == .int(1))
            #expect(try await api.call(.put, "/v1/posts/\(pid)/like", token: cadre)["likes"] == .int(2))
            #expect(try await api.call(.delete, "/v1/posts/\(pid)/like", token: cadre)["likes"] == .int(1))
            let read = try await api.call(.get, "/v1/posts/\(pid)", token: resident)
            #expect(read["likes"] == .int(1) && read["comments"].list?.count == 1)
            // Hot topics: the post (category "other"), its comment and its one remaining like, in today's window.
            let hot = try await api.call(.get, "/v1/rollups/hot-topics?window=1d", token: cadre)
            #expect(hot["categories"] == .list([.object(["category": "other", "label": "其他", "posts": .int(1), "comments": .int(1), "likes": .int(1), "score": .int(3)])]))
            #expect(hot["posts"].list?.first?.object?["title"] == .string("树胶滴在车上"))
            #expect(try await api.call(.get, "/v1/rollups/hot-topics?window=7x", token: cadre).status == .unprocessableContent)
            // Only the author edits; a cadre may delete.
            #expect(try await api.call(.patch, "/v1/posts/\(pid)", token: cadre, json: .object(["title": .string("改")])).status == .forbidden)
            #expect(try await api.call(.patch, "/v1/posts/\(pid)", token: resident, json: .object(["title": .string("树胶问题")]))["title"] == .string("树胶问题"))
            #expect(try await api.call(.delete, "/v1/posts/\(pid)", token: cadre).status == .noContent)
            #expect(try await api.call(.get, "/v1/posts/\(pid)", token: resident).status == .notFound)
            // Errors have the api.md shape.
            #expect(try await api.call(.get, "/v1/committees", token: "nope").status == .unauthorized)
            let malformed = try await api.call(.post, "/v1/committees/yuepu-07/tickets", token: resident, raw: "{\"title\":")
            #expect(malformed.status == .badRequest && malformed["error"].object?["code"] == .string("bad_request"))
        }
        try node.expectIntegrity()
    }

    @Test func metricsAreInThePrometheusTextFormatAndPassPromtool() async throws {
        let node = try TestNode()
        let registry = PrometheusCollectorRegistry()
        let server = APIServer(store: node.store, identity: node.server.identity, registry: registry)
        let app = Application(router: server.router())
        try await app.test(.live) { client in
            let text = try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                return String(buffer: response.body)
            }
            #expect(text.contains("# TYPE shequ_change_log_size gauge"))
            #expect(text.contains("shequ_build_info{version=\"\(Release.version)\",wire=\"\(Release.wireVersion)\",wire_min=\"\(Release.minimumWireVersion)\"} 1"), "\(text)")
            if let (passed, report) = try Promtool.check(text) { #expect(passed, "promtool: \(report)") }
        }
    }

    @Test func fiveHundredResidentsVoteOnThreeGardenDesigns() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("garden")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            var voters: [String] = []
            for i in 0..<500 { voters.append(try await api.joinAndApprove("garden", code: code, cadre: cadre, room: "\(i)").1) }
            let options: Value = .strings(["方案一", "方案二", "方案三"])
            let closes = Value.string("2026-05-30T18:00:00+08:00")
            let poll = try await api.call(.post, "/v1/committees/garden/polls", token: cadre, json: .object([
                "title": .string("中心花园改造"), "kind": .string("proposal"), "options": options, "maxChoices": .int(1), "closesAt": closes, "quorum": .int(300),
            ]))
            #expect(poll.status == .created)
            let secret = try await api.call(.post, "/v1/committees/garden/polls", token: cadre, json: .object([
                "title": .string("年终考核"), "kind": .string("evaluation"), "options": .strings(["满意", "不满意"]), "secret": .bool(true), "closesAt": closes,
            ]))
            let pollID = poll["id"].string!, secretID = secret["id"].string!
            var expected = [0, 0, 0]
            for (i, token) in voters.enumerated() {
                let choice = (i * 7) % 3
                // Every tenth voter first votes otherwise, then changes their mind: the re-vote replaces.
                if i % 10 == 0 { try await api.call(.put, "/v1/polls/\(pollID)/ballot", token: token, json: .object(["choices": .strings(["方案\(["一", "二", "三"][(choice + 1) % 3])"])])) }
                let cast = try await api.call(.put, "/v1/polls/\(pollID)/ballot", token: token, json: .object(["choices": .strings(["方案\(["一", "二", "三"][choice])"])]))
                #expect(cast.status == .ok)
                expected[choice] += 1
                if i < 50 { try await api.call(.put, "/v1/polls/\(secretID)/ballot", token: token, json: .object(["choices": .strings([i % 5 == 0 ? "不满意" : "满意"])])) }
            }
            #expect(try await api.call(.put, "/v1/polls/\(pollID)/ballot", token: cadre, json: .object(["choices": .strings(["方案一", "方案二"])])).status == .unprocessableContent)
            let open = try await api.call(.get, "/v1/polls/\(pollID)", token: voters[0])
            #expect(open["tally"] == .object(["方案一": .int(Int64(expected[0])), "方案二": .int(Int64(expected[1])), "方案三": .int(Int64(expected[2]))]))
            #expect(open["ballots"] == .int(500) && open["quorumMet"] == .bool(true))
            // A secret poll shows nothing before its close, not even the voter's own choice.
            let hidden = try await api.call(.get, "/v1/polls/\(secretID)", token: voters[0])
            #expect(hidden["tally"] == .null && hidden["myChoices"] == .null && hidden["voted"] == .bool(true) && hidden["ballots"] == .int(50))
            // The poll rollup hides a secret poll's results until the close too, and lists no poll as closed yet.
            #expect(try await api.call(.get, "/v1/rollups/polls/\(secretID)", token: cadre)["results"] == .null)
            #expect(try await api.call(.get, "/v1/rollups/polls", token: cadre)["items"] == .list([]))
            #expect(try await api.call(.get, "/v1/rollups/polls/\(secretID)", token: voters[0]).status == .forbidden)
            // Close; a ballot after the close is refused and never counted.
            node.advance(hours: 1)
            #expect(try await api.call(.post, "/v1/polls/\(pollID)/close", token: voters[1]).status == .forbidden)
            #expect(try await api.call(.post, "/v1/polls/\(pollID)/close", token: cadre).status == .ok)
            #expect(try await api.call(.post, "/v1/polls/\(secretID)/close", token: cadre).status == .ok)
            let late = try await api.call(.put, "/v1/polls/\(pollID)/ballot", token: voters[2], json: .object(["choices": .strings(["方案三"])]))
            #expect(late.status == .conflict && late["error"].object?["code"] == .string("poll_closed"))
            #expect(try await api.call(.get, "/v1/polls/\(pollID)", token: cadre)["ballots"] == .int(500))
            let revealed = try await api.call(.get, "/v1/polls/\(secretID)", token: cadre)
            #expect(revealed["tally"] == .object(["满意": .int(40), "不满意": .int(10)]))
            // Rollups: both polls closed, turnout against the 500 approved members (the cadre is one more member).
            let results = try await api.call(.get, "/v1/rollups/polls", token: cadre)
            #expect(results["items"].list?.count == 2)
            let garden = try await api.call(.get, "/v1/rollups/polls/\(pollID)", token: cadre)
            #expect(garden["ballots"] == .int(500) && garden["closed"] == .bool(true) && garden["quorumMet"] == .bool(true))
            #expect(garden["results"] == .list((0..<3).map { .object(["option": .string("方案\(["一", "二", "三"][$0])"), "votes": .int(Int64(expected[$0]))]) }))
            let evaluation = try await api.call(.get, "/v1/rollups/polls/\(secretID)", token: cadre)
            #expect(evaluation["results"] == .list([.object(["option": "满意", "votes": .int(40)]), .object(["option": "不满意", "votes": .int(10)])]))
            let members = try await api.call(.get, "/v1/rollups/participation", token: cadre)["items"].list?.first?.object ?? [:]
            #expect(members["members"] == evaluation["electorate"] && members["households"] == .int(500))
            #expect(evaluation["turnout"] == .string(String(format: "%.3f", 50.0 / Double(members["members"]?.int ?? 1))))
        }
        // The secret ballots in the replicated log never name the voter.
        try node.store.readNow { view in
            let ballots = try view.changes(origin: "street.test", afterSeq: 0, limit: 100_000).filter { $0.kind == "ballot" }
            #expect(ballots.filter { $0.fields["voter"]?.string?.hasPrefix("anon-") == true }.count == 50)
        }
        try node.expectIntegrity()
    }

    @Test func ticketsAreAcknowledgedEscalatedRatedOrLeftOverdue() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c-ticket", street: "yuepu")
        let officer = try node.staffToken(role: .streetOfficer, unit: "yuepu")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (_, resident) = try await api.joinAndApprove("c-ticket", code: code, cadre: cadre)
            let photo = try #require(try await api.uploadPhotos([SamplePhotos.encoded(320, 240, "jpeg")], token: resident).first)
            func report(_ title: String) async throws -> String {
                let created = try await api.call(.post, "/v1/committees/c-ticket/tickets", token: resident, json: .object([
                    "category": .string("greening"), "title": .string(title), "description": .string("请处理"), "photos": .strings([photo]),
                    "location": .object(["address": .string("12号楼"), "lat": .string("31.41"), "long": .string("121.44")]),
                ]))
                #expect(created.status == .created && created["stage"] == .string("submitted") && created["level"] == .string("committee"))
                return created["id"].string!
            }
            let sap = try await report("树胶滴在车上"), lamp = try await report("路灯不亮"), ignored = try await report("垃圾厢房异味")
            // Acknowledged within the SLA.
            node.advance(hours: 2)
            #expect(try await api.call(.post, "/v1/tickets/\(sap)/events", token: resident, json: .object(["type": .string("acknowledge")])).status == .forbidden)
            let acked = try await api.call(.post, "/v1/tickets/\(sap)/events", token: cadre, json: .object(["type": .string("acknowledge"), "note": .string("收到")]))
            #expect(acked["stage"] == .string("acknowledged") && acked["overdue"] == .bool(false))
            // Escalated to the street, resolved there, rated by the resident.
            #expect(try await api.call(.post, "/v1/tickets/\(lamp)/events", token: cadre, json: .object(["type": .string("escalate")]))["level"] == .string("street"))
            #expect(try await api.call(.post, "/v1/tickets/\(lamp)/events", token: officer, json: .object(["type": .string("start")]))["stage"] == .string("in_progress"))
            #expect(try await api.call(.post, "/v1/tickets/\(lamp)/events", token: resident, json: .object(["type": .string("rate"), "rating": .int(5)])).status == .conflict)
            #expect(try await api.call(.post, "/v1/tickets/\(lamp)/events", token: officer, json: .object(["type": .string("resolve"), "note": .string("已更换灯泡")]))["stage"] == .string("resolved"))
            #expect(try await api.call(.post, "/v1/tickets/\(lamp)/events", token: resident, json: .object(["type": .string("rate"), "rating": .int(9)])).status == .unprocessableContent)
            let rated = try await api.call(.post, "/v1/tickets/\(lamp)/events", token: resident, json: .object(["type": .string("rate"), "rating": .int(5)]))
            #expect(rated["stage"] == .string("closed") && rated["rating"] == .int(5) && rated["level"] == .string("street"))
            #expect(rated["history"].list?.compactMap { $0.object?["type"]?.string } == ["escalate", "start", "resolve", "rate"])
            // Left alone: overdue after 15 hours.
            node.advance(hours: 12)
            #expect(try await api.call(.get, "/v1/tickets/\(ignored)", token: cadre)["overdue"] == .bool(false))
            node.advance(hours: 1.5)
            #expect(try await api.call(.get, "/v1/tickets/\(ignored)", token: cadre)["overdue"] == .bool(true))
            let overdue = try await api.call(.get, "/v1/committees/c-ticket/tickets?overdue=true", token: cadre)
            #expect(overdue["items"].list?.compactMap { $0.object?["id"]?.string } == [ignored])
            let closed = try await api.call(.get, "/v1/committees/c-ticket/tickets?stage=closed", token: cadre)
            #expect(closed["items"].list?.compactMap { $0.object?["id"]?.string } == [lamp])

            // The street officer's rollups: three tickets, one acknowledged within the SLA, one overdue, one solved at
            // the street (not inside the committee); residents may not read rollups.
            let rollup = try await api.call(.get, "/v1/rollups/tickets?groupBy=street", token: officer)
            #expect(rollup["items"] == .list([.object(["key": "yuepu", "total": .int(3),
                                                       "byStage": .object(["acknowledged": .int(1), "closed": .int(1), "submitted": .int(1)])])]))
            let sla = try await api.call(.get, "/v1/rollups/sla", token: officer)
            let row = sla["items"].list?.first?.object ?? [:]
            #expect(row["tickets"] == .int(3) && row["respondedInTime"] == .int(2) && row["overdue"] == .int(1))
            #expect(row["resolved"] == .int(1) && row["resolvedInCommittee"] == .int(0) && row["firstResponseP50Minutes"] == .int(127))
            #expect(try await api.call(.get, "/v1/rollups/sla", token: resident).status == .forbidden)
            #expect(try await api.call(.get, "/v1/rollups/tickets?groupBy=planet", token: officer).status == .unprocessableContent)
        }
        try node.expectIntegrity()
    }

    @Test func aTopicGoesThroughAllSevenStagesToAConvention() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c-topic")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (_, resident) = try await api.joinAndApprove("c-topic", code: code, cadre: cadre)
            let topic = try await api.call(.post, "/v1/committees/c-topic/topics", token: resident, json: .object([
                "title": .string("文明养犬"), "description": .string("遛狗不牵绳的问题"), "category": .string("neighbours"),
            ]))
            #expect(topic.status == .created && topic["stage"] == .string("propose"))
            let id = topic["id"].string!
            // 附议: neighbours support it; twice is once; support taken back; another committee may not.
            let (_, neighbour) = try await api.joinAndApprove("c-topic", code: code, cadre: cadre, name: "李四", room: "202")
            #expect(try await api.call(.put, "/v1/topics/\(id)/support", token: resident)["supporters"] == .int(1))
            #expect(try await api.call(.put, "/v1/topics/\(id)/support", token: resident)["supporters"] == .int(1))
            #expect(try await api.call(.put, "/v1/topics/\(id)/support", token: neighbour)["supporters"] == .int(2))
            #expect(try await api.call(.delete, "/v1/topics/\(id)/support", token: neighbour)["supporters"] == .int(1))
            let (otherCode, _, otherCadre) = try node.committee("c-other")
            let (_, outsider) = try await api.joinAndApprove("c-other", code: otherCode, cadre: otherCadre, name: "赵六", room: "9")
            #expect(try await api.call(.put, "/v1/topics/\(id)/support", token: outsider).status == .forbidden)
            #expect(try await api.call(.post, "/v1/topics/\(id)/advance", token: resident, json: .object(["stage": .string("screen")])).status == .forbidden)
            #expect(try await api.call(.post, "/v1/topics/\(id)/advance", token: cadre, json: .object(["stage": .string("project")])).status == .conflict)
            for stage in ["screen", "deliberate", "project", "implement", "evaluate", "convention"] {
                let advanced = try await api.call(.post, "/v1/topics/\(id)/advance", token: cadre, json: .object(["stage": .string(stage), "note": .string(stage)]))
                #expect(advanced["stage"] == .string(stage))
            }
            let done = try await api.call(.get, "/v1/topics/\(id)", token: resident)
            #expect(done["stageName"] == .string("建立公约") && done["history"].list?.count == 6, "supports are not steps: \(done.body)")
            #expect(done["supporters"] == .int(1))
        }
        try node.expectIntegrity()
    }

    @Test func aMaskBookingBurstNeverGivesANumberTwice() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c-queue")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            var residents: [String] = []
            for i in 0..<60 { residents.append(try await api.joinAndApprove("c-queue", code: code, cadre: cadre, room: "\(i)").1) }
            let queue = try await api.call(.post, "/v1/committees/c-queue/queues", token: cadre, json: .object([
                "title": .string("口罩预约"), "slots": .list([.object(["label": .string("上午"), "capacity": .int(25)]), .object(["label": .string("下午"), "capacity": .int(25)])]),
            ]))
            let qid = queue["id"].string!
            let numbers = try await withThrowingTaskGroup(of: (Int64?, HTTPResponse.Status).self) { group in
                for token in residents + residents.prefix(10) {
                    group.addTask { let r = try await api.call(.post, "/v1/queues/\(qid)/book", token: token); return (r["number"].int, r.status) }
                }
                return try await group.reduce(into: [(Int64?, HTTPResponse.Status)]()) { $0.append($1) }
            }
            let issued = numbers.filter { $0.1 == .created }.compactMap(\.0)
            #expect(issued.count == 50 && Set(issued) == Set(1...50))
            #expect(numbers.filter { $0.1 == .conflict }.count >= 10)
        }
    }
}
