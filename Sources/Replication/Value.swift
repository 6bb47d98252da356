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
    public var canonicalJSON: String {
        var out = ""
        write(into: &out)
        return out
    }

    func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .string(let s): Self.writeString(s, into: &out)
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, key) in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { out += "," }
                Self.writeString(key, into: &out)
                out += ":"
                members[key]!.write(into: &out)
            }
            out += "}"
        }
    }

    /// A string as a JSON string literal, quotes included.
    public static func jsonString(_ s: String) -> String {
        var out = ""
        writeString(s, into: &out)
        return out
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        // Most strings need no escaping: append them whole rather than scalar by scalar.
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
