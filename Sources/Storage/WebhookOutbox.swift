import Foundation
import GRDB
import Metrics
import Replication

/// One delivery waiting for the webhook: a notification as the receiver gets it (standing in for WeChat template
/// messages and SMS), with a stable id the receiver de-duplicates by.
public struct WebhookDelivery: Sendable, Hashable {
    public var number: Int64
    /// The notification's id: the same on every retry.
    public var id: String
    /// The JSON body, canonical, as signed.
    public var body: String
    public var attempts: Int
}

/// The webhook's queue, in SQLite beside the notifications it carries: a delivery is enqueued in the transaction that
/// made its notification, so a restart loses none, and leaves only when the receiver answered 2xx. Bounded: beyond
/// `capacity` the oldest are dropped (and counted), so a receiver gone for weeks cannot fill the disk.
public enum WebhookOutbox {
    public static let capacity = 100_000
    static let dropped = Counter(label: "shequ_webhook_dropped_total")

    static func enqueue(_ notification: InboxNotification, db: Database) throws {
        var body: [String: Value] = [
            "id": .string(notification.id), "reason": .string(notification.reason.rawValue), "audience": .string(notification.audience),
            "entity": .string(notification.entity), "subject": .string(notification.subject), "actor": .string(notification.actor),
            "createdAt": .int(notification.createdMillis),
        ]
        if let committee = notification.committee { body["committee"] = .string(committee) }
        if let detail = notification.detail { body["detail"] = .string(detail) }
        if let title = try ReadView(db: db, store: nil).cellValue(entity: notification.subject, field: "title")?.string { body["title"] = .string(title) }
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO webhook_outbox(delivery, body, next_at, created_at) VALUES (?, ?, 0, ?)")
            .execute(arguments: [notification.id, Value.object(body).canonicalJSON, notification.createdMillis])
        // Bounded: keep the newest `capacity` (checked every 1,000 rows, so the count is not read on every insert).
        let number = db.lastInsertedRowID
        if number % 1_000 == 0, let oldest = try Int64.fetchOne(db, sql: "SELECT number FROM webhook_outbox ORDER BY number DESC LIMIT 1 OFFSET ?", arguments: [capacity]) {
            try db.execute(sql: "DELETE FROM webhook_outbox WHERE number <= ?", arguments: [oldest])
            dropped.increment(by: Int64(db.changesCount))
        }
    }
}

extension Store {
    /// Deliveries due at `nowMillis`, oldest first, at most `limit`.
    public func dueWebhookDeliveries(nowMillis: Int64, limit: Int) async throws -> [WebhookDelivery] {
        try await read { view in
            try Row.fetchAll(view.db, sql: "SELECT number, delivery, body, attempts FROM webhook_outbox WHERE next_at <= ? ORDER BY next_at, number LIMIT ?",
                             arguments: [nowMillis, limit])
                .map { WebhookDelivery(number: $0["number"], id: $0["delivery"], body: $0["body"], attempts: $0["attempts"]) }
        }
    }

    /// The receiver took it: it leaves the queue.
    public func webhookDelivered(_ number: Int64) async throws {
        try await writer.write { db in try db.execute(sql: "DELETE FROM webhook_outbox WHERE number = ?", arguments: [number]) }
    }

    /// It failed: tried again at `nextMillis`.
    public func webhookFailed(_ number: Int64, error: String, nextMillis: Int64) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE webhook_outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE number = ?",
                           arguments: [nextMillis, String(error.prefix(200)), number])
        }
    }

    /// How many deliveries wait, and the oldest one's age in ms (0 when none).
    public func webhookBacklog() async throws -> (count: Int, oldestMillis: Int64) {
        let now = nowMillis
        return try await read { view in
            let row = try Row.fetchOne(view.db, sql: "SELECT count(*) AS n, min(created_at) AS oldest FROM webhook_outbox")
            let oldest: Int64? = row?["oldest"]
            return (row?["n"] ?? 0, oldest.map { max(0, now - $0) } ?? 0)
        }
    }
}
