import Replication
import Testing

@Suite struct HybridLogicalClockTests {
    @Test func ticksAreStrictlyIncreasingEvenWhenTheWallClockStallsOrGoesBack() {
        var clock = HybridLogicalClock()
        var last = HLCTimestamp.zero
        for wall: UInt64 in [1_000, 1_000, 1_000, 999, 500, 1_001, 1_001] {
            let stamp = clock.tick(wallMillis: wall)
            #expect(stamp > last)
            last = stamp
        }
        #expect(last.millis == 1_001)
        #expect(last.counter == 1)
    }

    @Test func observingARemoteStampMovesPastIt() throws {
        var clock = HybridLogicalClock()
        _ = clock.tick(wallMillis: 1_000)
        let remote = HLCTimestamp(millis: 5_000, counter: 7)
        let received = try clock.observe(remote, wallMillis: 1_000)
        #expect(received > remote)
        #expect(clock.tick(wallMillis: 1_000) > received)
    }

    @Test func aStampMoreThanSixtySecondsAheadIsRefusedAndNotAdopted() {
        var clock = HybridLogicalClock()
        let before = clock.tick(wallMillis: 100_000)
        #expect(throws: ClockError.self) { try clock.observe(HLCTimestamp(millis: 100_000 + 60_001, counter: 0), wallMillis: 100_000) }
        #expect(clock.last == before)
        #expect(observes(&clock, HLCTimestamp(millis: 160_000, counter: 0)))
    }

    func observes(_ clock: inout HybridLogicalClock, _ stamp: HLCTimestamp) -> Bool {
        (try? clock.observe(stamp, wallMillis: 100_000)) != nil
    }

    @Test func counterOverflowCarriesIntoTheMillisecond() {
        var clock = HybridLogicalClock(last: HLCTimestamp(millis: 10, counter: .max))
        let next = clock.tick(wallMillis: 10)
        #expect(next.millis == 11 && next.counter == 0)
    }
}

@Suite struct VersionVectorTests {
    @Test func gapsAreTrackedAndFilled() {
        var progress = OriginProgress()
        let inserted = [progress.insert(1), progress.insert(4), progress.insert(5), progress.insert(4)]
        #expect(inserted == [true, true, true, false])
        #expect(progress.contiguous == 1)
        #expect(progress.missing == [2...3])
        progress.insert(2)
        progress.insert(3)
        #expect(progress.contiguous == 5 && progress.beyond.isEmpty)
    }

    @Test func surplusIsExactlyWhatTheOtherSideLacks() {
        var mine = VersionVector(), theirs = VersionVector()
        for seq in 1...10 { mine.insert(ChangeID(origin: "a", seq: UInt64(seq))) }
        for seq in [1, 2, 3, 7] { theirs.insert(ChangeID(origin: "a", seq: UInt64(seq))) }
        theirs.insert(ChangeID(origin: "b", seq: 1))
        #expect(mine.surplus(over: theirs) == ["a": [4...6, 8...10]])
        #expect(mine.surplus(over: theirs, limit: 4) == ["a": [4...6, 8...8]])
        #expect(!mine.dominates(theirs))
        theirs.insert(ChangeID(origin: "a", seq: 4))
        mine.insert(ChangeID(origin: "b", seq: 1))
        #expect(mine.dominates(theirs))
    }
}

@Suite struct ValueTests {
    @Test func canonicalJSONRoundTripsAndSortsKeys() throws {
        let value = Value.object(["b": .list([.int(-3), .string("社区\n\"引号\"\u{1}"), .null]), "a": .bool(true)])
        #expect(value.canonicalJSON == #"{"a":true,"b":[-3,"社区\n\"引号\"\u0001",null]}"#)
        #expect(try Value(json: value.canonicalJSON) == value)
        #expect(try Value(json: #" {"x": "\ud83d\ude00"} "#) == .object(["x": .string("😀")]))
    }

    @Test func integersReachBothEndsOfSixtyFourBitsAndStringsMixRunsWithEscapes() throws {
        #expect(try Value(json: "9223372036854775807") == .int(.max))
        #expect(try Value(json: "-9223372036854775808") == .int(.min))
        #expect(try Value(json: "[0,-0,007,-12]") == .list([.int(0), .int(0), .int(7), .int(-12)]))
        #expect(try Value(json: #""居委\n会\u00e9\\末""#) == .string("居委\n会é\\末"))
        #expect(try Value(json: #""\"""#) == .string("\""))
        #expect(try Value(json: #"{"":""}"#) == .object(["": ""]))
    }

    @Test(arguments: ["", "{", "[1,]", "1.5", "tru", "\"\u{1}\"", "{\"a\" 1}", String(repeating: "[", count: 40) + String(repeating: "]", count: 40),
                      "99999999999999999999", "9223372036854775808", "-9223372036854775809", "-", "\"abc"])
    func malformedJSONIsRefused(_ text: String) {
        #expect(throws: ValueParseError.self) { try Value(json: text) }
    }
}
