import Foundation
import Governance
import HTTPAPI
import Hummingbird
import HummingbirdTesting
import NIOCore
import Replication
import Storage
import Synchronization
import ShequTestSupport
import Testing

/// A node for tests: a store on a temporary file with an injected clock, and its API server.
final class TestNode: Sendable {
    let directory: String
    let store: Store
    let server: APIServer
    let clock: ManualClock

    init(start: UInt64 = 1_780_000_000_000) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("shequ-http-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let clock = ManualClock(start)
        self.clock = clock
        store = try Store(path: directory + "/node.sqlite", nodeID: "street.test", wallMillis: { clock.millis })
        store.indexesSearch = true  // a street node, as residents search it and read their inboxes
        store.keepsInboxes = true
        // Tests drive thousands of requests from one address; the rate limits have their own test.
        server = APIServer(store: store, identity: NodeIdentity(id: "street.test", role: "street", publicURL: "http://shequ.test"), limits: .unlimited)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func advance(hours: Double) { clock.advance(UInt64(hours * 3_600_000)) }

    /// SQLite's own check of the database file.
    func expectIntegrity() throws {
        let result = try store.readNow { try $0.integrityCheck() }
        #expect(result == "ok")
    }

    /// Creates a committee with a join code and a staff account; returns the join code and the staff token.
    func committee(_ id: String, street: String = "s1") throws -> (code: String, secretary: String, cadre: String) {
        let committee = Committee(id: id, name: "\(id)居委会", street: street, district: "d1")
        return try store.writeNow { tx in
            try tx.append(Committee.define(committee, author: "street.test"))
            let code = try tx.setJoinCode(committee: id)
            var tokens: [String] = []
            for role in [Role.secretary, .cadre] {
                let mid = tx.mintID(.member)
                try tx.append(Member.staff(id: mid, role: role, displayName: role.label, committee: id, unit: nil, scope: .committee(id), author: "street.test"))
                tokens.append(try tx.issueToken(member: mid))
            }
            return (code, tokens[0], tokens[1])
        }
    }

    func staffToken(role: Role, unit: String?) throws -> String {
        try store.writeNow { tx in
            let mid = tx.mintID(.member)
            try tx.append(Member.staff(id: mid, role: role, displayName: role.label, committee: nil, unit: unit, scope: .street(unit ?? "-"), author: "street.test"))
            return try tx.issueToken(member: mid)
        }
    }
}

/// A JSON client over HummingbirdTesting's client.
struct API {
    let client: any TestClientProtocol

    struct Reply {
        let status: HTTPResponse.Status
        let body: Value
        var headers = HTTPFields()
        subscript(key: String) -> Value { body.object?[key] ?? .null }
    }

    @discardableResult
    func call(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, json: Value? = nil, raw: String? = nil, bytes: [UInt8]? = nil,
              cookie: String? = nil, contentType: String = "application/json", headers extra: HTTPFields = [:]) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let cookie { headers[.cookie] = cookie }
        headers[.contentType] = contentType
        let body = bytes.map { ByteBuffer(bytes: $0) } ?? (raw ?? json?.canonicalJSON).map { ByteBuffer(string: $0) }
        return try await client.execute(uri: path, method: method, headers: headers, body: body) { response in
            let text = String(buffer: response.body)
            return Reply(status: response.status, body: text.isEmpty ? .null : ((try? Value(json: text)) ?? .string(text)), headers: response.headers)
        }
    }

    /// A multipart/form-data body of files (field, filename, bytes) and text fields, as a browser sends it.
    static func multipart(files: [(String, String, [UInt8])], fields: [(String, String)] = []) -> (contentType: String, body: [UInt8]) {
        MultipartBody.encode(files: files, fields: fields)
    }

    /// Uploads photos (POST /v1/photos); returns their ids.
    func uploadPhotos(_ photos: [[UInt8]], token: String) async throws -> [String] {
        let (type, body) = Self.multipart(files: photos.enumerated().map { ("photos", "IMG_\($0.offset).jpg", $0.element) })
        let reply = try await call(.post, "/v1/photos", token: token, bytes: body, contentType: type)
        #expect(reply.status == .created, "\(reply.body)")
        return reply["items"].list?.compactMap { $0["id"].string } ?? []
    }

    /// A resident joins with the code and is approved by the cadre; returns (member id, token).
    func joinAndApprove(_ committee: String, code: String, cadre: String, name: String = "王小明", room: String = "101") async throws -> (String, String) {
        let joined = try await call(.post, "/v1/committees/\(committee)/join", json: .object([
            "joinCode": .string(code), "realName": .string(name), "phone": .string("13812345678"), "building": .string("12号楼"),
            "room": .string(room), "birthYear": .int(1980), "partyMember": .bool(true),
        ]))
        #expect(joined.status == .accepted)
        let id = joined["memberId"].string!, token = joined["token"].string!
        let approved = try await call(.post, "/v1/committees/\(committee)/members/\(id)/approve", token: cadre)
        #expect(approved.status == .ok)
        return (id, token)
    }
}

/// An injected wall clock that tests move by hand.
final class ManualClock: Sendable {
    private let state: Mutex<UInt64>
    init(_ start: UInt64) { state = Mutex(start) }
    var millis: UInt64 { state.withLock { $0 } }
    func advance(_ delta: UInt64) { state.withLock { $0 += delta } }
}
