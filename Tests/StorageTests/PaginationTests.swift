import Governance
import Replication
import Storage
import Testing

/// Lists page by (created, id). Changes from different nodes can carry the same hybrid-clock stamp; with a cursor of
/// the stamp alone and a strict `<`, the entity after a page's edge that shares the edge's stamp was skipped.
@Suite struct PaginationTests {
    @Test func entitiesSharingAStampAtAPageEdgeAreAllListedOnce() throws {
        let store = try Store(path: nil, nodeID: "district.test", wallMillis: { 2_000_000 })
        // Five posts on one board from five streets, all stamped in the same millisecond with the same counter.
        let hlc = HLCTimestamp(millis: 1_000_000, counter: 0)
        let changes = (1...5).map { n in
            Change(id: ChangeID(origin: "street.\(n)", seq: 1), hlc: hlc,
                   draft: ChangeDraft(scope: .committee("c1"), kind: "post", entity: "p_\(n)", op: .assign,
                                      fields: ["board": .string("neighbours"), "author": .string("m_\(n)"), "title": .string("第\(n)帖"),
                                               "body": .string("内容")], author: "m_\(n)"))
        }
        _ = try store.applyRemote(changes)
        for limit in 1...3 {
            var seen: [String] = []
            var cursor: PageCursor?
            for _ in 0..<10 {
                let page = try store.readNow { try $0.posts(board: "neighbours", scopes: [.committee("c1")], limit: limit, after: cursor) }
                seen += page.map(\.id)
                guard page.count == limit, let last = page.last else { break }
                cursor = PageCursor(created: Int64(last.created.rawValue), id: last.id)
                // The token a client holds comes back as the same cursor.
                #expect(PageCursor(token: cursor!.token) == cursor)
            }
            #expect(seen == ["p_5", "p_4", "p_3", "p_2", "p_1"], "limit \(limit)")
        }
        #expect(PageCursor(token: "zz") == nil && PageCursor(token: ".p_1") == nil && PageCursor(token: "1a.") == nil)
    }
}
