import EventStream
import Foundation
import FoundationNetworking
import Gossip
import Replication

/// How soon is a member told? On the demo's 7-node federation of real processes, 1,000 residents of one street keep an
/// event stream open each (`GET /v1/me/events`) while (1) the committee's cadre opens polls, each a notification to all
/// 1,000, and writes private messages, each to one; and (2) the district platform dispatches residents' tickets, each
/// notification crossing a gossip link before it reaches the street's streams. Delay: from the request that commits
/// (sent) to the `event: notification` received by the client. Target p99 < 200 ms.
public enum NotificationBenchmark {
    public struct Result: Sendable {
        public var streams = 0
        public var opened = 0
        /// A cadre's write at the street → the streams (a poll to all, a message to one).
        public var atStreet: [Double] = []
        /// The district's dispatch → the reporter's stream at the street.
        public var dispatch: [Double] = []
        public var missing = 0
        /// Seconds to open every stream.
        public var openSeconds = 0.0
    }

    public static func run(streams: Int, polls: Int, messages: Int, dispatches: Int, executable: String, directory: String,
                           progress: @escaping @Sendable (String) -> Void) async throws -> Result {
        // Ports below Linux's ephemeral range (32768 up), where another process's outgoing connection cannot hold one.
        let federation = try await ProcessFederation.start(nodes: 7, directory: (directory as NSString).appendingPathComponent("shequ"),
                                                         executable: executable, basePort: 15_500, residents: streams, progress: progress)
        var result = Result()
        result.streams = streams
        do {
            let street = federation.streets[0]
            let district = try require(federation.topology.nodes[street]?.parent)
            let (committee, cadre) = federation.cadres[street]!
            let http = try federation.endpoint(street).http, districtHTTP = try federation.endpoint(district).http
            let port = URLComponents(string: http)!.port!

            // Open every stream, a few at a time.
            let opening = Date()
            var clients: [EventStreamClient?] = Array(repeating: nil, count: streams)
            try await withThrowingTaskGroup(of: (Int, EventStreamClient?).self) { group in
                var next = 0
                func add() {
                    let i = next, token = federation.residents[i].token
                    next += 1
                    // From many loopback addresses, as residents' phones are many: a node takes at most 256 connections from one.
                    let source = "127.0.\(1 + i / 200).\(1 + i % 200)"
                    group.addTask {
                        (i, try? await EventStreamClient.connect(port: port, path: "/v1/me/events", headers: [("Authorization", "Bearer \(token)")], source: source))
                    }
                }
                for _ in 0..<min(32, streams) { add() }
                while let (i, client) = try await group.next() {
                    clients[i] = client?.status == 200 ? client : nil
                    if next < streams { add() }
                }
            }
            result.openSeconds = Date().timeIntervalSince(opening)
            result.opened = clients.compactMap { $0 }.count
            progress("\(result.opened) of \(streams) streams open in \(String(format: "%.1f", result.openSeconds)) s")
            try await Task.sleep(for: .seconds(1))
            for client in clients { while await client?.next(within: .zero) != nil {} }

            // (1) At the street: polls to everyone, then private messages to one each.
            var sent: [String: ContinuousClock.Instant] = [:]
            for i in 0..<polls {
                let title = "基准表决 \(i)"
                sent["poll:" + title] = .now
                let (status, _) = try await federation.request("POST", http + "/v1/committees/\(committee)/polls", token: cadre, json: .object([
                    "kind": "consultation", "title": .string(title), "options": .strings(["同意", "反对"]),
                    "closesAt": .string(ISO8601DateFormatter.shanghai.string(from: Date().addingTimeInterval(86_400))),
                ]))
                guard status == 201 else { throw BenchmarkFailure("poll: HTTP \(status)") }
                try await Task.sleep(for: .milliseconds(300))
            }
            for i in 0..<min(messages, streams) {
                sent["message:\(i)"] = .now
                let (status, _) = try await federation.request("POST", http + "/v1/committees/\(committee)/messages", token: cadre, json: .object([
                    "to": .string(federation.residents[i].id), "body": "您好，请于周五前到居委会领取通知",
                ]))
                guard status == 201 else { throw BenchmarkFailure("message: HTTP \(status)") }
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .seconds(2))
            for (i, client) in clients.enumerated() {
                guard let client else { continue }
                var polled = 0, messaged = false
                while let event = await client.next(within: .zero) {
                    guard event.name == "notification", let body = try? Value(json: event.data) else { continue }
                    switch body["reason"].string {
                    case "poll":
                        if let title = body["title"].string, let start = sent["poll:" + title] {
                            result.atStreet.append(milliseconds(event.arrived - start))
                            polled += 1
                        }
                    case "message":
                        if let start = sent["message:\(i)"] { result.atStreet.append(milliseconds(event.arrived - start)); messaged = true }
                    default: break
                    }
                }
                result.missing += polls - polled + (i < messages && !messaged ? 1 : 0)
            }
            progress("at the street: \(result.atStreet.count) notifications received")

            // (2) Tickets from residents, dispatched at the district.
            var tickets: [(index: Int, id: String)] = []
            for i in 0..<min(dispatches, streams) {
                let (status, body) = try await federation.request("POST", http + "/v1/committees/\(committee)/tickets", token: federation.residents[i].token,
                                                                 json: .object(["category": "greening", "title": .string("树枝挡路 \(i)"), "description": ""]))
                guard status == 201, let id = (try? Value(jsonBytes: body))?["id"].string else { throw BenchmarkFailure("ticket: HTTP \(status)") }
                tickets.append((i, id))
            }
            let officer = federation.officers[district]!
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                let (status, _) = try await federation.request("GET", districtHTTP + "/v1/tickets/\(tickets.last!.id)", token: officer)
                if status == 200 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            for client in clients { while await client?.next(within: .zero) != nil {} }
            var dispatched: [Int: ContinuousClock.Instant] = [:]
            for (i, id) in tickets {
                dispatched[i] = .now
                let (status, _) = try await federation.request("POST", districtHTTP + "/v1/tickets/\(id)/events", token: officer,
                                                              json: .object(["type": "assign", "assignee": "区绿化市容局", "note": "派单"]))
                guard status == 201 else { throw BenchmarkFailure("dispatch: HTTP \(status)") }
                try await Task.sleep(for: .milliseconds(50))
            }
            try await Task.sleep(for: .seconds(3))
            for (i, _) in tickets {
                var heard = false
                while let event = await clients[i]?.next(within: .zero) {
                    guard !heard, event.name == "notification", let body = try? Value(json: event.data), body["reason"] == "ticket",
                          body["detail"] == "assign", let start = dispatched[i] else { continue }
                    result.dispatch.append(milliseconds(event.arrived - start))
                    heard = true
                }
                if !heard { result.missing += 1 }
            }
            for client in clients { await client?.close() }
        } catch {
            await federation.stop()
            throw error
        }
        await federation.stop()
        return result
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1_000 + Double(duration.components.attoseconds) / 1e15
    }

    public static func report(_ r: Result) -> String {
        let street = Quantiles(r.atStreet), dispatch = Quantiles(r.dispatch)
        let worst = max(street.p99, dispatch.p99)
        return """
        notifications: \(r.opened) of \(r.streams) event streams open at one street (opened in \(String(format: "%.1f", r.openSeconds)) s)
          commit at the street → stream:      \(street.text)
          dispatch at the district → stream: \(dispatch.text)
          worst p99 \(String(format: "%.1f", worst)) ms (target < 200 ms)\(r.missing > 0 ? "; \(r.missing) never arrived" : "")
        """
    }
}

extension ISO8601DateFormatter {
    /// RFC 3339 in Shanghai time, as the API takes times.
    static var shanghai: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        return formatter
    }
}

private func require<T>(_ value: T?) throws -> T {
    guard let value else { throw BenchmarkFailure("missing value") }
    return value
}
