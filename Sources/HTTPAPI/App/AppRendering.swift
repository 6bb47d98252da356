import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import Replication

/// The residents' app's templates (Sources/HTTPAPI/App/Templates, Mustache: every `{{value}}` is HTML-escaped) and
/// static files (Sources/HTTPAPI/App/Static), loaded once from the module's resources.
struct AppAssets: Sendable {
    let library: MustacheLibrary
    /// Static files by name, with their content type.
    let files: [String: (type: String, bytes: ByteBuffer)]

    static let shared: AppAssets = {
        do { return try load() } catch { fatalError("the app's templates do not load: \(error)") }
    }()

    static func load() throws -> AppAssets {
        guard let templates = Bundle.module.url(forResource: "Templates", withExtension: nil),
              let statics = Bundle.module.url(forResource: "Static", withExtension: nil) else {
            throw APIError(.internalServerError, "assets_missing", "the app's resources are not beside the binary")
        }
        var library = MustacheLibrary()
        for name in try FileManager.default.contentsOfDirectory(atPath: templates.path) where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8)
            try library.register(text, named: String(name.dropLast(".mustache".count)))
        }
        var files: [String: (String, ByteBuffer)] = [:]
        let types = ["css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "svg": "image/svg+xml"]
        for name in try FileManager.default.contentsOfDirectory(atPath: statics.path) {
            guard let type = types[(name as NSString).pathExtension] else { continue }
            files[name] = (type, ByteBuffer(bytes: try Data(contentsOf: statics.appendingPathComponent(name))))
        }
        return AppAssets(library: library, files: files)
    }

    /// What every page sends besides its body: no script but ours, nothing from elsewhere, never framed.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (HTTPField.Name("Content-Security-Policy")!, "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("Referrer-Policy")!, "same-origin"),
        (.cacheControl, "no-store"),
    ]

    /// A rendered page.
    func page(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok, cookies: [String] = []) -> Response {
        let html = library.render(context, withTemplate: template) ?? ""
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        for (name, value) in Self.securityHeaders { headers[name] = value }
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// A redirect after a form (303: the browser GETs the next page).
    static func seeOther(_ location: String, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }
}

extension Value {
    /// The value as Mustache reads it: objects as dictionaries, lists as arrays; null is left out (a false section).
    var mustache: Any? {
        switch self {
        case .null: nil
        case .bool(let b): b
        case .int(let i): Int(i)
        case .string(let s): s
        case .list(let items): items.compactMap(\.mustache)
        case .object(let fields): fields.compactMapValues(\.mustache)
        }
    }
}
