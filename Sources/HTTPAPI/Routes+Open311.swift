import Foundation
import Governance
import Hummingbird
import Replication
import Storage

/// Open311 GeoReport v2 over the tickets this node holds (http://wiki.open311.org/GeoReport_v2): discovery, the
/// ticket categories as services, service definitions, and requests to list, read and create, each in JSON and XML.
///
/// Reading is public, as the standard expects, so a request shows what a notice board would: the problem in a few
/// words (the ticket's title), the committee rather than the building, coordinates rounded to about 100 m, the
/// status and the responsible agency — never the reporter, the full description or photos. Creating needs an
/// `api_key`: the bearer token of an approved member, whose committee the ticket belongs to.
extension APIServer {
    static let open311Formats: [Open311Document.Format] = [.json, .xml]
    /// At most this many requests per list, and a window of at most 90 days, as the standard suggests.
    static let open311MaxRequests = 1_000
    static let open311MaxWindowMillis: Int64 = 90 * 86_400_000

    func addOpen311Routes(to router: Router<ShequRequestContext>) {
        let store = self.store, identity = self.identity
        for format in Self.open311Formats {
            let ext = format.rawValue
            router.get("/open311/v2/discovery.\(ext)") { _, _ in
                Self.open311(format, root: "discovery", .object([
                    ("changeset", .string("2026-11-22T00:00:00+08:00")), ("contact", .string("社区通 Shequ node \(identity.id)")),
                    ("key_service", .string("api_key: the bearer token of an approved member (POST only)")),
                    ("endpoints", .list(item: "endpoint", [.object([
                        ("specification", .string("http://wiki.open311.org/GeoReport_v2")), ("url", .string(identity.publicURL + "/open311/v2")),
                        ("changeset", .string("2026-11-22T00:00:00+08:00")), ("type", .string("production")),
                        ("formats", .list(item: "format", [.string("application/json"), .string("text/xml")])),
                    ])])),
                ]))
            }
            router.get("/open311/v2/services.\(ext)") { _, _ in
                Self.open311(format, root: "services", .list(item: "service", TicketCategory.allCases.map(Self.service)))
            }
            router.get("/open311/v2/services/{code}.\(ext)") { _, context in
                try await Self.open311(format, root: "service_definition") {
                    guard let category = TicketCategory(rawValue: context.parameters.get("code") ?? "") else {
                        throw Open311Error(status: 404, description: "no service with this service_code")
                    }
                    return Self.serviceDefinition(category)
                }
            }
            router.get("/open311/v2/requests.\(ext)") { request, _ in
                try await Self.open311(format, root: "service_requests") {
                    let query = try Open311Query(request, nowMillis: store.nowMillis)
                    return .list(item: "request", try await store.read { view in
                        let ids = try query.ids ?? (view.ticketIDs(categories: query.categories, open: query.open, createdFrom: query.from,
                                                                   to: query.to, limit: Self.open311MaxRequests))
                        return try ids.compactMap { try view.ticket($0) }.map { Self.serviceRequest($0, nowMillis: view.nowMillis, base: identity.publicURL) }
                    })
                }
            }
            router.get("/open311/v2/requests/{id}.\(ext)") { _, context in
                try await Self.open311(format, root: "service_requests") {
                    let id = context.parameters.get("id") ?? ""
                    guard let ticket = try await store.read({ try $0.ticket(id) }) else {
                        throw Open311Error(status: 404, description: "no service request with this service_request_id")
                    }
                    return .list(item: "request", [Self.serviceRequest(ticket, nowMillis: store.nowMillis, base: identity.publicURL)])
                }
            }
            router.post("/open311/v2/requests.\(ext)") { request, _ in
                var request = request
                return try await Self.open311(format, root: "service_requests", status: .created) {
                    let buffer = try await request.collectBody(upTo: 64 * 1024)
                    let form = FormBody(String(buffer: buffer))
                    return .list(item: "request", [try await Self.createRequest(form, store: store)])
                }
            }
        }
    }

    /// Creates a ticket from the standard's form fields.
    static func createRequest(_ form: FormBody, store: Store) async throws -> Open311Document {
        guard let key = form["api_key"], !key.isEmpty else { throw Open311Error(status: 403, description: "api_key is required to create a request") }
        guard let member = try await store.read({ try $0.member(forToken: key) }), member.status == .approved, let cid = member.committee else {
            throw Open311Error(status: 403, description: "api_key is not the token of an approved member of a committee")
        }
        guard let code = form["service_code"], !code.isEmpty else { throw Open311Error(status: 400, description: "service_code is required") }
        guard let category = TicketCategory(rawValue: code) else { throw Open311Error(status: 404, description: "no service with this service_code") }
        let description = form["description"] ?? ""
        var address = form["address_string"] ?? ""
        if let building = form["attribute[building]"], !building.isEmpty { address = address.isEmpty ? building : "\(address) \(building)" }
        let lat = form["lat"].flatMap { $0.isEmpty ? nil : $0 }, long = form["long"].flatMap { $0.isEmpty ? nil : $0 }
        guard (lat != nil && long != nil) || !address.isEmpty else {
            throw Open311Error(status: 400, description: "a location is required: lat and long, or address_string")
        }
        // The ticket's title: the start of the description, or the service's name.
        let summary = description.split(whereSeparator: \.isNewline).first.map { String($0.prefix(40)) } ?? ""
        let input = TicketInput(category: category, title: summary.isEmpty ? category.label : summary, description: description,
                                photos: form["media_url"].map { $0.isEmpty ? [] : [$0] } ?? [],
                                location: Location(address: address, lat: lat, long: long))
        do {
            let id = try await store.write { tx in try tx.raiseTicket(input, committee: cid, by: member.actor).id }
            return .object([("service_request_id", .string(id)), ("service_notice", .string(notice)), ("account_id", .string(nil))])
        } catch let error as GovernanceError where error.code == .notFound {
            throw Open311Error(status: 404, description: "the member's committee is not held here")
        } catch let error as GovernanceError {
            throw Open311Error(status: 400, description: "\(error)")
        }
    }

    static let notice = "居委会将在15小时内首次响应 (first response within 15 hours)"

    static func service(_ category: TicketCategory) -> Open311Document {
        .object([
            ("service_code", .string(category.rawValue)), ("service_name", .string(category.label)),
            ("description", .string("随手拍：\(category.label)问题，由居委会受理，必要时升级至街道网格中心、区网格化平台")),
            ("metadata", .bool(true)), ("type", .string("realtime")), ("keywords", .string(category.rawValue)), ("group", .string("社区治理")),
        ])
    }

    static func serviceDefinition(_ category: TicketCategory) -> Open311Document {
        .object([
            ("service_code", .string(category.rawValue)),
            ("attributes", .list(item: "attribute", [.object([
                ("variable", .bool(true)), ("code", .string("building")), ("datatype", .string("string")), ("required", .bool(false)),
                ("datatype_description", .string("楼号与门牌，如 12号楼")), ("order", .integer(1)),
                ("description", .string("问题所在的楼号（可选），附加在地址之后")), ("values", .list(item: "value", [])),
            ])])),
        ])
    }

    /// A ticket as a public service request (see the type's note on what is and is not shown).
    static func serviceRequest(_ ticket: Ticket, nowMillis: Int64, base: String) -> Open311Document {
        let open = ticket.stage.isOpen
        let note = ticket.history.last { $0.byStaff && !$0.note.isEmpty }?.note
        let updated = ticket.history.last.map(\.millis) ?? ticket.createdMillis
        func rounded(_ text: String?) -> String? { text.flatMap(Double.init).map { String(format: "%.3f", $0) } }
        // The first photo: one uploaded here (a content id) at its address on this node, or a link an Open311 client gave.
        let media = ticket.photos.first.map { PhotoStore.isID($0) ? "\(base)/v1/photos/\($0)" : $0 }
        return .object([
            ("service_request_id", .string(ticket.id)), ("status", .string(open ? "open" : "closed")), ("status_notes", .string(note)),
            ("service_name", .string(ticket.category.label)), ("service_code", .string(ticket.category.rawValue)),
            ("description", .string(ticket.title)), ("agency_responsible", .string(ticket.level.agency)), ("service_notice", .string(notice)),
            ("requested_datetime", .string(Time.format(ticket.createdMillis))), ("updated_datetime", .string(Time.format(updated))),
            ("expected_datetime", .string(open ? Time.format(ticket.dueMillis) : nil)),
            ("address", .string(ticket.committee)), ("address_id", .string(nil)), ("zipcode", .string(nil)),
            ("lat", .number(rounded(ticket.location.lat))), ("long", .number(rounded(ticket.location.long))), ("media_url", .string(media)),
        ])
    }

    static func open311(_ format: Open311Document.Format, root: String, status: HTTPResponse.Status = .ok, _ document: Open311Document) -> Response {
        Response(status: status, headers: [.contentType: format.contentType],
                 body: .init(byteBuffer: ByteBuffer(string: document.render(format, root: root))))
    }

    /// Runs `body`, answering its errors in the standard's format.
    static func open311(_ format: Open311Document.Format, root: String, status: HTTPResponse.Status = .ok,
                        _ body: () async throws -> Open311Document) async throws -> Response {
        do {
            return open311(format, root: root, status: status, try await body())
        } catch let error as Open311Error {
            return open311(format, root: "errors", status: HTTPResponse.Status(code: error.status), error.document)
        } catch let error as APIError {
            let failure = Open311Error(status: Int(error.status.code), description: error.message)
            return open311(format, root: "errors", status: error.status, failure.document)
        }
    }
}

/// The filters of GET requests: ids (which override the rest), service codes, status, and a window of at most 90 days.
struct Open311Query {
    var ids: [String]?
    var categories: [String]?
    var open: Bool?
    var from: Int64
    var to: Int64

    init(_ request: Request, nowMillis: Int64) throws {
        let query = request.uri.queryParameters
        func list(_ name: String) -> [String]? {
            let values = query[values: Substring(name)].flatMap { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
                .filter { !$0.isEmpty }
            return values.isEmpty ? nil : values
        }
        ids = list("service_request_id").map { Array($0.prefix(APIServer.open311MaxRequests)) }
        categories = list("service_code")
        for code in categories ?? [] where TicketCategory(rawValue: code) == nil {
            throw Open311Error(status: 400, description: "unknown service_code \(code)")
        }
        if let statuses = list("status") {
            guard statuses.allSatisfy({ $0 == "open" || $0 == "closed" }) else { throw Open311Error(status: 400, description: "status is open or closed") }
            open = Set(statuses).count == 2 ? nil : statuses[0] == "open"
        }
        func time(_ name: String) throws -> Int64? {
            guard let text = query[Substring(name)].map(String.init) else { return nil }
            do { return try Time.parse(text, field: name) } catch { throw Open311Error(status: 400, description: "\(name) must be a W3C date-time, e.g. 2026-01-01T00:00:00Z") }
        }
        let start = try time("start_date"), end = try time("end_date")
        to = end ?? (start.map { $0 + APIServer.open311MaxWindowMillis } ?? nowMillis + 1)
        from = start ?? to - APIServer.open311MaxWindowMillis
        guard from < to else { throw Open311Error(status: 400, description: "start_date must be before end_date") }
        guard to - from <= APIServer.open311MaxWindowMillis else { throw Open311Error(status: 400, description: "the window may not span more than 90 days") }
    }
}

/// An `application/x-www-form-urlencoded` body (or a multipart one's fields, with its files).
struct FormBody {
    private var fields: [(String, String)] = []
    /// A multipart form's files (the app's report form with its photos).
    var files: [MultipartBody.File] = []

    init(_ multipart: MultipartBody) {
        fields = multipart.fields
        files = multipart.files
    }

    init(_ text: String) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String { String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            fields.append((decode(parts[0]), parts.count > 1 ? decode(parts[1]) : ""))
        }
    }

    /// The first value of a field.
    subscript(name: String) -> String? { fields.first { $0.0 == name }?.1 }

    /// Every value of a field (checkboxes, a multiple select), in order.
    func values(_ name: String) -> [String] { fields.filter { $0.0 == name }.map(\.1) }
}
