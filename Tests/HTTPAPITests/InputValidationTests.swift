import Foundation
import Governance
@testable import HTTPAPI
import Hummingbird
import HummingbirdTesting
import Replication
import Testing

/// Bad input gets a clear 4xx with the field it is about, and good input in any script comes back as it was sent
/// (in Unicode NFC). Nothing here may be a 5xx or leave the database unsound.
@Suite struct InputValidationTests {
    @Test func badInputIsRefusedWithAClearReasonAndAnyScriptComesBackIntact() async throws {
        let node = try TestNode(start: UInt64(Date().timeIntervalSince1970 * 1000))
        let (code, _, cadre) = try node.committee("c1")
        let app = Application(router: node.server.router())
        try await app.test(.live) { client in
            let api = API(client: client)
            let (_, resident) = try await api.joinAndApprove("c1", code: code, cadre: cadre)
            let posts = "/v1/committees/c1/boards/around-me/posts"
            func expectRefused(_ path: String, method: HTTPRequest.Method = .post, json: Value? = nil, raw: String? = nil,
                               token: String? = nil, status: HTTPResponse.Status, code expected: String, _ what: String? = nil) async throws {
                let reply = try await api.call(method, path, token: token ?? resident, json: json, raw: raw)
                #expect(reply.status == status, "\(what ?? path): \(reply.status) \(reply.body)")
                #expect(reply["error"]["code"].string == expected, "\(what ?? path): \(reply.body)")
                #expect(!(reply["error"]["message"].string ?? "").isEmpty)
            }

            // Malformed JSON, the wrong shape, the wrong types, hostile nesting.
            try await expectRefused(posts, raw: "{\"title\": \"未闭合", status: .badRequest, code: "bad_request", "truncated JSON")
            try await expectRefused(posts, raw: "[1, 2, 3]", status: .badRequest, code: "bad_request", "not an object")
            try await expectRefused(posts, raw: "", status: .badRequest, code: "bad_request", "empty body")
            try await expectRefused(posts, raw: String(repeating: "[", count: 100_000), status: .badRequest, code: "bad_request", "deep nesting")
            try await expectRefused(posts, raw: "{\"title\": \"a\\ud800\", \"body\": \"x\"}", status: .badRequest, code: "bad_request", "lone surrogate")
            try await expectRefused(posts, json: .object(["title": .int(5), "body": "x"]), status: .unprocessableContent, code: "invalid_title")
            try await expectRefused(posts, json: .object(["body": "x"]), status: .unprocessableContent, code: "invalid_title", "missing field")

            // 10 MB is refused before it is read whole; the node answers the next request at once.
            let huge = "{\"title\": \"大\", \"body\": \"" + String(repeating: "水", count: 3_500_000) + "\"}"
            try await expectRefused(posts, raw: huge, status: .contentTooLarge, code: "payload_too_large", "10 MB body")

            // Lengths are counted in characters as people see them: 100 Chinese characters or family emoji are a full title.
            let family = "👨‍👩‍👧‍👦"
            for title in [String(repeating: "社", count: 100), String(repeating: family, count: 100)] {
                let ok = try await api.call(.post, posts, token: resident, json: .object(["title": .string(title), "body": "正文"]))
                #expect(ok.status == .created, "\(title.count) characters: \(ok.body)")
            }
            try await expectRefused(posts, json: .object(["title": .string(String(repeating: "社", count: 101)), "body": "x"]),
                                    status: .unprocessableContent, code: "invalid_title", "101 characters")
            try await expectRefused(posts, json: .object(["title": "   ", "body": "x"]), status: .unprocessableContent, code: "invalid_title", "blank")
            try await expectRefused(posts, json: .object(["title": "a\u{0000}b", "body": "x"]), status: .unprocessableContent, code: "invalid_title", "NUL")
            try await expectRefused(posts, json: .object(["title": "a\u{1B}[31mb", "body": "x"]), status: .unprocessableContent, code: "invalid_title", "escape")
            try await expectRefused(posts, json: .object(["title": "invoice\u{202E}gpj.exe", "body": "x"]),
                                    status: .unprocessableContent, code: "invalid_title", "right-to-left override")

            // Any script round-trips; decomposed input is stored composed (NFC), so equal text compares equal.
            let samples = ["e\u{0301}cole café", "مرحبا بالجيران", "ئۇيغۇرچە خەت", "שלום", "🏘️ 社区 🌙✨", "Ωμέγα", "ﬁ ﬀ Ⅻ"]
            for sample in samples {
                let created = try await api.call(.post, posts, token: resident, json: .object(["title": .string(sample), "body": .string(sample + "\n第二行")]))
                #expect(created.status == .created, "\(sample): \(created.body)")
                let id = try #require(created["id"].string)
                let read = try await api.call(.get, "/v1/posts/\(id)", token: resident)
                let expected = sample.precomposedStringWithCanonicalMapping
                #expect(read["title"].string.map { Array($0.unicodeScalars) } == Array(expected.unicodeScalars), "\(sample)")
                #expect(read["body"].string == expected + "\n第二行")
            }

            // Enums, times and ids.
            try await expectRefused("/v1/committees/c1/tickets", json: .object(["category": "dragons", "title": "t", "description": "d"]),
                                    status: .unprocessableContent, code: "invalid_category")
            let ticket = try #require(try await api.call(.post, "/v1/committees/c1/tickets", token: resident, json: .object([
                "category": "facilities", "title": "路灯不亮", "description": "东门",
            ]))["id"].string)
            try await expectRefused("/v1/tickets/\(ticket)/events", json: .object(["type": "explode"]), token: cadre,
                                    status: .unprocessableContent, code: "invalid_type")

            // Coordinates as every map SDK sends them: JSON numbers (decimals and exponents); out of range is 422.
            let tickets = "/v1/committees/c1/tickets"
            let located = { (location: String) in
                "{\"category\": \"facilities\", \"title\": \"井盖缺失\", \"description\": \"\", \"location\": \(location)}"
            }
            for (sent, lat, long) in [("{\"lat\": 31.39, \"long\": 121.45}", "31.39", "121.45"),
                                      ("{\"address\": \"东门\", \"lat\": -3.139e1, \"long\": 121}", "-3.139e1", "121"),
                                      ("{\"lat\": \"31.4\", \"long\": \"121.5\"}", "31.4", "121.5")] {
                let created = try await api.call(.post, tickets, token: resident, raw: located(sent))
                #expect(created.status == .created, "\(sent): \(created.body)")
                #expect(created["location"]["lat"].string == lat && created["location"]["long"].string == long, "\(sent): \(created.body)")
            }
            for (sent, field) in [("{\"lat\": 91.0, \"long\": 121.45}", "invalid_location.lat"), ("{\"lat\": 31.39, \"long\": -180.5}", "invalid_location.long"),
                                  ("{\"lat\": 1e400, \"long\": 0}", "invalid_location.lat"), ("{\"lat\": true, \"long\": 0}", "invalid_location.lat")] {
                try await expectRefused(tickets, raw: located(sent), status: .unprocessableContent, code: field, sent)
            }
            for sent in ["{\"lat\": 31., \"long\": 1}", "{\"lat\": 3e, \"long\": 1}", "{\"lat\": .5, \"long\": 1}"] {
                try await expectRefused(tickets, raw: located(sent), status: .badRequest, code: "bad_request", sent)
            }
            let poll = { (closes: Value, kind: Value) -> Value in
                .object(["title": "t", "kind": kind, "options": .strings(["a", "b"]), "closesAt": closes])
            }
            try await expectRefused("/v1/committees/c1/polls", json: poll("tomorrow", "consultation"), token: cadre,
                                    status: .unprocessableContent, code: "invalid_closesAt")
            try await expectRefused("/v1/committees/c1/polls", json: poll("2031-02-30T18:00:00+08:00", "consultation"), token: cadre,
                                    status: .unprocessableContent, code: "invalid_closesAt", "30 February")
            try await expectRefused("/v1/committees/c1/polls", json: poll("2031-01-01T18:00:00+08:00", "referendum"), token: cadre,
                                    status: .unprocessableContent, code: "invalid_kind")
            // Valid times in any offset or with a fraction come back as the same instant in Shanghai time.
            for (sent, shown) in [("2030-12-31T10:00:00Z", "2030-12-31T18:00:00+08:00"), ("2032-02-29T23:30:00.250-05:00", "2032-03-01T12:30:00+08:00")] {
                let created = try await api.call(.post, "/v1/committees/c1/polls", token: cadre, json: poll(.string(sent), "consultation"))
                #expect(created["closesAt"].string == shown, "\(sent): \(created.body)")
            }
            try await expectRefused("/v1/posts/" + String(repeating: "p", count: 5_000), method: .get, status: .notFound, code: "not_found", "long id")
            try await expectRefused("/v1/posts/p_%27%20OR%201=1--", method: .get, status: .notFound, code: "not_found", "quote in id")
            try await expectRefused("/v1/committees/c1/boards/around-me/posts?limit=100000", method: .get, status: .unprocessableContent, code: "invalid_limit")
            try await expectRefused("/v1/committees/c1/boards/around-me/posts?cursor=%FF%FE", method: .get, status: .unprocessableContent, code: "invalid_cursor", "cursor")

            // Still sound, and still serving.
            #expect(try await api.call(.get, "/healthz").status == .ok)
            try node.expectIntegrity()
        }
    }
}

/// Times written by the API: the arithmetic formatter agrees with Foundation's ISO 8601 formatter in Shanghai time,
/// and what it writes parses back to the same second.
@Suite struct TimeFormatTests {
    @Test func formatsLikeFoundationAndParsesBack() throws {
        let foundation = ISO8601DateFormatter()
        foundation.formatOptions = [.withInternetDateTime]
        foundation.timeZone = TimeZone(secondsFromGMT: 8 * 3600)
        var random = SystemRandomNumberGenerator()
        let edges: [Int64] = [0, 999, 951_782_400_000 - 1, 951_782_400_000, 4_102_444_800_000 - 1, 1_767_196_800_000 - 1, 1_767_196_800_000]
        for millis in edges + (0..<2_000).map({ _ in Int64.random(in: 0..<253_402_300_799_000, using: &random) }) {
            let text = Time.format(millis)
            #expect(text == foundation.string(from: Date(timeIntervalSince1970: Double(millis) / 1000)), "\(millis)")
            #expect(try Time.parse(text, field: "t") == millis - millis % 1_000, "\(text)")
        }
    }
}
