import Replication

/// Ticket categories (随手拍 problems). They are also the Open311 service codes and the hot-topic categories.
public enum TicketCategory: String, Sendable, CaseIterable, Codable {
    case environment, greening, property, parking, safety, facilities, neighbours, traffic, elderly, other

    /// The Chinese name residents and the dashboard see.
    public var label: String {
        switch self {
        case .environment: "环境卫生"
        case .greening: "绿化养护"
        case .property: "物业管理"
        case .parking: "停车管理"
        case .safety: "安全隐患"
        case .facilities: "公共设施"
        case .neighbours: "邻里纠纷"
        case .traffic: "交通出行"
        case .elderly: "为老服务"
        case .other: "其他"
        }
    }
}

/// Where a ticket stands: submitted → acknowledged → in_progress → resolved → closed (after the rating).
public enum TicketStage: String, Sendable, CaseIterable, Codable {
    case submitted, acknowledged, inProgress = "in_progress", resolved, closed

    /// Whether the ticket still needs handling.
    public var isOpen: Bool { self == .submitted || self == .acknowledged || self == .inProgress }
    /// Whether the ticket counts as solved (resolved, or closed after its rating).
    public var isSolved: Bool { self == .resolved || self == .closed }
}

/// Who is handling a ticket: the committee, the street grid centre, or the district grid platform.
/// Escalation only goes up (a max-register).
public enum TicketLevel: Int, Sendable, CaseIterable, Codable, Comparable {
    case committee = 0, street = 1, district = 2

    public var name: String { ["committee", "street", "district"][rawValue] }
    public init?(name: String) { self.init(rawValue: ["committee", "street", "district"].firstIndex(of: name) ?? -1) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    /// The agency at this level, in Chinese (Open311's `agency_responsible`).
    public var agency: String { ["居委会", "街道网格中心", "区网格化平台"][rawValue] }
}

/// What can happen to a ticket.
public enum TicketEventType: String, Sendable, CaseIterable, Codable {
    case acknowledge, comment, assign, start, escalate, resolve, reopen, rate
}

/// Where a problem is: an address and, optionally, coordinates (decimal degrees as text).
public struct Location: Hashable, Sendable {
    public var address: String
    public var lat: String?
    public var long: String?

    public init(address: String, lat: String? = nil, long: String? = nil) {
        self.address = address
        self.lat = lat
        self.long = long
    }

    var value: Value { .object(["address": .string(address), "lat": .optional(lat), "long": .optional(long)]) }
    init(_ value: Value) {
        let o = value.object ?? [:]
        self.init(address: o["address"]?.string ?? "", lat: o["lat"]?.string, long: o["long"]?.string)
    }

    func validated() throws(GovernanceError) -> Location {
        var copy = self
        copy.address = try Text.optional(address, field: "location.address", max: 200)
        for (name, text, limit) in [("lat", lat, 90.0), ("long", long, 180.0)] {
            guard let text else { continue }
            guard let number = Double(text), abs(number) <= limit, text.count <= 20 else {
                throw .invalid("location.\(name)", "must be decimal degrees within ±\(Int(limit))")
            }
        }
        return copy
    }
}

/// What a resident types to report a problem.
public struct TicketInput: Hashable, Sendable {
    public var category: TicketCategory
    public var title: String
    public var description: String
    public var photos: [String]
    public var location: Location

    public init(category: TicketCategory, title: String, description: String, photos: [String], location: Location) {
        self.category = category
        self.title = title
        self.description = description
        self.photos = photos
        self.location = location
    }
}

/// One event in a ticket's history, as recorded.
public struct TicketEvent: Hashable, Sendable {
    public var id: String
    public var ticket: String
    public var type: TicketEventType
    public var actor: String
    /// Whether the actor acted as staff (cadre or officer): their first such event is the first response.
    public var byStaff: Bool
    public var note: String
    public var assignee: String?
    public var level: TicketLevel?
    public var rating: Int?
    public var stamp: WriteStamp

    public init?(_ record: EntityRecord) {
        guard record.kind == .ticketEvent, let ticket = record["ticket"].string,
              let type = TicketEventType(rawValue: record["type"].string ?? "") else { return nil }
        self.id = record.id
        self.ticket = ticket
        self.type = type
        self.actor = record["actor"].string ?? ""
        self.byStaff = record["byStaff"].bool ?? false
        self.note = record["note"].string ?? ""
        self.assignee = record["assignee"].string
        self.level = record["level"].string.flatMap(TicketLevel.init(name:))
        self.rating = record["rating"].int.map(Int.init)
        self.stamp = record.created
    }

    public var millis: Int64 { Int64(stamp.hlc.millis) }
}

/// A ticket with its state derived from its history: folding the events in stamp order gives the
/// same stage, level and SLA figures on every replica, whatever order they arrived in.
public struct Ticket: Hashable, Sendable {
    /// Committees must first respond within 15 hours (mission.md).
    public static let responseSLAMillis: Int64 = 15 * 3_600_000

    public var id: String
    public var committee: String
    public var category: TicketCategory
    public var title: String
    public var description: String
    public var photos: [String]
    public var location: Location
    public var reporter: String
    /// The HLC of the first write: the order lists are sorted and paginated by.
    public var created: HLCTimestamp
    public var createdMillis: Int64
    public var stage: TicketStage = .submitted
    public var level: TicketLevel = .committee
    public var assignee: String?
    public var firstResponseMillis: Int64?
    public var resolvedMillis: Int64?
    public var rating: Int?
    /// The events, oldest first.
    public var history: [TicketEvent] = []

    /// When the first response is due.
    public var dueMillis: Int64 { createdMillis + Self.responseSLAMillis }
    /// Open with no first response yet: overdue once its due time has passed.
    public var isAwaitingResponse: Bool { firstResponseMillis == nil && stage.isOpen }
    /// Whether the ticket has waited past its due time with no response, at `nowMillis`.
    public func isOverdue(nowMillis: Int64) -> Bool { isAwaitingResponse && nowMillis > dueMillis }
    /// Whether a first response at `firstResponseMillis` to a ticket made at `createdMillis` came within the SLA.
    public static func respondedInTime(createdMillis: Int64, firstResponseMillis: Int64?) -> Bool {
        firstResponseMillis.map { $0 - createdMillis <= responseSLAMillis } ?? false
    }
    /// The bucket the SLA rollup counts a duration in (first response, resolution): 0 under a minute, then
    /// ⌊log2(minutes)⌋ + 1, so bucket b holds 2^(b-1) to 2^b - 1 minutes.
    public static func durationBucket(millis: Int64) -> Int {
        let minutes = max(0, millis) / 60_000
        return minutes < 1 ? 0 : Int(64 - UInt64(minutes).leadingZeroBitCount)
    }
    /// Whether the first response came (or has not yet been missed) within the SLA.
    public func metSLA(nowMillis: Int64) -> Bool {
        if let first = firstResponseMillis { return first <= dueMillis }
        return nowMillis <= dueMillis
    }

    public init?(_ record: EntityRecord, events: [TicketEvent]) {
        guard record.kind == .ticket, let committee = record.scope.committee,
              let category = TicketCategory(rawValue: record["category"].string ?? "") else { return nil }
        self.id = record.id
        self.committee = committee
        self.category = category
        self.title = record["title"].string ?? ""
        self.description = record["description"].string ?? ""
        self.photos = record["photos"].strings
        self.location = Location(record["location"])
        self.reporter = record["reporter"].string ?? ""
        self.createdMillis = record.createdMillis
        self.created = record.created.hlc
        for event in events.filter({ $0.ticket == id }).sorted(by: { $0.stamp < $1.stamp }) { fold(event) }
    }

    /// Applies one event. Transitions that do not fit the stage reached (possible when two replicas
    /// acted concurrently) stay in the history but do not move the stage.
    private mutating func fold(_ event: TicketEvent) {
        history.append(event)
        if event.byStaff, event.type != .rate, event.type != .reopen, firstResponseMillis == nil { firstResponseMillis = event.millis }
        switch event.type {
        case .acknowledge:
            if stage == .submitted { stage = .acknowledged }
        case .start:
            if stage == .submitted || stage == .acknowledged { stage = .inProgress }
        case .assign:
            if stage.isOpen { assignee = event.assignee }
        case .escalate:
            if let level = event.level, level > self.level, stage.isOpen { self.level = level }
        case .resolve:
            if stage.isOpen { stage = .resolved; resolvedMillis = event.millis }
        case .reopen:
            if stage == .resolved || stage == .closed { stage = .inProgress; resolvedMillis = nil; rating = nil }
        case .rate:
            if stage == .resolved { stage = .closed; rating = event.rating }
        case .comment:
            break
        }
    }

    // MARK: - Commands

    /// A resident (or a cadre on their behalf) reports a problem.
    public static func create(_ input: TicketInput, in committee: Committee, by actor: Actor, id: String) throws(GovernanceError) -> ChangeDraft {
        guard actor.canRead(committee) else { throw .forbidden("only members of the committee report problems here") }
        let title = try Text.required(input.title, field: "title", max: 100)
        let description = try Text.optional(input.description, field: "description", max: 2_000)
        let photos = try Text.references(input.photos, field: "photos", maxCount: 9)
        let location = try input.location.validated()
        return ChangeDraft(
            scope: .committee(committee.id), kind: EntityKind.ticket.rawValue, entity: id, op: .add,
            fields: [
                "category": .string(input.category.rawValue), "title": .string(title), "description": .string(description),
                "photos": .strings(photos), "location": location.value, "reporter": .string(actor.memberID),
            ],
            author: actor.memberID)
    }

    /// Records an event, checking who may do it and that it fits the current stage.
    public func event(_ type: TicketEventType, note: String, assignee: String?, rating: Int?, in committee: Committee,
                      by actor: Actor, id: String) throws(GovernanceError) -> ChangeDraft {
        let staff = actor.isStaff(of: committee)
        let reporter = actor.memberID == self.reporter
        let cleanNote = try Text.optional(note, field: "note", max: 2_000)
        var fields: [String: Value] = [
            "ticket": .string(self.id), "type": .string(type.rawValue), "actor": .string(actor.memberID),
            "byStaff": .bool(staff), "note": .string(cleanNote),
        ]
        func requireStaff() throws(GovernanceError) {
            guard staff else { throw .forbidden("only cadres and officers may \(type.rawValue) a ticket") }
        }
        func requireOpen() throws(GovernanceError) {
            guard stage.isOpen else { throw .conflict("ticket_not_open", "the ticket is \(stage.rawValue)") }
        }
        switch type {
        case .acknowledge:
            try requireStaff()
            guard stage == .submitted else { throw .conflict("wrong_stage", "only a submitted ticket is acknowledged (it is \(stage.rawValue))") }
        case .start:
            try requireStaff()
            guard stage == .submitted || stage == .acknowledged else { throw .conflict("wrong_stage", "the ticket is \(stage.rawValue)") }
        case .assign:
            try requireStaff(); try requireOpen()
            guard let assignee, !assignee.isEmpty else { throw .invalid("assignee", "required") }
            fields["assignee"] = .string(try Text.required(assignee, field: "assignee", max: 100))
        case .escalate:
            try requireStaff(); try requireOpen()
            guard let next = TicketLevel(rawValue: level.rawValue + 1) else { throw .conflict("top_level", "already at the district grid platform") }
            fields["level"] = .string(next.name)
        case .resolve:
            try requireStaff(); try requireOpen()
        case .comment:
            guard staff || reporter else { throw .forbidden("only the reporter and staff comment on a ticket") }
            guard !cleanNote.isEmpty else { throw .invalid("note", "a comment needs text") }
        case .reopen:
            guard reporter || staff else { throw .forbidden("only the reporter or staff reopen a ticket") }
            guard stage == .resolved || stage == .closed else { throw .conflict("wrong_stage", "only a resolved or closed ticket is reopened") }
        case .rate:
            guard reporter else { throw .forbidden("only the reporter rates the result") }
            guard stage == .resolved else { throw .conflict("wrong_stage", "a ticket is rated once resolved") }
            guard let rating, (1...5).contains(rating) else { throw .invalid("rating", "between 1 and 5") }
            fields["rating"] = .int(Int64(rating))
        }
        return ChangeDraft(scope: .committee(self.committee), kind: EntityKind.ticketEvent.rawValue, entity: id, op: .add,
                           fields: fields, author: actor.memberID)
    }
}
