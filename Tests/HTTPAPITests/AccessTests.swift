import Foundation
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import Storage
import Testing

/// What a member holds to act as themselves ends when it should: tokens at their lifetime (rotated before), app
/// sessions after 30 days unused, a cadre's sign-in code after one use — and a lost phone's sessions with it.
@Suite struct AccessTests {
    @Test func tokensExpireAndRotateSessionsSlideAndASignInCodeSignsInTheSameMemberOnce() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (alice, token) = try await api.joinAndApprove("c1", code: code, cadre: cadre)

            // Rotation: the new token works, the old one for ten more minutes.
            let rotated = try await api.call(.post, "/v1/me/token", token: token)
            let fresh = try #require(rotated["token"].string)
            #expect(rotated.status == .created && fresh != token)
            #expect(try await api.call(.get, "/v1/me", token: token).status == .ok)
            node.advance(hours: 0.2)
            #expect(try await api.call(.get, "/v1/me", token: token).status == .unauthorized, "the old token ends 10 minutes after rotation")
            #expect(try await api.call(.get, "/v1/me", token: fresh)["id"].string == alice)

            // Sessions: listed, ended one by one, sliding (each use extends), ended after 30 days unused.
            let (phone, _) = try await node.store.startSession(member: alice, agent: "Mozilla/5.0 (iPhone)")
            let (laptop, laptopSession) = try await node.store.startSession(member: alice, agent: "Mozilla/5.0 (X11; Linux)")
            let listed = try await api.call(.get, "/v1/me/sessions", token: fresh)
            #expect(listed["items"].list?.count == 2 && listed["items"].list?.contains { $0["agent"] == "Mozilla/5.0 (iPhone)" } == true)
            #expect(try await api.call(.delete, "/v1/me/sessions/\(laptopSession.id)", token: fresh).status == .noContent)
            #expect(try await node.store.session(forCookie: laptop) == nil)
            #expect(try await api.call(.delete, "/v1/me/sessions/\(laptopSession.id)", token: fresh).status == .notFound)
            for _ in 0..<3 {
                node.advance(hours: 24 * 20)
                #expect(try await node.store.session(forCookie: phone)?.0.id == alice, "used every 20 days, it stays")
            }
            node.advance(hours: 24 * 31)
            #expect(try await node.store.session(forCookie: phone) == nil, "31 days unused: ended")

            // Tokens end at their lifetime (90 days by default): the holder must have rotated.
            node.advance(hours: 24 * 91)
            #expect(try await api.call(.get, "/v1/me", token: fresh).status == .unauthorized)
            #expect(try await api.call(.get, "/v1/committees/c1/members", token: cadre).status == .unauthorized)
        }
    }

    @Test func aCadresSignInCodeIsTheSameMemberOnceAndSignsTheLostPhoneOut() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c1")
        let (_, _, otherCadre) = try node.committee("c2")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (alice, token) = try await api.joinAndApprove("c1", code: code, cadre: cadre)
            let (lostPhone, _) = try await node.store.startSession(member: alice, agent: "lost phone")

            #expect(try await api.call(.post, "/v1/committees/c1/members/\(alice)/sign-in-code", token: token).status == .forbidden)
            #expect(try await api.call(.post, "/v1/committees/c2/members/\(alice)/sign-in-code", token: otherCadre).status == .notFound)
            let issued = try await api.call(.post, "/v1/committees/c1/members/\(alice)/sign-in-code", token: cadre)
            let signIn = try #require(issued["code"].string)
            #expect(issued.status == .created && issued["url"].string?.hasSuffix("/app/sign-in?code=\(signIn)") == true)

            let redeemed = try #require(try await node.store.redeemSignInCode(signIn, agent: "new phone"))
            #expect(redeemed.member.id == alice, "the same member: their history stays theirs")
            #expect(try await node.store.session(forCookie: redeemed.cookie)?.0.id == alice)
            #expect(try await node.store.session(forCookie: lostPhone) == nil, "the lost phone is signed out")
            #expect(try await api.call(.get, "/v1/me", token: token).status == .unauthorized, "and its token ended")
            #expect(try await node.store.redeemSignInCode(signIn, agent: "thief") == nil, "once only")

            // A code expires after a day.
            let late = try #require(try await api.call(.post, "/v1/committees/c1/members/\(alice)/sign-in-code", token: cadre)["code"].string)
            node.advance(hours: 25)
            #expect(try await node.store.redeemSignInCode(late, agent: "late") == nil)
        }
    }
}
