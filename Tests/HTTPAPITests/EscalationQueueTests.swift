import Foundation
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import Testing

/// The street grid centre and the district platform each list the tickets escalated to them, in their own unit, due
/// first, with the filters they work by.
@Suite struct EscalationQueueTests {
    @Test func officersListTheTicketsAtTheirLevelInTheirUnitOnly() async throws {
        let node = try TestNode()
        let (codeA, _, cadreA) = try node.committee("c-a", street: "s1")
        let (codeFar, _, cadreFar) = try node.committee("c-far", street: "s2")
        let streetOfficer = try node.staffToken(role: .streetOfficer, unit: "s1")
        let districtOfficer = try node.staffToken(role: .districtOfficer, unit: "d1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (_, resident) = try await api.joinAndApprove("c-a", code: codeA, cadre: cadreA)
            let (_, farResident) = try await api.joinAndApprove("c-far", code: codeFar, cadre: cadreFar, name: "李四", room: "9")
            func report(_ title: String, in committee: String, by token: String) async throws -> String {
                try #require(try await api.call(.post, "/v1/committees/\(committee)/tickets", token: token, json: .object([
                    "category": "facilities", "title": .string(title), "description": "",
                ]))["id"].string)
            }
            func event(_ ticket: String, _ type: String, by token: String, _ extra: [String: Value] = [:]) async throws {
                var body = extra
                body["type"] = .string(type)
                let reply = try await api.call(.post, "/v1/tickets/\(ticket)/events", token: token, json: .object(body))
                #expect(reply.status == .created, "\(type): \(reply.body)")
            }
            let lamp = try await report("路灯不亮", in: "c-a", by: resident)
            node.advance(hours: 1)
            let drain = try await report("下水道堵塞", in: "c-a", by: resident)
            let kept = try await report("楼道堆物", in: "c-a", by: resident)
            let far = try await report("井盖缺失", in: "c-far", by: farResident)
            try await event(lamp, "escalate", by: cadreA)            // to the street grid centre
            try await event(drain, "escalate", by: cadreA)
            try await event(drain, "escalate", by: streetOfficer)    // on to the district platform
            try await event(far, "escalate", by: cadreFar)           // another street's
            try await event(lamp, "assign", by: streetOfficer, ["assignee": "市政养护"])
            _ = kept

            func ids(_ path: String, _ token: String) async throws -> [String] {
                let reply = try await api.call(.get, path, token: token)
                #expect(reply.status == .ok, "\(path): \(reply.body)")
                return reply["items"].list?.compactMap { $0["id"].string } ?? []
            }
            #expect(try await ids("/v1/tickets", streetOfficer) == [lamp], "the street's own queue, not another street's")
            #expect(try await ids("/v1/tickets?level=district", streetOfficer) == [drain])
            #expect(try await ids("/v1/tickets", districtOfficer) == [drain])
            #expect(Set(try await ids("/v1/tickets?level=street", districtOfficer)) == [lamp, far], "the district sees its streets' queues")
            #expect(try await ids("/v1/tickets?assignee=%E5%B8%82%E6%94%BF%E5%85%BB%E6%8A%A4", streetOfficer) == [lamp])
            #expect(try await ids("/v1/tickets?stage=acknowledged", streetOfficer) == [])
            #expect(try await ids("/v1/tickets?level=committee", cadreA) == [kept], "a cadre's own committee, still with it")

            // Overdue: no first response 15 hours after the report. Escalating counts as no answer to the resident.
            #expect(try await ids("/v1/tickets?overdue=true", streetOfficer).isEmpty)
            node.advance(hours: 15.5)
            let overdue = try await api.call(.get, "/v1/tickets?level=street&overdue=true", token: districtOfficer)
            #expect(overdue["items"].list?.allSatisfy { $0["overdue"] == .bool(true) } == true)

            // Pages continue where the last ended; bad filters and residents are refused.
            let first = try await api.call(.get, "/v1/tickets?level=street&limit=1", token: districtOfficer)
            let cursor = try #require(first["nextCursor"].string)
            let second = try await api.call(.get, "/v1/tickets?level=street&limit=1&cursor=\(cursor)", token: districtOfficer)
            #expect(first["items"].list?.count == 1 && second["items"].list?.count == 1 && first["items"] != second["items"])
            #expect(try await api.call(.get, "/v1/tickets?level=province", token: streetOfficer).status == .unprocessableContent)
            #expect(try await api.call(.get, "/v1/tickets", token: resident).status == .forbidden)
            #expect(try await api.call(.get, "/v1/tickets").status == .unauthorized)
        }
    }

    /// A district dispatches to its configured departments only; each department's open tickets are counted, and the
    /// command centre's queue page lists them due first, by department.
    @Test func theDistrictDispatchesToItsDepartmentsAndTheirWorkShows() async throws {
        let node = try TestNode()
        node.store.departments = ["区城管执法局", "区绿化市容局"]
        let (code, _, cadre) = try node.committee("c-a", street: "s1")
        let districtOfficer = try node.staffToken(role: .districtOfficer, unit: "d1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (_, resident) = try await api.joinAndApprove("c-a", code: code, cadre: cadre)
            var tickets: [String] = []
            for title in ["占道经营", "树木倒伏", "违章搭建"] {
                let id = try #require(try await api.call(.post, "/v1/committees/c-a/tickets", token: resident, json: .object([
                    "category": "environment", "title": .string(title), "description": "",
                ]))["id"].string)
                for _ in 0..<2 { #expect(try await api.call(.post, "/v1/tickets/\(id)/events", token: cadre, json: .object(["type": "escalate"])).status == .created) }
                tickets.append(id)
            }
            func dispatch(_ ticket: String, to department: String) async throws -> API.Reply {
                try await api.call(.post, "/v1/tickets/\(ticket)/events", token: districtOfficer, json: .object(["type": "assign", "assignee": .string(department)]))
            }
            let refused = try await dispatch(tickets[0], to: "随便哪个部门")
            #expect(refused.status == .unprocessableContent && refused["error"]["message"].string?.contains("区城管执法局") == true)
            #expect(try await dispatch(tickets[0], to: "区城管执法局").status == .created)
            #expect(try await dispatch(tickets[2], to: "区城管执法局").status == .created)
            #expect(try await dispatch(tickets[1], to: "区绿化市容局").status == .created)
            let departments = try await api.call(.get, "/v1/departments", token: districtOfficer)["items"].list ?? []
            #expect(departments == [.object(["name": "区城管执法局", "open": .int(2)]), .object(["name": "区绿化市容局", "open": .int(1)])])
            #expect(try await api.call(.get, "/v1/departments", token: resident).status == .forbidden)

            let page = try await api.call(.get, "/dashboard/queue?department=" + "区城管执法局".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
                                          cookie: "shequ_dashboard=\(districtOfficer)")
            let html = try #require(page.body.string)
            #expect(page.status == .ok && html.contains("占道经营") && html.contains("违章搭建") && !html.contains("树木倒伏"))
            #expect(html.contains("区网格化平台工单队列") && html.contains("区绿化市容局 1"))
            #expect(try await api.call(.get, "/dashboard/queue", cookie: "shequ_dashboard=\(cadre)").status == .forbidden)
        }
    }
}
