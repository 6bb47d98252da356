import Foundation
import Replication

/// A GeoReport v2 document, written once and rendered as JSON or as XML with the standard's element names:
/// a list is a JSON array and, in XML, one element per item named after the item (`<services><service>…`).
indirect enum Open311Document {
    case string(String?)
    /// A decimal number kept as its text (coordinates), `nil` for none.
    case number(String?)
    case integer(Int)
    case bool(Bool)
    case object([(String, Open311Document)])
    case list(item: String, [Open311Document])

    enum Format: String {
        case json, xml
        var contentType: String { self == .json ? "application/json; charset=utf-8" : "text/xml; charset=utf-8" }
    }

    func render(_ format: Format, root: String) -> String {
        switch format {
        case .json: return json
        case .xml: return #"<?xml version="1.0" encoding="utf-8"?>"# + xml(name: root)
        }
    }

    var json: String {
        switch self {
        case .string(let text): return text.map(Value.jsonString) ?? "null"
        case .number(let text): return text ?? "null"
        case .integer(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .object(let members): return "{" + members.map { Value.jsonString($0.0) + ":" + $0.1.json }.joined(separator: ",") + "}"
        case .list(_, let items): return "[" + items.map(\.json).joined(separator: ",") + "]"
        }
    }

    func xml(name: String) -> String {
        switch self {
        case .string(let text), .number(let text):
            guard let text else { return "<\(name)/>" }
            return "<\(name)>\(escapeHTML(text))</\(name)>"
        case .integer(let value): return "<\(name)>\(value)</\(name)>"
        case .bool(let value): return "<\(name)>\(value)</\(name)>"
        case .object(let members): return "<\(name)>" + members.map { $0.1.xml(name: $0.0) }.joined() + "</\(name)>"
        case .list(let item, let items): return "<\(name)>" + items.map { $0.xml(name: item) }.joined() + "</\(name)>"
        }
    }
}

/// The standard's error: `[{code, description}]`, `<errors><error>…`, with the HTTP status of the same number.
struct Open311Error: Error {
    var status: Int
    var description: String

    var document: Open311Document {
        .list(item: "error", [.object([("code", .integer(status)), ("description", .string(description))])])
    }
}
