import Foundation
import Hummingbird
import MultipartKit
import NIOCore
import Photos

/// A `multipart/form-data` body, parsed by MultipartKit: its text fields and its files, in order.
public struct MultipartBody: Sendable {
    struct File: Sendable {
        var field: String
        var filename: String
        var bytes: ByteBuffer
    }
    var fields: [(String, String)] = []
    var files: [File] = []

    /// Whether a request's body is multipart, and its boundary.
    static func boundary(_ request: Request) -> String? {
        guard let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data") else { return nil }
        for parameter in type.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                return (1...70).contains(value.count) ? value : nil
            }
        }
        return nil
    }

    /// Parses a collected body: 400 when it is not well-formed multipart.
    init(_ buffer: ByteBuffer, boundary: String) throws {
        let parser = MultipartParser(boundary: boundary)
        var headers: [(String, String)] = []
        var body = ByteBuffer()
        var parts: [([(String, String)], ByteBuffer)] = []
        parser.onHeader = { name, value in headers.append((name, value)) }
        parser.onBody = { chunk in body.writeBuffer(&chunk) }
        parser.onPartComplete = {
            parts.append((headers, body))
            headers = []
            body = ByteBuffer()
        }
        do { try parser.execute(buffer) } catch { throw APIError.badRequest("malformed multipart body") }
        guard !parts.isEmpty else { throw APIError.badRequest("a multipart body with no parts") }
        for (headers, body) in parts {
            guard let disposition = headers.first(where: { $0.0.lowercased() == "content-disposition" })?.1,
                  let name = Self.parameter("name", of: disposition) else { continue }
            if let filename = Self.parameter("filename", of: disposition) {
                // A file input left empty still sends a part, with no name and no bytes.
                if body.readableBytes > 0 || !filename.isEmpty { files.append(File(field: name, filename: filename, bytes: body)) }
            } else {
                fields.append((name, String(buffer: body)))
            }
        }
    }

    /// Reads and parses a request's multipart body, at most `limit` bytes (413 past it).
    static func read(_ request: inout Request, limit: Int) async throws -> MultipartBody {
        guard let boundary = boundary(request) else { throw APIError(.unsupportedMediaType, "unsupported_media_type", "send multipart/form-data") }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch {
            throw APIError(.contentTooLarge, "payload_too_large", "request body exceeds \(limit) bytes")
        }
        request.body = .init(buffer: buffer)
        // Parsing megabytes of photos is CPU work: on the photo thread, below the node's requests and replication.
        return try await PhotoWorker.shared.run { try MultipartBody(buffer, boundary: boundary) }
    }

    /// `name="value"` from a Content-Disposition header.
    static func parameter(_ key: String, of header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if pair.count == 2, pair[0].lowercased() == key {
                return pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") && pair[1].count >= 2 ? String(pair[1].dropFirst().dropLast()) : pair[1]
            }
        }
        return nil
    }

    /// The first value of a text field.
    subscript(name: String) -> String? { fields.first { $0.0 == name }?.1 }

    /// A `multipart/form-data` body as a browser sends it: text fields, then files (field, filename, bytes). For
    /// clients of our own: the benches and tests that upload photos.
    public static func encode(files: [(String, String, [UInt8])], fields: [(String, String)] = []) -> (contentType: String, body: [UInt8]) {
        let boundary = "----shequ-\(UInt32.random(in: 0...UInt32.max))"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        for (field, filename, bytes) in files {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(filename)\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
            body += bytes + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return ("multipart/form-data; boundary=\(boundary)", body)
    }
}
