import Foundation
import GRDB
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
            // By street, the committees' rows add up (summed as they are read, not by SQL).
            let slaByStreet = try view.slaRollup(groupBy: .street, scope: .district("d1"), nowMillis: end)
            for street in ["s1", "s2"] {
                let members = Self.committees.filter { $0.street == street }.compactMap { c in sla.first { $0.key == c.id } }
                let summed = SLARollupRow.sum(members, key: street)
                let row = slaByStreet.first { $0.key == street }
                #expect([row?.tickets, row?.responded, row?.respondedInTime, row?.resolved, row?.resolvedInCommittee, row?.overdue, row?.rated, row?.ratingSum]
                        == [summed.tickets, summed.responded, summed.respondedInTime, summed.resolved, summed.resolvedInCommittee, summed.overdue,
                            summed.rated, summed.ratingSum], "seed \(seed) \(street)")
            }
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

    /// Tickets per unit and stage in `scope`, created in `since...until`, counted from the tickets and the committees
    /// this node holds (tickets of a committee not defined here count nowhere).
    static func bruteForce(_ view: ReadView, groupBy: RollupGrouping, scope: RollupScope, since: String?, until: String?) throws -> [String: [String: Int]] {
        var counts: [String: [String: Int]] = [:]
        for id in committees.map(\.id) + [late.id] {
            guard let committee = try view.committee(id), scope.contains(committee) else { continue }
            for ticket in try view.tickets(committee: id, limit: 100_000) {
                let day = ShanghaiCalendar.day(ofMillis: ticket.createdMillis)
                if let since, day < since { continue }
                if let until, day > until { continue }
                let key = switch groupBy {
                case .committee: committee.id
                case .street: committee.street
                case .district: committee.district
                case .category: ticket.category.rawValue
                case .day: day
                }
                counts[key, default: [:]][ticket.stage.rawValue, default: 0] += 1
            }
        }
        return counts
    }

    /// A committee whose id sorts after every ticket's: applied after them when they arrive in one batch.
    static let late = Committee(id: "zz", name: "新村", street: "s3", district: "d1")

    /// The days (Shanghai time) tickets were created on.
    static func days(_ view: ReadView) throws -> [String] {
        Set(try (committees + [late]).flatMap { try view.tickets(committee: $0.id, limit: 100_000) }.map { ShanghaiCalendar.day(ofMillis: $0.createdMillis) }).sorted()
    }

    /// Every grouping, scope and window the rollup answers must equal the count from the tickets.
    static func expectEveryWindowEqualsTheTickets(_ view: ReadView, days: [String], _ comment: String) throws {
        let windows: [(String?, String?)] = [(nil, nil), (days[days.count / 3], days[2 * days.count / 3]), (nil, days[days.count / 2]),
                                             (days[days.count / 2], nil), (days[0], days[0])]
        let scopes: [RollupScope] = [.city, .district("d1"), .district("d9"), .street("s1"), .street("s2"), .committee("c1")]
        for groupBy in RollupGrouping.allCases {
            for scope in scopes {
                for (since, until) in windows {
                    let rollup = try view.ticketRollup(groupBy: groupBy, scope: scope, since: since, until: until)
                    let expected = try bruteForce(view, groupBy: groupBy, scope: scope, since: since, until: until)
                    #expect(Dictionary(uniqueKeysWithValues: rollup.map { ($0.key, $0.byStage) }) == expected,
                            "\(comment) \(groupBy) \(scope) \(since ?? "-")...\(until ?? "-")")
                }
            }
        }
    }

    /// The per-street daily table (windows by street, district, category or day) follows its committees: tickets that
    /// arrive before their committee count once it arrives, and a committee moved to another street takes its tickets.
    @Test(arguments: [UInt64(6), 7, 8])
    func windowsByStreetFollowTheirCommittees(seed: UInt64) throws {
        let (changes, end) = try Self.activity(seed: seed)
        var rng = SplitMix64(seed: seed &* 17)
        let district = try Store(path: nil, nodeID: "district.d1", wallMillis: { UInt64(end) })
        // Every ticket first, then the committees.
        try deliverShuffled(changes.filter { $0.kind != EntityKind.committee.rawValue }, duplicateOneIn: 4, maxBatch: 30, rng: &rng, to: district)
        let beforeCommittees = try district.readNow { try $0.ticketRollup(groupBy: .street, scope: .city, since: "2000-01-01", until: "2100-01-01") }
        #expect(beforeCommittees.isEmpty, "no committee is defined: no street to count under")
        try deliverShuffled(changes.filter { $0.kind == EntityKind.committee.rawValue }, duplicateOneIn: 4, maxBatch: 2, rng: &rng, to: district)
        let days = try district.readNow { try Self.days($0) }
        #expect(days.count > 5, "the tickets span days")
        try district.readNow { try Self.expectEveryWindowEqualsTheTickets($0, days: days, "seed \(seed), committees last") }

        // c2 moves from street s1 to s2, by a later change from another node.
        let mover = try Store(path: nil, nodeID: "street.t", wallMillis: { UInt64(end + 60_000) })
        try mover.writeNow { tx in
            try tx.append(Committee.define(Committee(id: "c2", name: "二村", street: "s2", district: "d1"), author: "street.t"))
        }
        _ = try district.applyRemote(try mover.readNow { try $0.changes(origin: "street.t", afterSeq: 0, limit: 10) })
        let moved = try district.readNow { try $0.committee("c2") }
        #expect(moved?.street == "s2")
        try district.readNow { try Self.expectEveryWindowEqualsTheTickets($0, days: days, "seed \(seed), c2 moved") }

        // A new committee and its tickets in one batch: the tickets' rows move with the committee applied after them.
        try mover.writeNow { tx in
            try tx.append(Committee.define(Self.late, author: "street.t"))
            let resident = Actor(memberID: "m1", role: .resident, status: .approved, committee: Self.late.id, unit: nil)
            for category in TicketCategory.allCases {
                try tx.append(try Ticket.create(TicketInput(category: category, title: "新问题", description: "", photos: [], location: Location(address: "")),
                                                in: Self.late, by: resident, id: tx.mintID(.ticket)))
            }
        }
        _ = try district.applyRemote(try mover.readNow { try $0.changes(origin: "street.t", afterSeq: 1, limit: 100) })
        let s3 = try district.readNow { try $0.ticketRollup(groupBy: .street, scope: .street("s3"), since: "2000-01-01", until: "2100-01-01") }
        #expect(s3.map(\.total) == [TicketCategory.allCases.count])
        try district.readNow { try Self.expectEveryWindowEqualsTheTickets($0, days: try Self.days($0), "seed \(seed), a committee with its tickets") }
    }

    /// A node written before v13 gets the per-street table filled from its committee-day rows on opening, and its
    /// year's counts turned into a column per stage.
    @Test func theMigrationFillsTheStreetTableFromWhatTheNodeHolds() throws {
        let (changes, end) = try Self.activity(seed: 9)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-v13-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let before: [TicketRollupRow], yearBefore: [TicketRollupRow]
        do {
            let district = try Store(path: path, nodeID: "district.d1", wallMillis: { UInt64(end) })
            _ = try district.applyRemote(changes)
            before = try district.readNow { try $0.ticketRollup(groupBy: .street, scope: .district("d1"), since: "2000-01-01", until: "2100-01-01") }
            yearBefore = try district.readNow { try $0.ticketRollup(groupBy: .committee, scope: .city) }
        }
        #expect(before.reduce(0) { $0 + $1.total } > 0)
        // Back to the schema before v13, as the previous release left it.
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: """
                DROP TABLE rollup_tickets_street;
                DROP TABLE rollup_tickets_all;
                CREATE TABLE rollup_tickets_all (
                    committee TEXT NOT NULL, category TEXT NOT NULL, stage TEXT NOT NULL, count INTEGER NOT NULL,
                    PRIMARY KEY (committee, category, stage)
                ) WITHOUT ROWID;
                INSERT INTO rollup_tickets_all(committee, category, stage, count)
                    SELECT committee, category, stage, SUM(count) FROM rollup_tickets GROUP BY committee, category, stage;
                DELETE FROM grdb_migrations WHERE identifier = 'v13-tickets-by-street';
                """)
        }
        try queue.close()
        let reopened = try Store(path: path, nodeID: "district.d1", wallMillis: { UInt64(end) })
        let after = try reopened.readNow { try $0.ticketRollup(groupBy: .street, scope: .district("d1"), since: "2000-01-01", until: "2100-01-01") }
        #expect(after == before)
        let yearAfter = try reopened.readNow { try $0.ticketRollup(groupBy: .committee, scope: .city) }
        #expect(yearAfter == yearBefore && !yearAfter.isEmpty)
        try reopened.readNow { try Self.expectEveryWindowEqualsTheTickets($0, days: try Self.days($0), "after the migration") }
    }

    @Test func quantilesComeFromPowerOfTwoBuckets() throws {
        #expect(TicketRollupQuantile.of(0.5, [1: 5, 3: 5]) == 1)
        #expect(TicketRollupQuantile.of(0.9, [1: 5, 3: 5]) == 7)
        #expect(TicketRollupQuantile.of(0.5, [:]) == nil)
    }
}
