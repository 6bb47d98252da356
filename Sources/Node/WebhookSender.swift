import Crypto
import Foundation
import FoundationNetworking
import Logging
import Metrics
import ServiceLifecycle
import Storage

/// Where a node delivers its notifications besides the app.
public struct WebhookTarget: Sendable, Hashable {
    public var url: URL
    /// Shared with the receiver: each body is signed with it (HMAC-SHA256).
    public var secret: String
    /// How long one delivery may take before it counts as failed (`webhook.timeoutSeconds`, 10).
    public var timeoutSeconds: Double = 10
    /// The longest wait between retries (`webhook.maxBackoffSeconds`, 3600).
    public var maxBackoffSeconds: Double = 3_600

    public init(url: URL, secret: String, timeoutSeconds: Double = 10, maxBackoffSeconds: Double = 3_600) {
        self.url = url
        self.secret = secret
        self.timeoutSeconds = timeoutSeconds
        self.maxBackoffSeconds = maxBackoffSeconds
    }

    /// The signature header's value for a body sent at `timestamp` (seconds): `sha256=<hex of HMAC(secret, "t.body")>`.
    /// The receiver recomputes it, and refuses a timestamp far from its clock (a replayed request).
    public func signature(body: String, timestamp: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}

/// Sends the webhook queue (`WebhookOutbox`) to the receiver: at least once, in order of due time, each delivery with
/// its stable id (`X-Shequ-Delivery`) so the receiver can drop a repeat; a failure (an error status, a refused
/// connection, no answer within the timeout) is tried again with exponential backoff and jitter, up to an hour apart
/// (`webhook.maxBackoffSeconds`).
/// It runs beside the writes and never inside them: a slow or dead receiver holds up only its own queue.
public final class WebhookSender: Service, Sendable {
    let store: Store
    let target: WebhookTarget
    let logger: Logger
    /// Deliveries sent at once.
    let concurrency: Int

    static let sent = Counter(label: "shequ_webhook_deliveries_total", dimensions: [("result", "delivered")])
    static let failed = Counter(label: "shequ_webhook_deliveries_total", dimensions: [("result", "failed")])

    public init(store: Store, target: WebhookTarget, concurrency: Int = 4, logger: Logger) {
        self.store = store
        self.target = target
        self.concurrency = concurrency
        self.logger = logger
    }

    /// The wait before attempt `attempts + 1`: 1 s doubling, at most `maxBackoffSeconds`, with up to a quarter more at
    /// random so that the retries of many deliveries after an outage do not arrive together.
    func backoffMillis(attempts: Int) -> Int64 {
        let base = min(Int64(1_000) << Int64(min(attempts, 12)), max(1_000, Int64(target.maxBackoffSeconds * 1_000)))
        return base + Int64.random(in: 0...(base / 4))
    }

    public func run() async throws {
        let signals = store.inboxSignals()
        // One loop sends; new notifications and a once-a-second tick (retries coming due) wake it, coalesced.
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { for await _ in signals { wake.yield() } }
                group.addTask {
                    while !Task.isCancelled {
                        wake.yield()
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
                group.addTask { for await _ in wakes { await self.drain() } }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            wake.finish()
        }
    }

    /// Sends every due delivery, `concurrency` at a time.
    func drain() async {
        while !Task.isCancelled {
            guard let due = try? await store.dueWebhookDeliveries(nowMillis: store.nowMillis, limit: 64), !due.isEmpty else { return }
            await withTaskGroup(of: Void.self) { group in
                var iterator = due.makeIterator()
                for _ in 0..<concurrency { if let next = iterator.next() { group.addTask { await self.deliver(next) } } }
                while await group.next() != nil { if let next = iterator.next() { group.addTask { await self.deliver(next) } } }
            }
        }
    }

    func deliver(_ delivery: WebhookDelivery) async {
        var request = URLRequest(url: target.url)
        request.httpMethod = "POST"
        request.timeoutInterval = target.timeoutSeconds
        let timestamp = store.nowMillis / 1_000
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(delivery.id, forHTTPHeaderField: "X-Shequ-Delivery")
        request.setValue(String(timestamp), forHTTPHeaderField: "X-Shequ-Timestamp")
        request.setValue(target.signature(body: delivery.body, timestamp: timestamp), forHTTPHeaderField: "X-Shequ-Signature")
        request.setValue(String(delivery.attempts + 1), forHTTPHeaderField: "X-Shequ-Attempt")
        request.httpBody = Data(delivery.body.utf8)
        let outcome: String?
        do {
            let (_, response) = try await URLSession.shared.data(for: request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            outcome = (200..<300).contains(status) ? nil : "HTTP \(status)"
        } catch {
            outcome = "\(error)"
        }
        do {
            if let outcome {
                Self.failed.increment()
                let wait = backoffMillis(attempts: delivery.attempts)
                if delivery.attempts < 3 || delivery.attempts % 10 == 0 {
                    logger.warning("webhook delivery failed", metadata: ["delivery": "\(delivery.id)", "attempt": "\(delivery.attempts + 1)", "error": "\(outcome)", "retryInMs": "\(wait)"])
                }
                try await store.webhookFailed(delivery.number, error: outcome, nextMillis: store.nowMillis + wait)
            } else {
                Self.sent.increment()
                try await store.webhookDelivered(delivery.number)
            }
        } catch {
            logger.error("webhook queue update failed", metadata: ["error": "\(error)"])
        }
    }
}
