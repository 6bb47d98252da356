import Foundation
import Governance
@testable import HTTPAPI
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Replication
import ShequTestSupport
import Storage
import Testing

/// The cadre's desk without a browser: only the committee's staff get it, and each of its forms is one command.
@Suite struct CadreDeskPageTests {
    @Test func theDeskIsForStaffAndItsFormsAct() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let formType = "application/x-www-form-urlencoded"
            let cadreID = try #require(try await api.call(.get, "/v1/me", token: cadre)["id"].string)
            let (_, bob) = try await api.joinAndApprove("c1", code: code, cadre: cadre, name: "李四", room: "202")
            let alice = try #require(try await api.call(.post, "/v1/committees/c1/join", json: .object([
                "joinCode": .string(code), "realName": "钱小红", "phone": "13900001111", "building": "7号楼", "room": "502",
            ]))["memberId"].string)
            let csrf = String(repeating: "a", count: 32)
            func cookies(_ member: String) async throws -> String {
                "shequ_session=\(try await node.store.startSession(member: member, agent: "test").cookie); shequ_csrf=\(csrf)"
            }
            let staff = try await cookies(cadreID)
            let desk = try await api.call(.get, "/app/work", cookie: staff)
            #expect(desk.status == .ok && desk.body.string?.contains("7号楼 502") == true, "the pending member's building and room")
            let bobID = try #require(try await api.call(.get, "/v1/me", token: bob)["id"].string)
            #expect(try await api.call(.get, "/app/work", cookie: try await cookies(bobID)).status == .forbidden)

            let approved = try await api.call(.post, "/app/work/members/\(alice)/approve", raw: "csrf=\(csrf)", cookie: staff, contentType: formType)
            #expect(approved.status == .seeOther && approved.headers[.location] == "/app/work#members", "\(approved.body.string ?? "")")
            #expect(try await api.call(.get, "/v1/committees/c1/members?status=approved", token: cadre)["items"].list?.contains { $0["id"].string == alice } == true)
            #expect(try await api.call(.post, "/app/work/members/\(alice)/approve", raw: "csrf=wrong", cookie: staff, contentType: formType).status == .forbidden)

            // A poll opened from the desk, one option per line.
            let opened = try await api.call(.post, "/app/work/polls", raw: ResidentAppTests.form([("csrf", csrf), ("title", "装门禁"), ("options", "同意\n反对"), ("days", "3")]),
                                            cookie: staff, contentType: formType)
            #expect(opened.status == .seeOther)
            #expect(try await api.call(.get, "/v1/committees/c1/polls", token: cadre)["items"].list?.first?["title"] == "装门禁")
            // The inbox: Bob was told of the poll; his tab shows the count.
            let inbox = try await api.call(.get, "/app/inbox", cookie: try await cookies(bobID))
            #expect(inbox.status == .ok && inbox.body.string?.contains("装门禁") == true)
        }
    }
}
