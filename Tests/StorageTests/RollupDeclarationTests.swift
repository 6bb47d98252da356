import Foundation
import Governance
import Replication
@testable import Storage
import Testing

/// The declarations of `Rollups.all` are what the HTTP routes and `shequ query` are made from: their `watches` must be
/// exactly the kinds whose changes move each rollup, and their parameters must read and refuse a request's query.
@Suite struct RollupDeclarationTests {
    static let hour: Int64 = 3_600_000

    /// Questions and answers between residents and a cadre (messages, @-mentions, comments on the thread), the third
    /// workload beside the ticket and community ones: the answers rollup needs them.
    static func conversations() throws -> (changes: [Change], end: Int64) {
        final class Clock: @unchecked Sendable { var millis: UInt64 = CommunityRollupTests.start }
        let clock = Clock()
        let street = try Store(path: nil, nodeID: "street.a", wallMillis: { clock.millis })
        let committee = TicketRollupTests.committees[0]
        let cadre = Actor(memberID: "m_cadre", role: .cadre, status: .approved, committee: committee.id, unit: nil)
        func resident(_ id: String) -> Actor { Actor(memberID: id, role: .resident, status: .approved, committee: committee.id, unit: nil) }
        let board = Board.named("neighbours")!
        try street.writeNow { tx in
            try tx.append(Committee.define(committee, author: "street.a"))
            try tx.append(Member.staff(id: "m_cadre", role: .cadre, displayName: "主任", committee: committee.id, unit: nil,
                                       scope: .committee(committee.id), author: "street.a"))
            for id in ["m_r0", "m_r1", "m_r2"] {
                try tx.append(Member.staff(id: id, role: .resident, displayName: "居民", committee: committee.id, unit: nil,
                                           scope: .committee(committee.id), author: "street.a"))
            }
        }
        for round in 0..<6 {
            let asker = "m_r\(round % 3)"
            _ = try street.writeNow { tx in try tx.sendMessage(to: "m_cadre", body: "请问", committee: committee.id, by: resident(asker)) }
            let post = try street.writeNow { tx in
                try tx.createPost(PostInput(title: "路灯", body: "坏了", mentions: ["m_cadre"]), board: board, committee: committee.id, by: resident(asker)).id
            }
            clock.millis += UInt64((round % 2 == 0 ? 2 : 30) * hour)
            if round % 3 != 2 {
                _ = try street.writeNow { tx in try tx.sendMessage(to: asker, body: "已安排", committee: committee.id, by: cadre) }
                _ = try street.writeNow { tx in try tx.comment(on: post, body: "明天修", by: cadre) }
            }
        }
        clock.millis += UInt64(25 * hour)
        return (try street.readNow { try $0.changes(origin: "street.a", afterSeq: 0, limit: 10_000) }, Int64(clock.millis))
    }

    /// The three workloads as one: the community one's origin renamed, as both were made at a street called `street.s`.
    static func everything() throws -> (changes: [Change], end: Int64) {
        let tickets = try TicketRollupTests.activity(seed: 41), community = try CommunityRollupTests.activity(seed: 42)
        let talk = try conversations()
        let renamed = community.changes.map { change in
            var change = change
            change.id = ChangeID(origin: "street.t", seq: change.id.seq)
            return change
        }
        return (tickets.changes + renamed + talk.changes, max(tickets.end, community.end, talk.end))
    }

    /// Every request a rollup's parameters allow over the city, with windows wide enough to hold the workloads.
    static func requests(_ rollup: Rollup) -> [RollupRequest] {
        let groupings = rollup.parameters.groupings.isEmpty ? [RollupGrouping.committee] : rollup.parameters.groupings
        return groupings.flatMap { grouping -> [RollupRequest] in
            var request = RollupRequest(scope: .city, groupBy: grouping, windowDays: RollupParameters.maxWindowDays,
                                        limit: rollup.parameters.limit?.max ?? 20)
            var requests = [request]
            if rollup.parameters.days {
                request.since = "2000-01-01"
                request.until = "2100-01-01"
                requests.append(request)
            }
            return requests
        }
    }

    static func answers(_ rollup: Rollup, at store: Store) throws -> [Value] {
        try store.readNow { view in try requests(rollup).map { try rollup.answer(view, $0) } }
    }

    static func store(_ changes: [Change], end: Int64, keeping kinds: Set<EntityKind>? = nil) throws -> Store {
        let store = try Store(path: nil, nodeID: "district.d1", wallMillis: { UInt64(end) })
        _ = try store.applyRemote(kinds.map { kinds in changes.filter { kinds.contains(EntityKind(rawValue: $0.kind)!) } } ?? changes)
        return store
    }

    /// A node that applied only the kinds a rollup watches answers it exactly as the node that applied everything; leave
    /// out any one of those kinds and some answer changes. So a rollup's `watches` is complete and holds nothing extra.
    @Test func everyRollupWatchesExactlyTheKindsThatMoveIt() throws {
        let (changes, end) = try Self.everything()
        #expect(Set(changes.map(\.kind)).count >= 10, "the workloads make most kinds")
        let whole = try Self.store(changes, end: end)
        for rollup in Rollups.all {
            let expected = try Self.answers(rollup, at: whole)
            let rows = expected.map { answer in ["items", "categories", "posts"].reduce(0) { $0 + (answer[$1].list?.count ?? 0) } }
            #expect(rows.allSatisfy { $0 > 0 }, "\(rollup.name): every answer over the workloads has rows (\(rows))")
            let watched = try Self.store(changes, end: end, keeping: rollup.watches)
            #expect(try Self.answers(rollup, at: watched) == expected, "\(rollup.name) is moved by a kind it does not watch")
            for kind in rollup.watches.sorted(by: { $0.rawValue < $1.rawValue }) {
                let without = try Self.store(changes, end: end, keeping: rollup.watches.subtracting([kind]))
                #expect(try Self.answers(rollup, at: without) != expected, "\(rollup.name) watches \(kind.rawValue), which never moves it")
            }
        }
    }

    @Test func aRequestIsReadByTheParametersItsRollupDeclares() throws {
        let scope = RollupScope.district("d1")
        func request(_ name: String, _ query: [String: String]) throws(RollupParameterError) -> RollupRequest {
            try Rollups.named(name)!.parameters.request(scope: scope) { query[$0] }
        }
        // Defaults: the first grouping, the declared window and limit.
        #expect(try request("sla", [:]) == RollupRequest(scope: scope, groupBy: .committee))
        #expect(try request("hot-topics", [:]).windowDays == 7)
        #expect(try request("hot-topics", [:]).limit == 10)
        #expect(try request("polls", [:]).limit == 20)
        // Given: a day, or a time taken as its day in Shanghai (23:30 UTC is the next morning there); hours round up to days.
        let windowed = try request("tickets", ["groupBy": "day", "since": "2026-05-01", "until": "2026-05-03T23:30:00Z"])
        #expect(windowed == RollupRequest(scope: scope, groupBy: .day, since: "2026-05-01", until: "2026-05-04"))
        #expect(try request("hot-topics", ["window": "49h", "limit": "100"]).windowDays == 3)
        // A parameter the rollup does not take is not read.
        #expect(try request("polls", ["groupBy": "nonsense", "since": "never"]) == RollupRequest(scope: scope, limit: 20))
        // Refused, naming the field and what it must be.
        #expect(throws: RollupParameterError(field: "groupBy", expected: "committee, street or district")) { try request("sla", ["groupBy": "day"]) }
        #expect(throws: RollupParameterError(field: "groupBy", expected: "committee, street, district, category or day")) {
            try request("tickets", ["groupBy": "month"])
        }
        #expect(throws: RollupParameterError(field: "window", expected: "at most 366 days")) { try request("hot-topics", ["window": "367d"]) }
        #expect(throws: RollupParameterError(field: "window", expected: "a number of days or hours, e.g. 7d or 48h")) {
            try request("hot-topics", ["window": "7w"])
        }
        #expect(throws: RollupParameterError(field: "limit", expected: "between 1 and 100")) { try request("hot-topics", ["limit": "101"]) }
        #expect(throws: RollupParameterError.self) { try request("tickets", ["since": "May 1st"]) }
    }

    /// `shequ query` prints what the declaration lays out: the grouping names the key column, an absent stage shows 0, a
    /// hidden result says so, a title takes the answer's fields.
    @Test func theLayoutPrintsAnAnswersRows() {
        let tickets = Rollups.named("tickets")!.layout[0].table(.object([
            "groupBy": .string("street"),
            "items": .list([.object(["key": .string("s1"), "total": .int(3), "byStage": .object(["resolved": .int(3)])])]),
        ]))
        #expect(tickets.header == ["street", "total", "submitted", "acknowledged", "in_progress", "resolved", "closed"])
        #expect(tickets.rows == [["s1", "3", "0", "0", "0", "3", "0"]])
        let polls = Rollups.named("polls")!.layout[0].table(.object(["items": .list([
            .object(["poll": .string("v1"), "closed": .bool(true), "results": .list([.object(["option": .string("甲"), "votes": .int(2)]),
                                                                                      .object(["option": .string("乙"), "votes": .int(1)])])]),
            .object(["poll": .string("v2"), "closed": .bool(false), "results": .null]),
        ])]))
        #expect(polls.rows.map { [$0[0], $0[3], $0[7]] } == [["v1", "yes", "甲 2 / 乙 1"], ["v2", "no", "(hidden until closed)"]])
        let hot = Rollups.named("hot-topics")!.layout[0].table(.object(["since": .string("2026-05-01"), "until": .string("2026-05-07")]))
        #expect(hot.title == "hot topics 2026-05-01 … 2026-05-07")
        // A field's text is not taken as a template in its turn.
        let odd = Rollups.named("hot-topics")!.layout[0].table(.object(["since": .string("{until}"), "until": .string("{since}")]))
        #expect(odd.title == "hot topics {until} … {since}")
        #expect(hot.rows.isEmpty)
    }
}
