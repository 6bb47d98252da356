import Foundation
import Governance
import Replication
import Storage
import Testing

/// The rollups, maintained change by change, must equal a brute-force recomputation from the tickets —
/// also when the changes reach a district late and out of order, as after a partition.
@Suite struct TicketRollupTests {
    static let committees = [Committee(id: "c1", name: "一村", street: "s1", district: "d1"),
                             Committee(id: "c2", name: "二村", street: "s1", district: "d1"),
                             Committee(id: "c3", name: "三村", street: "s2", district: "d1")]

    /// A street's worth of random ticket activity, as changes, with a moving clock.
    static func activity(seed: UInt64) throws -> (changes: [Change], end: Int64) {
        final class Clock: @unchecked Sendable { var millis: UInt64 = 1_780_000_000_000 }
        let clock = Clock()
        let street = try Store(path: nil, nodeID: "street.s", wallMillis: { clock.millis }, random: SplitMix64(seed: seed))
        var rng = SplitMix64(seed: seed)
        try street.writeNow { tx in
            for committee in committees { try tx.append(Committee.define(committee, author: "street.s")) }
            var tickets: [String] = []
            for _ in 0..<120 {
                clock.millis += UInt64(rng.next() % 4 * 3_600_000)
                let committee = committees[Int(rng.next() % 3)]
                let resident = Actor(memberID: "m\(rng.next() % 20)", role: .resident, status: .approved, committee: committee.id, unit: nil)
                if tickets.isEmpty || rng.next() % 3 == 0 {
                    let id = tx.mintID(.ticket)
                    let category = TicketCategory.allCases[Int(rng.next() % UInt64(TicketCategory.allCases.count))]
                    try tx.append(try Ticket.create(TicketInput(category: category, title: "问题", description: "", photos: [], location: Location(address: "")),
                                                    in: committee, by: resident, id: id))
                    tickets.append(id)
                    continue
                }
                let ticket = try tx.view.ticket(tickets[Int(rng.next() % UInt64(tickets.count))])!
                let home = committees.first { $0.id == ticket.committee }!
                let staff = Actor(memberID: "cadre-\(home.id)", role: .cadre, status: .approved, committee: home.id, unit: nil)
                let reporter = Actor(memberID: ticket.reporter, role: .resident, status: .approved, committee: home.id, unit: nil)
                let type = TicketEventType.allCases[Int(rng.next() % UInt64(TicketEventType.allCases.count))]
                let actor = (type == .rate || type == .reopen) ? reporter : staff
                if let draft = try? ticket.event(type, note: "记录", assignee: "网格员", rating: 4, in: home, by: actor, id: tx.mintID(.ticketEvent)) {
                    try tx.append(draft)
                }
            }
        }
        let changes = try street.readNow { try $0.changes(origin: "street.s", afterSeq: 0, limit: 100_000) }
        return (changes, Int64(clock.millis))
    }

    /// The same figures, recomputed from the tickets themselves.
    static func bruteForce(_ view: ReadView, now: Int64) throws -> (tickets: [String: [String: Int]], sla: [String: [Int]], quantiles: [String: [Int?]]) {
        var tickets: [String: [String: Int]] = [:]
        var sla: [String: [Int]] = [:]
        var quantiles: [String: [Int?]] = [:]
        for committee in committees {
            for ticket in try view.tickets(committee: committee.id, limit: 100_000) {
                tickets[committee.id, default: [:]][ticket.stage.rawValue, default: 0] += 1
                var row = sla[committee.id] ?? [0, 0, 0, 0, 0, 0]
                row[0] += 1
                if let first = ticket.firstResponseMillis { row[1] += 1; if first - ticket.createdMillis <= Ticket.responseSLAMillis { row[2] += 1 } }
                if ticket.stage == .resolved || ticket.stage == .closed { row[3] += 1; if ticket.level == .committee { row[4] += 1 } }
                if ticket.isOverdue(nowMillis: now) { row[5] += 1 }
                sla[committee.id] = row
            }
            let all = try view.tickets(committee: committee.id, limit: 100_000)
            func histogram(_ durations: [Int64]) -> [Int: Int] {
                durations.reduce(into: [:]) { $0[TicketRollupQuantile.bucket(millis: $1), default: 0] += 1 }
            }
            let responses = histogram(all.compactMap { t in t.firstResponseMillis.map { $0 - t.createdMillis } })
            let resolutions = histogram(all.compactMap { t in t.resolvedMillis.map { $0 - t.createdMillis } })
            if !all.isEmpty {
                quantiles[committee.id] = [TicketRollupQuantile.of(0.5, responses), TicketRollupQuantile.of(0.9, responses),
                                           TicketRollupQuantile.of(0.5, resolutions), TicketRollupQuantile.of(0.9, resolutions)]
            }
        }
        return (tickets, sla, quantiles)
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func rollupsEqualBruteForceWhateverTheDeliveryOrder(seed: UInt64) throws {
        let (changes, end) = try Self.activity(seed: seed)
        var rng = SplitMix64(seed: seed &* 31)
        let district = try Store(path: nil, nodeID: "district.d1", wallMillis: { UInt64(end) })
        try deliverShuffled(changes, duplicateOneIn: 5, maxBatch: 40, rng: &rng, to: district)
        try district.readNow { view in
            let expected = try Self.bruteForce(view, now: end)
            let rollup = try view.ticketRollup(groupBy: .committee, scope: .city)
            #expect(Dictionary(uniqueKeysWithValues: rollup.map { ($0.key, $0.byStage) }) == expected.tickets, "seed \(seed)")
            let sla = try view.slaRollup(groupBy: .committee, scope: .city, nowMillis: end)
            let got = Dictionary(uniqueKeysWithValues: sla.map { ($0.key, [$0.tickets, $0.responded, $0.respondedInTime, $0.resolved, $0.resolvedInCommittee, $0.overdue]) })
            #expect(got == expected.sla, "seed \(seed)")
            let quantiles = Dictionary(uniqueKeysWithValues: sla.map { ($0.key, [$0.firstResponseP50Minutes, $0.firstResponseP90Minutes,
                                                                                  $0.resolutionP50Minutes, $0.resolutionP90Minutes]) })
            #expect(quantiles == expected.quantiles, "seed \(seed)")
            #expect(expected.quantiles.values.contains { $0[2] != nil }, "some ticket was resolved")
            // Per day, the tickets add up to the same total.
            let byDay = try view.ticketRollup(groupBy: .day, scope: .city)
            #expect(byDay.reduce(0) { $0 + $1.total } == expected.tickets.values.flatMap(\.values).reduce(0, +))
            // By street and district, the committees add up; a district officer's scope sees only its district.
            let byStreet = try view.ticketRollup(groupBy: .street, scope: .district("d1"))
            #expect(byStreet.map(\.key) == ["s1", "s2"])
            #expect(byStreet.reduce(0) { $0 + $1.total } == expected.tickets.values.flatMap(\.values).reduce(0, +))
            #expect(try view.ticketRollup(groupBy: .street, scope: .district("d9")).isEmpty)
            let integrity = try view.integrityCheck()
            #expect(integrity == "ok")
        }
    }

    @Test func quantilesComeFromPowerOfTwoBuckets() throws {
        #expect(TicketRollupQuantile.of(0.5, [1: 5, 3: 5]) == 1)
        #expect(TicketRollupQuantile.of(0.9, [1: 5, 3: 5]) == 7)
        #expect(TicketRollupQuantile.of(0.5, [:]) == nil)
    }
}
