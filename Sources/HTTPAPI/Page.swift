import Foundation
import Governance
import Hummingbird
import NIOCore
import Replication
import Storage

/// Pagination: `limit` (1–200, default 50) and an opaque `cursor` returned as `nextCursor`.
struct Page: Sendable {
    static let maxLimit = 200
    let limit: Int
    /// Where the previous page ended (`PageCursor`: its last entity's stamp and id).
    let after: PageCursor?

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        self.limit = try Self.limit(query.get("limit"), default: 50, max: Self.maxLimit)
        if let token = query.get("cursor") {
            guard let cursor = PageCursor(token: token) else { throw APIError.invalid("cursor", "not a cursor this server issued") }
            self.after = cursor
        } else {
            self.after = nil
        }
    }

    /// A `limit` parameter: between 1 and `max`, `fallback` when absent.
    static func limit(_ text: String?, default fallback: Int, max: Int) throws -> Int {
        guard let text else { return fallback }
        guard let limit = Int(text), (1...max).contains(limit) else { throw APIError.invalid("limit", "between 1 and \(max)") }
        return limit
    }

    /// The response envelope: the items and, when the page is full, the cursor for the next one.
    func envelope(_ items: [Value], last: PageCursor?) -> Value {
        .object(["items": .list(items), "nextCursor": next(fetched: items.count, last: last)])
    }

    /// The next page's cursor when this one came back full.
    func next(fetched: Int, last: PageCursor?) -> Value {
        guard fetched == limit, let last else { return .null }
        return .string(last.token)
    }
}
