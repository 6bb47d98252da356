import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import Replication
import ShequTestSupport
import Synchronization
import Testing

extension MultiProcess {
    /// Notifications across real processes: a district's dispatch reaches the resident's open stream at the street, and
    /// the webhook delivers every notification through a failing, hanging and recovering receiver and a SIGKILL.
    @Suite(.serialized) struct NotificationDeliveryTests {
        @Test(.timeLimit(.minutes(3)))
        func aStreetResidentsOpenStreamReceivesTheDistrictsDispatch() async throws {
            let federation = try await TestFederation.start(districts: 1, streets: [1])
            defer { federation.stop() }
            let (street, district, x) = (federation.street, federation.district, federation.committee)
            let (_, resident) = try await Self.resident(federation, name: "赵桂英", room: "302")
            let ticket = try #require(try await federation.call(street, "POST", "/v1/committees/\(x)/tickets", token: resident, json: [
                "category": "greening", "title": "树枝挡住路灯", "description": "5号楼前",
            ])["id"] as? String)
            try await federation.eventually("the ticket at the district") {
                try await federation.status(district, "/v1/tickets/\(ticket)", token: federation.districtOfficer) == 200
            }
            let port = Int(URL(string: street.http)!.port!)
            let stream = try await EventStreamClient.connect(port: port, path: "/v1/me/events", headers: [("Authorization", "Bearer \(resident)")])
            #expect(stream.status == 200)

            // The district platform dispatches it; the resident's page at the street hears of it as a notification.
            let started = ContinuousClock.now
            _ = try await federation.call(district, "POST", "/v1/tickets/\(ticket)/events", token: federation.districtOfficer,
                                          json: ["type": "assign", "assignee": "区绿化市容局", "note": "派单至绿化市容局"])
            let heard = await stream.first(within: .seconds(10)) { $0.name == "notification" }
            let delay = ContinuousClock.now - started
            let body = try Value(json: heard?.data ?? "null")
            #expect(body["reason"] == "ticket" && body["subject"].string == ticket && body["detail"] == "assign", "\(String(describing: heard))")
            print("notification: district dispatch → resident's stream at the street in \(delay)")
            await stream.close()
        }

        @Test(.timeLimit(.minutes(4)))
        func theWebhookDeliversEveryNotificationThroughFailureHangsAndASIGKILL() async throws {
            let receiver = try await WebhookReceiver.start(secret: "a-shared-secret-of-the-test")
            defer { receiver.stop() }
            let federation = try await TestFederation.start(districts: 1, streets: [1])
            defer { federation.stop() }
            let (street, x) = (federation.street, federation.committee)

            // The street gets a webhook: each delivery may take a second, retries at most two seconds apart.
            federation.kill(street)
            let config = "\(federation.directory)/data/\(street.id)/node.yaml"
            let yaml = try String(contentsOfFile: config, encoding: .utf8) + """

                webhook:
                  url: "http://127.0.0.1:\(receiver.port)/hook"
                  secret: "a-shared-secret-of-the-test"
                  timeoutSeconds: 1
                  maxBackoffSeconds: 2

                """
            try yaml.write(toFile: config, atomically: true, encoding: .utf8)
            try await federation.restart(street)

            // The receiver fails: writes go on at their own pace, each notification waits in the queue.
            receiver.mode = .fail
            var slowest: Duration = .zero
            func timed<T>(_ body: () async throws -> T) async throws -> T {
                let started = ContinuousClock.now
                defer { slowest = max(slowest, ContinuousClock.now - started) }
                return try await body()
            }
            var residents: [String] = []
            for (name, room) in [("钱一", "101"), ("孙二", "102"), ("李三", "103")] {
                residents.append(try await timed { try await Self.resident(federation, name: name, room: room).token })  // approved: one each
            }
            let ticket = try #require(try await timed {
                try await federation.call(street, "POST", "/v1/committees/\(x)/tickets", token: residents[0], json: [
                    "category": "environment", "title": "垃圾没人收", "description": "",
                ])["id"] as? String
            })
            for type in ["acknowledge", "start"] {  // two steps of her ticket: two more
                _ = try await timed { try await federation.call(street, "POST", "/v1/tickets/\(ticket)/events", token: federation.cadre, json: ["type": type]) }
            }
            let expected = 5
            try await federation.eventually("failed attempts at every delivery", seconds: 20) { receiver.distinct(failedToo: true) >= expected }
            #expect(receiver.distinct() == 0)

            // It hangs past the timeout (answering late, so the sender counts a failure the receiver saw): then the
            // street is killed mid-delivery, the receiver recovers, and the street comes back.
            receiver.mode = .hang
            try await federation.eventually("a hanging delivery", seconds: 20) { receiver.hung > 0 }
            for type in ["resolve"] {  // one more while it hangs
                _ = try await timed { try await federation.call(street, "POST", "/v1/tickets/\(ticket)/events", token: federation.cadre, json: ["type": type]) }
            }
            federation.kill(street)
            receiver.mode = .ok
            try await federation.restart(street)
            try await federation.eventually("every notification delivered", seconds: 30) { receiver.distinct() >= expected + 1 }
            try await Task.sleep(for: .seconds(2))
            #expect(receiver.distinct() == expected + 1, "no more than what was made: \(receiver.summary)")
            #expect(receiver.badSignatures == 0)
            #expect(slowest < .seconds(2), "a write waited for the receiver: \(slowest)")
            print("webhook: \(expected + 1) notifications delivered through failure, hangs and a SIGKILL; \(receiver.summary); slowest write \(slowest)")
        }

        /// A resident joined and approved at the street.
        static func resident(_ federation: TestFederation, name: String, room: String) async throws -> (id: String, token: String) {
            let (street, x) = (federation.street, federation.committee)
            let code = try await federation.call(street, "GET", "/v1/committees/\(x)/join-code", token: federation.cadre)["joinCode"] as! String
            let joined = try await federation.call(street, "POST", "/v1/committees/\(x)/join", token: nil, json: [
                "joinCode": code, "realName": name, "phone": "138\(String(format: "%08d", Int.random(in: 0..<100_000_000)))", "building": "1号楼", "room": room,
            ])
            let id = try #require(joined["memberId"] as? String)
            _ = try await federation.call(street, "POST", "/v1/committees/\(x)/members/\(id)/approve", token: federation.cadre)
            return (id, try #require(joined["token"] as? String))
        }
    }
}

/// A webhook receiver on loopback that answers as told — 503, late, or 200 — and checks each signature.
final class WebhookReceiver: Sendable {
    enum Mode: Sendable { case ok, fail, hang }
    struct State {
        var mode = Mode.ok
        var delivered: [String: Int] = [:]
        var attempted: Set<String> = []
        var hung = 0
        var badSignatures = 0
    }
    let port: Int
    let secret: String
    private let state = Mutex(State())
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)

    private init(port: Int, secret: String) {
        self.port = port
        self.secret = secret
    }

    static func start(secret: String) async throws -> WebhookReceiver {
        let receiver = WebhookReceiver(port: try IPv4.freePort(), secret: secret)
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            let id = request.headers[HTTPField.Name("X-Shequ-Delivery")!] ?? ""
            let timestamp = request.headers[HTTPField.Name("X-Shequ-Timestamp")!] ?? ""
            let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
            let valid = request.headers[HTTPField.Name("X-Shequ-Signature")!] == "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
                && (try? Value(json: body))?["id"].string == id
            let mode = receiver.state.withLock { state -> Mode in
                if !valid { state.badSignatures += 1 }
                state.attempted.insert(id)
                if state.mode == .hang { state.hung += 1 }
                return state.mode
            }
            switch mode {
            case .fail:
                return Response(status: .serviceUnavailable)
            case .hang:
                try? await Task.sleep(for: .seconds(3))
                return Response(status: .ok)
            case .ok:
                receiver.state.withLock { $0.delivered[id, default: 0] += 1 }
                return Response(status: .noContent)
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: receiver.port)))
        receiver.task.withLock { $0 = Task { try await app.runService() } }
        for _ in 0..<100 where !Self.listening(receiver.port) { try await Task.sleep(for: .milliseconds(50)) }
        return receiver
    }

    static func listening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return IPv4.connect(fd, IPv4.address("127.0.0.1", port: UInt16(port))) == 0
    }

    var mode: Mode {
        get { state.withLock { $0.mode } }
        set { state.withLock { $0.mode = newValue } }
    }
    var hung: Int { state.withLock { $0.hung } }
    var badSignatures: Int { state.withLock { $0.badSignatures } }
    /// Distinct deliveries taken with a 2xx (or, with `failedToo`, attempted at all).
    func distinct(failedToo: Bool = false) -> Int { state.withLock { failedToo ? $0.attempted.count : $0.delivered.count } }
    var summary: String {
        state.withLock { s in "\(s.delivered.count) distinct, \(s.delivered.values.reduce(0, +) - s.delivered.count) repeats taken, \(s.hung) hung" }
    }

    func stop() { task.withLock { $0?.cancel() } }
}
