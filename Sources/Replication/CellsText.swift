/// An entity's merged cells as one JSON text, the form Storage keeps them in (one row per entity):
/// `{"field":[value,hlc,"origin",op],...}`, fields in the order of their UTF-8 bytes, each value as its canonical JSON.
///
/// Being JSON, the text is what SQLite's JSON functions read in a filter: `json_extract(cells, '$.board[0]')` is the
/// value of the `board` field. The value nests two levels inside the text, so it is read with its own depth limit, as a
/// change's field is (`Value.maxDepth`).
public enum CellsText {
    /// The text of these cells.
    public static func encode(_ cells: [String: Cell]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64 * cells.count + 2)
        out.append(UInt8(ascii: "{"))
        for (i, field) in cells.keysInCanonicalOrder.enumerated() {
            let cell = cells[field]!
            if i > 0 { out.append(UInt8(ascii: ",")) }
            Value.writeString(field, into: &out)
            out.append(contentsOf: ":[".utf8)
            cell.value.write(into: &out)
            out.append(UInt8(ascii: ","))
            Value.writeInteger(Int64(bitPattern: cell.stamp.hlc.rawValue), into: &out)
            out.append(UInt8(ascii: ","))
            Value.writeString(cell.stamp.origin, into: &out)
            out.append(UInt8(ascii: ","))
            Value.writeInteger(Int64(cell.op.rawValue), into: &out)
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The cells in a text `encode` wrote (or migration v16 made from the cells table); throws on anything else.
    public static func decode(_ text: String) throws(ValueParseError) -> [String: Cell] {
        var text = text
        let result: Result<[String: Cell], ValueParseError> = text.withUTF8 { buffer in
            var parser = ValueParser(bytes: buffer)
            do throws(ValueParseError) {
                return .success(try parser.parseCells())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

extension ValueParser {
    /// `{"field":[value,hlc,"origin",op],...}` to its end, and nothing after it.
    fileprivate mutating func parseCells() throws(ValueParseError) -> [String: Cell] {
        var cells: [String: Cell] = [:]
        try expect("{")
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a field") }
                let field = try parseString()
                try expect(":")
                try expect("[")
                let value = try parseValue(depth: 0)
                try expect(",")
                skipWhitespace()
                guard let hlc = try parseInteger() else { throw error("expected a clock") }
                try expect(",")
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected an origin") }
                let origin = try parseString()
                try expect(",")
                skipWhitespace()
                guard let raw = try parseInteger(), let op = UInt8(exactly: raw).flatMap(FieldOp.init(rawValue:)) else { throw error("expected an op") }
                try expect("]")
                cells[field] = Cell(value: value, stamp: WriteStamp(hlc: HLCTimestamp(rawValue: UInt64(bitPattern: hlc)), origin: origin), op: op)
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated cells") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; break }
                throw error("expected , or }")
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw error("trailing characters") }
        return cells
    }

    /// Skips white space, then the one ASCII character `mark`.
    private mutating func expect(_ mark: Unicode.Scalar) throws(ValueParseError) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: mark) else { throw error("expected \(mark)") }
        index += 1
    }
}
