import Foundation
import GRDB
import Governance
import Replication
@testable import Storage
import Testing

/// Full-text search finds a word inside Chinese text and English alike, shows each member only what they may read, and
/// follows edits and deletions; a database from before the index gets it filled from what it holds.
@Suite struct SearchIndexTests {
    static let c1 = Committee(id: "c1", name: "一居委", street: "s1", district: "d1")
    static let c2 = Committee(id: "c2", name: "二居委", street: "s1", district: "d1")
    static func resident(_ id: String, _ committee: Committee = c1) -> Actor {
        Actor(memberID: id, role: .resident, status: .approved, committee: committee.id, unit: nil)
    }
    static let cadre = Actor(memberID: "cadre", role: .cadre, status: .approved, committee: "c1", unit: nil)

    /// A street with posts, a topic and tickets in two committees; returns the ids by name.
    static func seed(_ store: Store) throws -> [String: String] {
        store.indexesSearch = true
        return try store.writeNow { tx in
            try tx.append(Committee.define(c1, author: "street.s"))
            try tx.append(Committee.define(c2, author: "street.s"))
            var ids: [String: String] = [:]
            ids["lamp"] = try tx.createPost(PostInput(title: "路灯坏了", body: "小区东门的路灯坏了一周了"), board: Board.named("around-me")!,
                                            committee: "c1", by: resident("alice")).id
            ids["lift"] = try tx.createPost(PostInput(title: "Lift out of order", body: "The lift in building 5 is broken again"),
                                            board: Board.named("neighbours")!, committee: "c1", by: resident("bob")).id
            ids["other"] = try tx.createPost(PostInput(title: "路灯也坏了", body: "二居委的路灯"), board: Board.named("around-me")!,
                                             committee: "c2", by: resident("carol", c2)).id
            ids["manhole"] = try tx.raiseTicket(TicketInput(category: .facilities, title: "井盖松动", description: "东门口井盖踩上去会响", photos: [], location: Location(address: "")),
                                                committee: "c1", by: resident("alice")).id
            ids["topic"] = try tx.proposeTopic(title: "加装电梯", description: "老小区加装电梯的议题", category: nil, committee: "c1", by: resident("bob")).id
            return ids
        }
    }

    @Test func findsChineseAndEnglishWordsShowsOnlyWhatAMemberMayReadAndFollowsEdits() throws {
        let store = try Store(path: nil, nodeID: "street.s", wallMillis: { 1_780_000_000_000 })
        let ids = try Self.seed(store)
        func found(_ query: String, as member: String = "bob", staff: Bool = false) throws -> [String] {
            try store.readNow { try $0.search(query, committee: "c1", member: member, staff: staff, limit: 20) }.map(\.id)
        }
        #expect(try found("路灯") == [ids["lamp"]!], "two characters: inside Chinese text, this committee only")
        #expect(try found("东门的路灯") == [ids["lamp"]!], "five characters: the trigram index")
        #expect(try found("lift") == [ids["lift"]!] && found("BROKEN") == [ids["lift"]!], "English, any case")
        #expect(try found("电梯") == [ids["topic"]!])
        #expect(try found("井盖", as: "bob").isEmpty, "another resident's ticket")
        #expect(try found("井盖", as: "alice") == [ids["manhole"]!], "the reporter's own")
        #expect(try found("踩上去", as: "cadre", staff: true) == [ids["manhole"]!], "staff see the committee's tickets")
        #expect(try found("东门").count == 1 && found("东门", as: "alice").count == 2)
        for hostile in ["\"", "NEAR(a b)", "a\" OR \"b", "%", "_", "\\", "路灯*", "^路"] { _ = try found(hostile) }
        #expect(try found("%").isEmpty && found("_").isEmpty, "LIKE's wildcards are literal")

        // An edit is found by its new words only; a deleted post not at all.
        try store.writeNow { tx in _ = try tx.editPost(ids["lamp"]!, title: "路灯修好了", body: "谢谢物业", photos: nil, by: Self.resident("alice")) }
        #expect(try found("物业") == [ids["lamp"]!] && found("一周了").isEmpty)
        try store.writeNow { tx in try tx.deletePost(ids["lift"]!, by: Self.resident("bob")) }
        #expect(try found("lift").isEmpty)
    }

    @Test func aDatabaseFromBeforeTheIndexIsFilledFromWhatItHolds() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("search-\(UInt64.random(in: 0...UInt64.max)).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let ids = try Self.seed(try Store(path: path, nodeID: "street.s", wallMillis: { 1_780_000_000_000 }))
        // Back to the schema before v8, as the previous release left it.
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try CellsMigrationTests.putTheCellsBackInTheirTable(db)
            try db.execute(sql: "DROP TABLE search_text; DROP TABLE search_docs; DELETE FROM grdb_migrations WHERE identifier = 'v8-search'")
        }
        try queue.close()
        let store = try Store(path: path, nodeID: "street.s", wallMillis: { 1_780_000_000_000 })
        store.indexesSearch = true
        let hits = try store.readNow { try $0.search("东门", committee: "c1", member: "cadre", staff: true, limit: 20) }
        #expect(Set(hits.map(\.id)) == [ids["lamp"]!, ids["manhole"]!])
        #expect(hits.first { $0.id == ids["manhole"] }?.title == "井盖松动")
        #expect(try store.readNow { try $0.search("lift", committee: "c1", member: "bob", staff: false, limit: 20) }.map(\.id) == [ids["lift"]!])
    }
}
