/// A field value carried by a change: the JSON data model, restricted to what the domain needs.
///
/// Values have a total order (see `Value.<`) so that max-registers and tie-breaks are deterministic.
public enum Value: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case list([Value])
    case object([String: Value])
}

// MARK: - Convenience

extension Value {
    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    /// The integer, if this is one.
    public var int: Int64? { if case .int(let i) = self { i } else { nil } }
    /// The boolean, if this is one.
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// The elements, if this is a list.
    public var list: [Value]? { if case .list(let l) = self { l } else { nil } }
    /// The members, if this is an object.
    public var object: [String: Value]? { if case .object(let o) = self { o } else { nil } }
    /// A member of an object, `.null` when absent or when this is not an object.
    public subscript(key: String) -> Value { object?[key] ?? .null }
    /// A list of strings, dropping anything else.
    public var strings: [String] { list?.compactMap(\.string) ?? [] }

    /// Wraps a list of strings.
    public static func strings(_ items: [String]) -> Value { .list(items.map { .string($0) }) }
    /// Wraps an optional string as `.null` or `.string`.
    public static func optional(_ s: String?) -> Value { s.map { .string($0) } ?? .null }
    /// Wraps an optional integer as `.null` or `.int`.
    public static func optional(_ i: Int64?) -> Value { i.map { .int($0) } ?? .null }
}

extension Value: ExpressibleByStringLiteral {
    /// `"text"` is `.string("text")`.
    public init(stringLiteral value: String) { self = .string(value) }
}

// MARK: - Ordering

extension Value: Comparable {
    private var rank: Int {
        switch self {
        case .null: 0
        case .bool: 1
        case .int: 2
        case .string: 3
        case .list: 4
        case .object: 5
        }
    }

    /// A total order: by kind (null < bool < int < string < list < object), then by content.
    public static func < (lhs: Value, rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.bool(let a), .bool(let b)): return !a && b
        case (.int(let a), .int(let b)): return a < b
        case (.string(let a), .string(let b)): return a.utf8.lexicographicallyPrecedes(b.utf8)
        case (.list(let a), .list(let b)): return a.lexicographicallyPrecedes(b)
        case (.object, .object): return lhs.canonicalJSON < rhs.canonicalJSON
        default: return lhs.rank < rhs.rank
        }
    }
}

// MARK: - Canonical JSON

extension Value {
    /// The canonical JSON text: object keys sorted by UTF-8 bytes, no insignificant white space.
    /// Equal values always give equal bytes, which digests and signatures rely on.
    public var canonicalJSON: String { String(decoding: canonicalJSONBytes, as: UTF8.self) }

    /// The same text as UTF-8 bytes (what goes on the wire), written straight into a byte buffer.
    public var canonicalJSONBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(into: &out)
        return out
    }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): Self.writeInteger(i, into: &out)
        case .string(let s): Self.writeString(s, into: &out)
        case .list(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, key) in members.keysInCanonicalOrder.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeInteger(_ i: Int64, into out: inout [UInt8]) {
        if i < 0 { out.append(UInt8(ascii: "-")) }
        let start = out.count
        var magnitude = i.magnitude
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[start...].reverse()
    }

    /// A string as a JSON string literal, quotes included.
    public static func jsonString(_ s: String) -> String {
        var out: [UInt8] = []
        writeString(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Escapes are all ASCII and every byte of a multi-byte UTF-8 sequence is 0x80 or more, so the text can be
        // copied byte by byte; most strings need no escaping and are copied whole.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        let hex = Array("0123456789abcdef".utf8)
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension Dictionary where Key == String {
    /// The keys in the order canonical JSON writes an object's members, by their UTF-8 bytes (SQLite's order for text):
    /// the order every canonical text here follows — a value's JSON, an entity's cells (`CellsText`), a digest.
    public var keysInCanonicalOrder: [String] { keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
}
