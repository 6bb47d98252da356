import Governance
import Replication
import Testing

/// Tallies and ticket state are functions of stamps, never of arrival order.
@Suite struct DerivedStateTests {
    static func stamp(_ millis: UInt64, _ origin: String = "street.a") -> WriteStamp { WriteStamp(hlc: HLCTimestamp(millis: millis, counter: 0), origin: origin) }
    static func cell(_ value: Value, at millis: UInt64 = 1) -> Cell { Cell(value: value, stamp: stamp(millis), op: .add) }

    static let poll = Poll(EntityRecord(id: "v1", kind: .poll, scope: .committee("c"), cells: [
        "kind": cell(.string("proposal")), "options": cell(.strings(["a", "b"])), "opensAt": cell(.int(100)), "closesAt": cell(.int(1_000)),
        "maxChoices": cell(.int(1)), "quorum": cell(.int(2)), "closed": cell(.bool(true), at: 500),
    ]))!

    @Test func latestCountingBallotPerVoterCountsAndLateBallotsNever() {
        let ballots = [
            Ballot(id: "1", poll: "v1", voter: "x", choices: ["a"], stamp: Self.stamp(200)),
            Ballot(id: "2", poll: "v1", voter: "x", choices: ["b"], stamp: Self.stamp(300)),   // re-vote replaces
            Ballot(id: "3", poll: "v1", voter: "x", choices: ["a"], stamp: Self.stamp(600)),   // after the manual close
            Ballot(id: "4", poll: "v1", voter: "y", choices: ["a"], stamp: Self.stamp(50)),    // before it opened
            Ballot(id: "5", poll: "v1", voter: "z", choices: ["a"], stamp: Self.stamp(499)),
        ]
        var rng = SplitMix64(seed: 3)
        for _ in 0..<20 {
            let tally = Self.poll.tally(ballots.shuffled(using: &rng))
            #expect(tally.counts == ["a": 1, "b": 1])
            #expect(tally.ballots == 2 && tally.quorumMet)
        }
    }

    @Test func ticketFoldIsOrderIndependentAndComputesTheSLA() {
        let record = EntityRecord(id: "t1", kind: .ticket, scope: .committee("c"), cells: [
            "category": Self.cell(.string("greening"), at: 0), "title": Self.cell(.string("t"), at: 0), "reporter": Self.cell(.string("r"), at: 0),
        ])
        func event(_ id: String, _ type: TicketEventType, at hours: Double, staff: Bool = true, extra: [String: Value] = [:]) -> TicketEvent {
            var cells: [String: Cell] = ["ticket": Self.cell(.string("t1")), "type": Self.cell(.string(type.rawValue)), "byStaff": Self.cell(.bool(staff))]
            for (k, v) in extra { cells[k] = Self.cell(v) }
            for key in cells.keys { cells[key]!.stamp = Self.stamp(UInt64(hours * 3_600_000)) }
            return TicketEvent(EntityRecord(id: id, kind: .ticketEvent, scope: .committee("c"), cells: cells))!
        }
        let events = [
            event("e1", .escalate, at: 16, extra: ["level": .string("street")]),
            event("e2", .escalate, at: 17, extra: ["level": .string("district")]),
            event("e3", .resolve, at: 20),
            event("e4", .acknowledge, at: 21),   // too late to move the stage: the ticket is resolved
            event("e5", .rate, at: 22, staff: false, extra: ["rating": .int(4)]),
        ]
        var rng = SplitMix64(seed: 9)
        for _ in 0..<20 {
            let ticket = Ticket(record, events: events.shuffled(using: &rng))!
            #expect(ticket.stage == .closed && ticket.level == .district && ticket.rating == 4)
            #expect(ticket.firstResponseMillis == Int64(16 * 3_600_000))
            #expect(!ticket.metSLA(nowMillis: 0))
            #expect(ticket.history.map(\.id) == ["e1", "e2", "e3", "e4", "e5"])
        }
        let untouched = Ticket(record, events: [])!
        #expect(!untouched.isOverdue(nowMillis: 15 * 3_600_000) && untouched.isOverdue(nowMillis: 15 * 3_600_000 + 1))
    }

    /// The rules the rollups count by live here, beside what they judge: the SLA's figures of a ticket, the under-50 band.
    @Test func theRollupsRulesAreThoseOfTheTicketAndTheMember() {
        #expect(Ticket.respondedInTime(createdMillis: 1_000, firstResponseMillis: 1_000 + Ticket.responseSLAMillis))
        #expect(!Ticket.respondedInTime(createdMillis: 1_000, firstResponseMillis: 1_001 + Ticket.responseSLAMillis))
        #expect(!Ticket.respondedInTime(createdMillis: 1_000, firstResponseMillis: nil))
        // Buckets of minutes: under one, then [1], [2, 3], [4, 7], … — and a clock that ran backwards counts as zero.
        #expect([0, 59_999, 60_000, 119_999, 120_000, 239_999, 240_000, -5].map(Ticket.durationBucket(millis:)) == [0, 0, 1, 1, 2, 2, 3, 0])
        #expect(TicketStage.allCases.filter(\.isSolved) == [.resolved, .closed])
        let bands = (0...100).map { Member.ageBand(birthYear: 2026 - $0, currentYear: 2026) }
        let under50 = bands.enumerated().filter { Member.under50Bands.contains($0.element) }.map(\.offset)
        #expect(under50 == Array(0..<50), "exactly the ages below 50")
    }

    @Test func campaignPlacesGoToTheEarliestSignups() {
        let campaign = Campaign(EntityRecord(id: "cp", kind: .campaign, scope: .committee("c"), cells: ["capacity": Self.cell(.int(2))]))!
        let standings = campaign.standings([("late", Self.stamp(30)), ("first", Self.stamp(10)), ("second", Self.stamp(20, "street.b"))])
        #expect(standings.map(\.member) == ["first", "second", "late"])
        #expect(standings.map(\.confirmed) == [true, true, false])
    }
}

@Suite struct ShanghaiCalendarTests {
    @Test func daysAndYearsAreCountedInShanghaiTime() {
        // 2025-12-31T16:00:00Z is already 2026-01-01 00:00 in Shanghai.
        let newYear: Int64 = 1_767_196_800_000
        #expect(ShanghaiCalendar.day(ofMillis: newYear) == "2026-01-01")
        #expect(ShanghaiCalendar.day(ofMillis: newYear - 1) == "2025-12-31")
        #expect(ShanghaiCalendar.year(ofMillis: newYear) == 2026 && ShanghaiCalendar.year(ofMillis: newYear - 1) == 2025)
        #expect(ShanghaiCalendar.day(ofMillis: 951_753_600_000) == "2000-02-29")   // 2000-02-28T16:00Z
        #expect(ShanghaiCalendar.day(ofMillis: 0) == "1970-01-01")
    }
}
