import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import Storage
import Synchronization

/// `Idempotency-Key` on every write (POST, PUT, PATCH, DELETE), of the JSON API and of the app's forms (whose key
/// travels as the form field `idempotencyKey`, since a form cannot set a header): the first request with a key is
/// answered and its answer kept for a day; a repeat with the same key and the same request gets that answer again,
/// marked `Idempotent-Replayed: true`, and changes nothing. The same key with another request is 422
/// `idempotency_key_reused`; a repeat while the first is still being answered is 409 `idempotency_in_progress`.
///
/// Keys belong to the member who sent them (or, before sign-in, to the client's address), so one member's key never
/// replays another's answer. Answers that are not final — 5xx, 429 — are not kept: the retry runs again. The answer is
/// kept just after the write commits, so a crash between the two can still let a retry write twice; that window is
/// one SQLite commit wide.
struct IdempotencyMiddleware: RouterMiddleware {
    let store: Store
    let inFlight = InFlightKeys()
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!
    static let formField = "idempotencyKey"
    /// The largest request a key covers: nine photos of 5 MB and the form around them.
    static let maxRequestBytes = 48 * 1024 * 1024
    /// Answers longer than this are not kept (a write's answer is one entity: a few KB).
    static let maxKeptAnswerBytes = 1024 * 1024
    static let writeMethods: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    func handle(_ request: Request, context: ShequRequestContext, next: (Request, ShequRequestContext) async throws -> Response) async throws -> Response {
        guard Self.writeMethods.contains(request.method) else { return try await next(request, context) }
        var request = request
        var key = request.headers[Self.header]
        var body: ByteBuffer?
        if key == nil, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
            let collected = try await Self.collect(&request, limit: JSONBody.maxBytes)
            key = FormBody(String(buffer: collected))[Self.formField].flatMap { $0.isEmpty ? nil : $0 }
            body = collected
        } else if key == nil, request.uri.path.hasPrefix("/app/"), let boundary = MultipartBody.boundary(request) {
            // The app's report form with its photos (the JSON API's clients send the header; their uploads are not parsed
            // twice).
            let collected = try await Self.collect(&request, limit: Self.maxRequestBytes)
            key = (try? MultipartBody(collected, boundary: boundary))?[Self.formField].flatMap { $0.isEmpty ? nil : $0 }
            body = collected
        }
        guard let key else { return try await next(request, context) }
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw APIError(.badRequest, "invalid_idempotency_key", "an Idempotency-Key is 1 to 255 visible ASCII characters")
        }
        let requestBody: ByteBuffer
        if let body { requestBody = body } else { requestBody = try await Self.collect(&request, limit: Self.maxRequestBytes) }
        let fingerprint = Self.fingerprint(request, body: requestBody)
        let principal = context.member.map { "member:" + $0.id } ?? "address:" + (context.clientAddress ?? "?")

        if let kept = try await store.idempotencyRecord(principal: principal, key: key) {
            guard kept.fingerprint == fingerprint else {
                throw APIError(.unprocessableContent, "idempotency_key_reused", "this Idempotency-Key was used for another request")
            }
            return Self.replay(kept)
        }
        let slot = principal + "\u{0}" + key
        guard inFlight.begin(slot) else {
            var busy = APIError(.conflict, "idempotency_in_progress", "a request with this Idempotency-Key is still being answered")
            busy.retryAfter = 1
            throw busy
        }
        defer { inFlight.end(slot) }

        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = try APIError.translating(error, request: request, logger: context.logger).response(from: request, context: context)
        }
        let status = response.status.code
        guard status < 500, status != 429, response.headers[.contentType]?.hasPrefix("text/event-stream") != true else { return response }
        let collector = BodyCollector(limit: Self.maxKeptAnswerBytes)
        try await response.body.write(CollectingWriter(collector: collector))
        let answer = collector.buffer
        response.body = .init(byteBuffer: answer)
        guard !collector.overflowed else { return response }
        var headers: [String: String] = [:]
        for name in [HTTPField.Name.contentType, .location] { if let value = response.headers[name] { headers[name.canonicalName] = value } }
        try await store.rememberIdempotent(principal: principal, key: key,
                                           IdempotencyRecord(fingerprint: fingerprint, status: status, headers: headers, body: Array(buffer: answer)))
        return response
    }

    /// Reads the whole body (413 past `limit`) and puts it back for the route.
    static func collect(_ request: inout Request, limit: Int) async throws -> ByteBuffer {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch {
            throw APIError(.contentTooLarge, "payload_too_large", "request body exceeds \(limit) bytes")
        }
        request.body = .init(buffer: buffer)
        return buffer
    }

    static func fingerprint(_ request: Request, body: ByteBuffer) -> String {
        var hash = SHA256()
        hash.update(data: Array("\(request.method.rawValue) \(request.uri.path)?\(request.uri.query ?? "")\n".utf8))
        body.withUnsafeReadableBytes { hash.update(bufferPointer: $0) }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func replay(_ kept: IdempotencyRecord) -> Response {
        var headers = HTTPFields()
        for (name, value) in kept.headers { if let field = HTTPField.Name(name) { headers[field] = value } }
        headers[replayed] = "true"
        return Response(status: .init(code: kept.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: kept.body)))
    }
}

/// The keys being answered now, so that a repeat arriving meanwhile waits instead of writing again.
final class InFlightKeys: Sendable {
    private let keys = Mutex<Set<String>>([])
    func begin(_ key: String) -> Bool { keys.withLock { $0.insert(key).inserted } }
    func end(_ key: String) { _ = keys.withLock { $0.remove(key) } }
}

/// Where `CollectingWriter` puts a response body: up to `limit` bytes, then only notes that there was more.
final class BodyCollector: @unchecked Sendable {
    let limit: Int
    var buffer = ByteBuffer()
    var overflowed = false
    init(limit: Int) { self.limit = limit }
}

/// A `ResponseBodyWriter` into memory, to keep an answer while also sending it.
struct CollectingWriter: ResponseBodyWriter {
    let collector: BodyCollector
    mutating func write(_ part: ByteBuffer) async throws {
        var part = part
        collector.buffer.writeBuffer(&part)
        if collector.buffer.readableBytes > collector.limit { collector.overflowed = true }
    }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
