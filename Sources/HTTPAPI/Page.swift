import Foundation
import Governance
import Hummingbird
import NIOCore
import Replication

/// Pagination: `limit` (1–200, default 50) and an opaque `cursor` returned as `nextCursor`.
struct Page: Sendable {
    static let maxLimit = 200
    let limit: Int
    let before: Int64?

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        self.limit = try Self.limit(query.get("limit"), default: 50, max: Self.maxLimit)
        if let cursor = query.get("cursor") {
            guard let before = Int64(cursor, radix: 36), before > 0 else { throw APIError.invalid("cursor", "not a cursor this server issued") }
            self.before = before
        } else {
            self.before = nil
        }
    }

    /// A `limit` parameter: between 1 and `max`, `fallback` when absent.
    static func limit(_ text: String?, default fallback: Int, max: Int) throws -> Int {
        guard let text else { return fallback }
        guard let limit = Int(text), (1...max).contains(limit) else { throw APIError.invalid("limit", "between 1 and \(max)") }
        return limit
    }

    /// The response envelope: the items and, when the page is full, the cursor for the next one.
    func envelope(_ items: [Value], lastCreated: Int64?) -> Value {
        let next: Value = (items.count == limit && lastCreated != nil) ? .string(String(lastCreated!, radix: 36)) : .null
        return .object(["items": .list(items), "nextCursor": next])
    }
}
