import Foundation
import Governance
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import ShequTestSupport
import Storage
import Testing

/// The inbox: each reason a member is told of something, the unread count and marking read, the live
/// `event: notification`, the street officers' overdue alerts, automatic escalation, and calling queue numbers.
@Suite struct NotificationTests {
    @Test func eachReasonReachesItsMemberOnceAndNobodyElse() async throws {
        let node = try TestNode()
        let (code, secretary, cadre) = try node.committee("c1")
        let officer = try node.staffToken(role: .streetOfficer, unit: "s1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let port = try #require(client.port)
            func id(_ token: String) async throws -> String { try #require(try await api.call(.get, "/v1/me", token: token)["id"].string) }
            func inbox(_ token: String, unread: Bool = false) async throws -> API.Reply {
                try await api.call(.get, "/v1/me/notifications\(unread ? "?unread=true" : "")", token: token)
            }
            func reasons(_ token: String) async throws -> [String] {
                try await inbox(token)["items"].list?.compactMap { $0["reason"].string } ?? []
            }
            let cadreID = try await id(cadre)

            // Alice joins and listens; her approval is her first notification, live and in the inbox.
            let joined = try await api.call(.post, "/v1/committees/c1/join", json: .object([
                "joinCode": .string(code), "realName": "王小明", "phone": "13812345678", "building": "12号楼", "room": "101",
            ]))
            let alice = try #require(joined["token"].string), aliceID = try #require(joined["memberId"].string)
            let stream = try await EventStreamClient.connect(port: port, path: "/v1/me/events", headers: [("Authorization", "Bearer \(alice)")])
            #expect(try await api.call(.post, "/v1/committees/c1/members/\(aliceID)/approve", token: cadre).status == .ok)
            let approved = await stream.first(within: .seconds(1)) { $0.name == "notification" }
            let approvedBody = try Value(json: approved?.data ?? "null")
            #expect(approvedBody["reason"] == "approved" && approvedBody["unread"] == .int(1), "live: \(String(describing: approved))")

            let (bobID, bob) = try await api.joinAndApprove("c1", code: code, cadre: cadre, name: "李四", room: "202")

            // A post @-mentioning the cadre; Bob replies to it; Alice writes to the cadre, who answers.
            let post = try #require(try await api.call(.post, "/v1/committees/c1/boards/around-me/posts", token: alice, json: .object([
                "title": "楼道灯坏了", "body": "请帮忙看看", "mentions": .list([.string(cadreID)]),
            ]))["id"].string)
            #expect(try await api.call(.post, "/v1/posts/\(post)/comments", token: bob, json: .object(["body": "我们楼也是"])).status == .created)
            #expect(try await api.call(.post, "/v1/posts/\(post)/comments", token: alice, json: .object(["body": "谢谢"])).status == .created)
            #expect(try await api.call(.post, "/v1/committees/c1/messages", token: alice, json: .object(["to": .string(cadreID), "body": "您好"])).status == .created)
            #expect(try await api.call(.post, "/v1/committees/c1/messages", token: cadre, json: .object(["to": .string(aliceID), "body": "收到"])).status == .created)

            // Her ticket's steps, by the cadre; her own rating tells nobody.
            let ticket = try #require(try await api.call(.post, "/v1/committees/c1/tickets", token: alice, json: .object([
                "category": "facilities", "title": "路灯不亮", "description": "东门",
            ]))["id"].string)
            for type in ["acknowledge", "resolve"] {
                #expect(try await api.call(.post, "/v1/tickets/\(ticket)/events", token: cadre, json: .object(["type": .string(type)])).status == .created)
            }
            #expect(try await api.call(.post, "/v1/tickets/\(ticket)/events", token: alice, json: .object(["type": "rate", "rating": .int(5)])).status == .created)

            // A poll: everyone in the committee (one row for all), from their joining on.
            let closes = Time.format(Int64(node.clock.millis) + 7 * 86_400_000)
            #expect(try await api.call(.post, "/v1/committees/c1/polls", token: secretary, json: .object([
                "kind": "consultation", "title": "加装电梯", "options": .list(["同意", "反对"]), "closesAt": .string(closes),
            ])).status == .created)

            // A campaign with one place: Alice gets it; Bob waits, then moves up when she cancels — and is told then.
            let campaign = try #require(try await api.call(.post, "/v1/committees/c1/campaigns", token: cadre, json: .object([
                "title": "义务理发", "capacity": .int(1),
            ]))["id"].string)
            #expect(try await api.call(.post, "/v1/campaigns/\(campaign)/signup", token: alice)["status"] == "confirmed")
            #expect(try await api.call(.post, "/v1/campaigns/\(campaign)/signup", token: bob)["status"] == "waitlisted")
            #expect(try await reasons(bob).filter { $0 == "signup_confirmed" }.isEmpty)
            #expect(try await api.call(.delete, "/v1/campaigns/\(campaign)/signup", token: alice).status == .noContent)
            #expect(try await reasons(bob).filter { $0 == "signup_confirmed" }.count == 1, "Bob moved up")

            // A queue: both book; the cadre calls the next number (Alice's), marks it served, then calls Bob's and marks
            // him a no-show; with nobody left waiting, calling again is a 409.
            let queue = try #require(try await api.call(.post, "/v1/committees/c1/queues", token: cadre, json: .object([
                "title": "疫苗预约", "slots": .list([.object(["label": "上午", "capacity": .int(10)])]),
            ]))["id"].string)
            #expect(try await api.call(.post, "/v1/queues/\(queue)/book", token: alice).status == .created)
            #expect(try await api.call(.post, "/v1/queues/\(queue)/book", token: bob).status == .created)
            #expect(try await api.call(.post, "/v1/queues/\(queue)/call", token: bob).status == .forbidden)
            let first = try await api.call(.post, "/v1/queues/\(queue)/call", token: cadre)
            #expect(first["number"] == .int(1) && first["member"].string == aliceID && first["state"] == "called")
            #expect(try await api.call(.put, "/v1/queues/\(queue)/bookings/1", token: cadre, json: .object(["state": "served"]))["state"] == "served")
            #expect(try await api.call(.post, "/v1/queues/\(queue)/call", token: cadre)["member"].string == bobID)
            #expect(try await api.call(.put, "/v1/queues/\(queue)/bookings/2", token: cadre, json: .object(["state": "no_show"])).status == .ok)
            #expect(try await api.call(.put, "/v1/queues/\(queue)/bookings/2", token: cadre, json: .object(["state": "gone"])).status == .unprocessableContent)
            #expect(try await api.call(.post, "/v1/queues/\(queue)/call", token: cadre).status == .conflict)
            let roster = try await api.call(.get, "/v1/queues/\(queue)/bookings", token: cadre)["items"].list ?? []
            #expect(roster.map { $0["state"] } == ["served", "no_show"])

            // What each was told, newest first.
            #expect(try await reasons(alice) == ["queue", "queue", "signup_confirmed", "poll", "ticket", "ticket", "message", "reply", "approved"])
            // Bob: his queue calls, his place, the poll — not Alice's thanks on her own post, where he had commented.
            let bobs = try await reasons(bob), cadres = try await reasons(cadre), officers = try await reasons(officer)
            #expect(bobs == ["queue", "queue", "signup_confirmed", "poll", "approved"])
            #expect(cadres == ["poll", "message", "mention"])
            #expect(officers.isEmpty)

            // Unread and marking read: by subject (a page opened), by number, all.
            let unread = try await inbox(alice)["unread"].int
            #expect(unread == 9)
            #expect(try await api.call(.post, "/v1/me/notifications/read", token: alice, json: .object(["subject": .string(ticket)]))["unread"] == .int(7))
            let newest = try #require(try await inbox(alice, unread: true)["items"].list?.first?["number"].int)
            #expect(try await api.call(.post, "/v1/me/notifications/read", token: alice, json: .object(["numbers": .list([.int(newest)])]))["unread"] == .int(6))
            #expect(try await api.call(.post, "/v1/me/notifications/read", token: alice, json: .object(["all": .bool(true)]))["unread"] == .int(0))
            #expect(try await api.call(.post, "/v1/me/notifications/read", token: alice, json: .object([:])).status == .unprocessableContent)
            // The committee-wide poll is read for Alice, still unread for Bob.
            #expect(try await inbox(bob, unread: true)["items"].list?.contains { $0["reason"] == "poll" } == true)
            #expect(try await inbox(alice)["items"].list?.allSatisfy { $0["read"] == .bool(true) } == true)
            // Paging: a cursor from the last item of a full page.
            let page = try await api.call(.get, "/v1/me/notifications?limit=4", token: alice)
            let cursor = try #require(page["nextCursor"].string)
            let rest = try await api.call(.get, "/v1/me/notifications?limit=4&cursor=\(cursor)", token: alice)["items"].list ?? []
            #expect(rest.count == 4 && rest.first?["number"].int ?? 0 < page["items"].list?.last?["number"].int ?? 0)
            #expect(try await api.call(.get, "/v1/me/notifications?cursor=x", token: alice).status == .unprocessableContent)
            #expect(try await api.call(.get, "/v1/me/notifications").status == .unauthorized)
            await stream.close()
        }
    }

    @Test func aChangeAppliedTwiceNotifiesOnce() throws {
        let node = try TestNode()
        _ = try node.committee("c1")
        let reporter = "m_reporter"
        try node.store.writeNow { tx in
            try tx.append(Member.staff(id: reporter, role: .resident, displayName: "王*", committee: "c1", unit: nil, scope: .committee("c1"), author: "street.test"))
        }
        // A district's dispatch of a ticket, as replication brings it — twice.
        let other = try Store(path: nil, nodeID: "district.d1", wallMillis: { node.clock.millis })
        let changes = try other.writeNow { tx -> [Change] in
            var all: [Change] = []
            all.append(try tx.append(ChangeDraft(scope: .committee("c1"), kind: "ticket", entity: "t_1", op: .add,
                                                 fields: ["category": "other", "title": "井盖", "description": "", "photos": .list([]),
                                                          "location": .object(["address": ""]), "reporter": .string(reporter)], author: reporter)))
            all.append(try tx.append(ChangeDraft(scope: .committee("c1"), kind: "ticket_event", entity: "te_1", op: .add,
                                                 fields: ["ticket": "t_1", "type": "assign", "actor": "m_officer", "byStaff": .bool(true), "note": "派至市政",
                                                          "assignee": "市政所"], author: "m_officer")))
            return all
        }
        for _ in 0..<2 { _ = try node.store.writeNow { tx in try tx.applyRemote(changes) } }
        let items = try node.store.readNow { view in try view.notifications(for: try view.member(reporter)!, limit: 10) }
        #expect(items.map(\.reason) == [.ticket] && items.first?.detail == "assign", "\(items)")
    }

    /// History brought back by replication (a street restored empty) is not news: nothing older than the inbox keeps is
    /// told again, and nothing older than a day goes to the webhook.
    @Test func historyBroughtBackIsNotNewsAndOldNewsSkipsTheWebhook() async throws {
        let node = try TestNode()
        node.store.sendsWebhooks = true
        _ = try node.committee("c1")
        let reporter = "m_reporter"
        try node.store.writeNow { tx in
            try tx.append(Member.staff(id: reporter, role: .resident, displayName: "王*", committee: "c1", unit: nil, scope: .committee("c1"), author: "street.test"))
        }
        let day: UInt64 = 86_400_000
        for (daysAgo, entity) in [(100, "te_old"), (2, "te_recent"), (0, "te_now")] {
            let then = node.clock.millis - UInt64(daysAgo) * day
            // (A writer of its own each time: a fresh store's first change is always #1 of its origin.)
            let district = try Store(path: nil, nodeID: "district.d\(daysAgo)", wallMillis: { then })
            let change = try district.writeNow { tx in
                try tx.append(ChangeDraft(scope: .committee("c1"), kind: "ticket_event", entity: entity, op: .add,
                                          fields: ["ticket": "t_1", "type": "comment", "actor": "m_officer", "byStaff": .bool(true), "note": "已派单"],
                                          author: "m_officer"))
            }
            try node.store.writeNow { tx in
                try tx.append(ChangeDraft(scope: .committee("c1"), kind: "ticket", entity: "t_1", op: .add,
                                          fields: ["category": "other", "title": "井盖", "reporter": .string(reporter)], author: reporter))
                _ = try tx.applyRemote([change])
            }
        }
        let told = try node.store.readNow { view in try view.notifications(for: try view.member(reporter)!, limit: 10).map(\.entity) }
        #expect(told == ["te_now", "te_recent"], "the 100-day-old step is history, not news")
        #expect(try await node.store.webhookBacklog().count == 1, "only today's goes to the webhook")
    }

    /// More overdue tickets than one pass handles: the next pass tells of the rest (it once read the same first batch
    /// again and again, and the later tickets were never told of).
    @Test func moreOverdueTicketsThanAPassHandlesAreAllToldOfOverThePasses() throws {
        let node = try TestNode()
        _ = try node.committee("c1")
        _ = try node.staffToken(role: .streetOfficer, unit: "s1")
        let reporter = Actor(memberID: "m_reporter", role: .resident, status: .approved, committee: "c1", unit: nil)
        let count = WriteTransaction.watchBatch + 5
        try node.store.writeNow { tx in
            for i in 0..<count {
                _ = try tx.raiseTicket(TicketInput(category: .other, title: "井盖\(i)", description: "", photos: [], location: Location(address: "")),
                                       committee: "c1", by: reporter)
            }
        }
        node.advance(hours: 16)
        func watch() throws -> TicketWatchResult { try node.store.writeNow { tx in try tx.watchTickets(rules: [], nowMillis: tx.nowMillis) } }
        let first = try watch(), second = try watch(), third = try watch()
        #expect(first.alerted == WriteTransaction.watchBatch && first.more)
        #expect(second.alerted == 5 && !second.more)
        #expect(third.alerted == 0)
    }

    @Test func overdueTicketsAlertTheStreetOfficersOnceAndEscalateThemselvesOncePerRule() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let officer = try node.staffToken(role: .streetOfficer, unit: "s1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (_, alice) = try await api.joinAndApprove("c1", code: code, cadre: cadre)
            let ticket = try #require(try await api.call(.post, "/v1/committees/c1/tickets", token: alice, json: .object([
                "category": "safety", "title": "消防通道堵塞", "description": "3号楼",
            ]))["id"].string)
            let rules = EscalationRule.standard
            func watch() throws -> TicketWatchResult { try node.store.writeNow { tx in try tx.watchTickets(rules: rules, nowMillis: tx.nowMillis) } }

            node.advance(hours: 14)
            #expect(try watch() == TicketWatchResult())
            node.advance(hours: 2)  // 16 h: overdue
            #expect(try watch().alerted == 1)
            #expect(try watch().alerted == 0, "told once")
            let alert = try await api.call(.get, "/v1/me/notifications", token: officer)["items"].list?.first
            #expect(alert?["reason"] == "overdue" && alert?["subject"].string == ticket && alert?["title"] == "消防通道堵塞")

            node.advance(hours: 40)  // 56 h: the street rule
            #expect(try watch().escalated == 1)
            #expect(try watch().escalated == 0)
            var state = try await api.call(.get, "/v1/tickets/\(ticket)", token: cadre)
            #expect(state["level"] == "street")
            node.advance(hours: 70)  // 126 h: the district rule
            #expect(try watch().escalated == 1)
            state = try await api.call(.get, "/v1/tickets/\(ticket)", token: cadre)
            #expect(state["level"] == "district")
            let automatic = state["history"].list?.filter { $0["actor"] == "system" } ?? []
            #expect(automatic.count == 2 && automatic.allSatisfy { $0["type"] == "escalate" })
            // The reporter is told of each, as of any step.
            let told = try await api.call(.get, "/v1/me/notifications", token: alice)["items"].list?.filter { $0["reason"] == "ticket" } ?? []
            #expect(told.count == 2)

            // A resolved ticket, or one a cadre escalated by hand, is left alone.
            let other = try #require(try await api.call(.post, "/v1/committees/c1/tickets", token: alice, json: .object([
                "category": "safety", "title": "电瓶车充电", "description": "",
            ]))["id"].string)
            #expect(try await api.call(.post, "/v1/tickets/\(other)/events", token: cadre, json: .object(["type": "escalate"])).status == .created)
            node.advance(hours: 50)
            #expect(try watch().escalated == 0, "already at the street: the street rule is moot, the district's not yet due")
        }
    }
}
