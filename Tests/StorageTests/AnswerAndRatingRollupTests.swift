import Foundation
import Governance
import Replication
import Storage
import Testing

/// The "24-hour secretary" and satisfaction figures: how fast cadres answer @-mentions and private messages, and the
/// mean rating of resolved tickets — the same at a replica that received the answers before the questions.
@Suite struct AnswerAndRatingRollupTests {
    @Test func answersWithinADayAndRatingsAreCountedWhateverOrderTheyArriveIn() throws {
        final class Clock: @unchecked Sendable { var millis: UInt64 = 1_780_000_000_000 }
        let clock = Clock()
        let street = try Store(path: nil, nodeID: "street.s", wallMillis: { clock.millis })
        let committee = Committee(id: "c1", name: "一村", street: "s1", district: "d1")
        let cadre = Actor(memberID: "m_cadre", role: .cadre, status: .approved, committee: "c1", unit: nil)
        func resident(_ id: String) -> Actor { Actor(memberID: id, role: .resident, status: .approved, committee: "c1", unit: nil) }
        let hour: UInt64 = 3_600_000
        try street.writeNow { tx in
            try tx.append(Committee.define(committee, author: "street.s"))
            try tx.append(Member.staff(id: "m_cadre", role: .cadre, displayName: "主任", committee: "c1", unit: nil, scope: .committee("c1"), author: "street.s"))
            for id in ["m_a", "m_b"] {
                try tx.append(Member.staff(id: id, role: .resident, displayName: "居民", committee: "c1", unit: nil, scope: .committee("c1"), author: "street.s"))
            }
        }
        // A asks by message, answered in 2 h; B @s the cadre, answered on the thread after 30 h; A @s again, never answered.
        _ = try street.writeNow { tx in try tx.sendMessage(to: "m_cadre", body: "请问", committee: "c1", by: resident("m_a")) }
        let board = Board.named("neighbours")!
        let late = try street.writeNow { tx in
            try tx.createPost(PostInput(title: "路灯", body: "坏了", mentions: ["m_cadre"]), board: board, committee: "c1", by: resident("m_b")).id
        }
        clock.millis += 2 * hour
        _ = try street.writeNow { tx in try tx.sendMessage(to: "m_a", body: "已安排", committee: "c1", by: cadre) }
        clock.millis += 28 * hour
        _ = try street.writeNow { tx in try tx.comment(on: late, body: "明天修", by: cadre) }
        _ = try street.writeNow { tx in
            try tx.createPost(PostInput(title: "噪音", body: "夜里", mentions: ["m_cadre"]), board: board, committee: "c1", by: resident("m_a"))
        }
        // Two tickets rated 4 and 5; a third resolved but not rated.
        for rating in [4, 5, nil] as [Int?] {
            let ticket = try street.writeNow { tx in
                try tx.raiseTicket(TicketInput(category: .facilities, title: "井盖", description: "", photos: [], location: Location(address: "")),
                                   committee: "c1", by: resident("m_a")).id
            }
            _ = try street.writeNow { tx in try tx.ticketEvent(.resolve, ticket: ticket, by: cadre) }
            if let rating { _ = try street.writeNow { tx in try tx.ticketEvent(.rate, ticket: ticket, rating: rating, by: resident("m_a")) } }
        }
        clock.millis += 25 * hour

        func figures(_ store: Store) throws -> (AnswerRollupRow?, SLARollupRow?) {
            try store.readNow { view in
                (try view.answerRollup(groupBy: .committee, scope: .city, nowMillis: Int64(clock.millis)).first,
                 try view.slaRollup(groupBy: .committee, scope: .city, nowMillis: Int64(clock.millis)).first)
            }
        }
        let (answers, sla) = try figures(street)
        #expect(answers == AnswerRollupRow(key: "c1", asked: 3, answered: 2, answeredInDay: 1, waitingOverDay: 1))
        #expect(answers?.inDayShare == 1.0 / 3.0)
        #expect(sla?.rated == 2 && sla?.satisfaction == 4.5)

        // A replica that has the committee and its members, then gets everything else in reverse order (each answer before
        // its question), ends with the same figures.
        let changes = try street.readNow { try $0.changes(origin: "street.s", afterSeq: 0, limit: 100_000) }
        let district = try Store(path: nil, nodeID: "district.d", wallMillis: { clock.millis })
        let (people, rest) = (changes.filter { $0.kind == "committee" || $0.kind == "member" }, changes.filter { $0.kind != "committee" && $0.kind != "member" })
        _ = try district.writeNow { tx in try tx.applyRemote(people) }
        for change in rest.reversed() { _ = try district.writeNow { tx in try tx.applyRemote([change]) } }
        let (replicaAnswers, replicaSLA) = try figures(district)
        #expect(replicaAnswers == answers, "\(String(describing: replicaAnswers))")
        #expect(replicaSLA?.rated == 2 && replicaSLA?.ratingSum == 9)
    }
}
