import Foundation
import GRDB

/// The first answer to a write sent with an `Idempotency-Key`, kept (locally, never replicated) so that a repeat of
/// the same request — a phone that lost its signal before the answer came, an offline draft sent twice — gets that
/// answer again instead of making a second post, ballot or ticket.
public struct IdempotencyRecord: Sendable, Equatable {
    /// SHA-256 of the method, path and body: the same key with another request is the client's mistake.
    public var fingerprint: String
    public var status: Int
    /// The headers worth replaying (content type, location), as name → value.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(fingerprint: String, status: Int, headers: [String: String], body: [UInt8]) {
        self.fingerprint = fingerprint
        self.status = status
        self.headers = headers
        self.body = body
    }
}

extension Store {
    /// How long an answer is kept: a day, as Stripe's API does; a client retries within minutes.
    public static let idempotencyRetentionMillis: Int64 = 24 * 3_600_000

    /// The answer kept for `key` of `principal`, if one younger than the retention is.
    public func idempotencyRecord(principal: String, key: String) async throws -> IdempotencyRecord? {
        let oldest = nowMillis - Self.idempotencyRetentionMillis
        return try await read { view in
            guard let row = try Row.fetchOne(view.db.cachedStatement(sql: """
                SELECT fingerprint, status, headers, body FROM idempotency WHERE principal = ? AND key = ? AND created_at >= ?
                """), arguments: [principal, key, oldest]) else { return nil }
            let headerText: String = row["headers"]
            let headers = (try? JSONDecoder().decode([String: String].self, from: Data(headerText.utf8))) ?? [:]
            let body: Data = row["body"]
            return IdempotencyRecord(fingerprint: row["fingerprint"], status: row["status"], headers: headers, body: Array(body))
        }
    }

    /// Keeps the answer to `key`, and forgets answers older than the retention.
    public func rememberIdempotent(principal: String, key: String, _ record: IdempotencyRecord) async throws {
        let now = nowMillis
        let headers = String(decoding: try JSONEncoder().encode(record.headers), as: UTF8.self)
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM idempotency WHERE created_at < ?", arguments: [now - Self.idempotencyRetentionMillis])
            try db.execute(sql: """
                INSERT OR REPLACE INTO idempotency(principal, key, fingerprint, status, headers, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [principal, key, record.fingerprint, record.status, headers, Data(record.body), now])
        }
    }
}
