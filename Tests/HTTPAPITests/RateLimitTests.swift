import Foundation
import Governance
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import Storage
import Testing

/// Rate limits per bearer token and per address: 429 with Retry-After, other clients unaffected, nothing double-booked.
@Suite struct RateLimitTests {
    @Test func aBucketRefillsAtItsRateAndForgetsOldClients() {
        let limiter = RateLimiter(limits: RateLimits(tokenPerMinute: 60, tokenBurst: 3, addressPerMinute: 60, addressBurst: 3, maxTracked: 10))
        let second: UInt64 = 1_000_000_000
        for _ in 0..<3 { #expect(limiter.take("t:a", perMinute: 60, burst: 3, nowNanos: 10 * second) == nil) }
        #expect(limiter.take("t:a", perMinute: 60, burst: 3, nowNanos: 10 * second) == 1)
        #expect(limiter.take("t:b", perMinute: 60, burst: 3, nowNanos: 10 * second) == nil, "another client has its own bucket")
        #expect(limiter.take("t:a", perMinute: 60, burst: 3, nowNanos: 11 * second) == nil, "one request a second comes back")
        #expect(limiter.take("t:a", perMinute: 60, burst: 3, nowNanos: 11 * second) != nil)
        for i in 0..<50 { _ = limiter.take("t:\(i)", perMinute: 60, burst: 3, nowNanos: 12 * second) }
        #expect(limiter.tracked <= 10)
    }

    @Test func aBurstOfThousandsIsLimitedPerTokenAndNeverDoubleBooks() async throws {
        let node = try TestNode()
        let (code, _, cadre) = try node.committee("c-queue")
        let limits = RateLimits(tokenPerMinute: 60, tokenBurst: 10, addressPerMinute: 1_000_000, addressBurst: 1_000_000)
        // Residents join through the unlimited server; the burst hits one with limits.
        let limited = APIServer(store: node.store, identity: node.server.identity, limits: limits)
        let (residents, qid) = try await Application(router: node.server.router()).test(.live) { client -> ([String], String) in
            let api = API(client: client)
            var residents: [String] = []
            for i in 0..<100 { residents.append(try await api.joinAndApprove("c-queue", code: code, cadre: cadre, room: "\(i)").1) }
            let queue = try await api.call(.post, "/v1/committees/c-queue/queues", token: cadre, json: .object([
                "title": "口罩预约", "slots": .list([.object(["label": "上午", "capacity": .int(25)]), .object(["label": "下午", "capacity": .int(25)])]),
            ]))
            return (residents, queue["id"].string!)
        }
        try await Application(router: limited.router()).test(.live) { client in
            let api = API(client: client)
            // 100 residents, 30 booking requests each, all at once: 3,000 requests.
            let answers = try await withThrowingTaskGroup(of: (Int64?, HTTPResponse.Status, String?).self) { group in
                for token in residents {
                    for _ in 0..<30 {
                        group.addTask {
                            let r = try await api.call(.post, "/v1/queues/\(qid)/book", token: token)
                            return (r["number"].int, r.status, r.headers[.retryAfter])
                        }
                    }
                }
                return try await group.reduce(into: [(Int64?, HTTPResponse.Status, String?)]()) { $0.append($1) }
            }
            #expect(answers.count == 3_000)
            let issued = answers.filter { $0.1 == .created }.compactMap(\.0)
            #expect(issued.count == 50 && Set(issued) == Set(1...50), "numbers 1…50, each once")
            let limitedAnswers = answers.filter { $0.1 == .tooManyRequests }
            // Each token gets its burst of 10 (and perhaps one refill) before 429s.
            #expect(limitedAnswers.count >= 100 * (30 - 12))
            #expect(limitedAnswers.allSatisfy { Int($0.2 ?? "") ?? 0 >= 1 })
            #expect(answers.allSatisfy { $0.1.code < 500 }, "no server error")
            // The cadre, another token, is not limited by the residents' burst.
            #expect(try await api.call(.get, "/v1/committees", token: cadre).status == .ok)
            // Past its burst, a token gets the api.md error body with the code rate_limited.
            var last: API.Reply?
            for _ in 0..<15 { last = try await api.call(.get, "/v1/committees", token: residents[0]) }
            #expect(last?.status == .tooManyRequests && last?["error"].object?["code"] == "rate_limited")
        }
        try node.expectIntegrity()
    }
}
