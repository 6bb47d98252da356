import Replication
import ShequTestSupport
import Testing

/// `CellsText`: an entity's cells as the one JSON text Storage keeps in its row.
@Suite struct CellsTextTests {
    /// Whatever the changes merged into, the text reads back as the same cells; it is valid JSON with one member per field
    /// whose first element is the value, and equal cells give equal text.
    @Test func whatIsWrittenReadsBackAsTheSameCells() throws {
        var rng = SplitMix64(seed: 20_261_203)
        var entities = 0
        for _ in 0..<200 {
            var state = CRDTState()
            RandomChanges.make(&rng, count: 1 + Int(rng.next() % 20)).forEach { state.apply($0) }
            for (_, cells) in state.entities {
                let text = CellsText.encode(cells)
                #expect(try CellsText.decode(text) == cells)
                #expect(CellsText.encode(try CellsText.decode(text)) == text)
                guard case .object(let members) = try Value(json: text) else { Issue.record("not an object: \(text)"); continue }
                #expect(Set(members.keys) == Set(cells.keys))
                for (field, cell) in cells { #expect(members[field]?.list?.first == cell.value) }
                entities += 1
            }
        }
        #expect(entities > 300)
    }

    /// A value may nest as deep as a change's field may (`Value.maxDepth`), though it sits two levels inside the text;
    /// anything that is not cells is refused.
    @Test func aValueNestsAsDeepAsAFieldMayAndAnythingElseIsRefused() throws {
        var deep = Value.string("底")
        for _ in 0..<Value.maxDepth { deep = .list([deep]) }
        let cells = ["deep": Cell(value: deep, stamp: WriteStamp(hlc: HLCTimestamp(rawValue: 1 << 40), origin: "street.s1"), op: .assign),
                     "note": Cell(value: "引号\"和\\反斜杠\n", stamp: WriteStamp(hlc: HLCTimestamp(rawValue: 7), origin: "o\u{1}"), op: .remove)]
        #expect(try CellsText.decode(CellsText.encode(cells)) == cells)
        #expect(try CellsText.decode("{}").isEmpty)
        #expect(try CellsText.decode(" { \"a\" : [ 1 , 2 , \"o\" , 0 ] } ") == ["a": Cell(value: .int(1), stamp: WriteStamp(hlc: HLCTimestamp(rawValue: 2), origin: "o"), op: .assign)])
        for bad in ["", "[]", "{\"a\":[1,2,\"o\"]}", "{\"a\":[1,2,3,0]}", "{\"a\":[1,\"2\",\"o\",0]}", "{\"a\":[1,2,\"o\",9]}",
                    "{\"a\":[1,2,\"o\",0]} x", "{\"a\":[1,2,\"o\",0],}", "{a:[1,2,\"o\",0]}"] {
            #expect(throws: ValueParseError.self, "\(bad)") { try CellsText.decode(bad) }
        }
    }
}
