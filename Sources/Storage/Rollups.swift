import Foundation
import Governance
import Replication

/// A rollup, declared in one place: its name (the path `/v1/rollups/<name>` and `shequ query <name>`), the entity kinds
/// whose changes move it, the tables it reads, the parameters a request may give, its answer as JSON and how
/// `shequ query` lays that answer out as tables. The HTTP routes and the command line are made from `Rollups.all`; what
/// differs between rollups lives here and in the facts and queries it names, not in the routes.
///
/// `watches` is checked, not just stated: `RollupDeclarationTests` applies only the changes of the kinds a rollup
/// watches at a second node and expects the same answer as the node that applied everything.
public struct Rollup: Sendable {
    public let name: String
    public let summary: String
    /// The kinds of entity whose changes can move it (the facts it keeps are derived from entities of these kinds).
    public let watches: Set<EntityKind>
    /// The tables it reads, kept as changes apply by the `RollupKeepers` (and `AnswerRollups`, as each change applies).
    public let tables: [String]
    public let parameters: RollupParameters
    /// How `shequ query` prints the answer: one table per list in it.
    public let layout: [RollupLayout]
    private let answerer: @Sendable (ReadView, RollupRequest) throws -> Value

    public var path: String { "/v1/rollups/\(name)" }

    /// The answer to `request`, as the HTTP API returns it.
    public func answer(_ view: ReadView, _ request: RollupRequest) throws -> Value { try answerer(view, request) }

    init(name: String, summary: String, watches: Set<EntityKind>, tables: [String], parameters: RollupParameters, layout: [RollupLayout],
         answer: @escaping @Sendable (ReadView, RollupRequest) throws -> Value) {
        self.name = name
        self.summary = summary
        self.watches = watches
        self.tables = tables
        self.parameters = parameters
        self.layout = layout
        self.answerer = answer
    }
}

/// What a rollup's request asks besides the reader's scope, each part defaulted by the rollup's `RollupParameters`.
public struct RollupRequest: Sendable, Hashable {
    public var scope: RollupScope
    public var groupBy: RollupGrouping = .committee
    /// Days (YYYY-MM-DD, Shanghai time) bounding a window, either or both.
    public var since: String?
    public var until: String?
    /// A window of days ending today.
    public var windowDays = 7
    public var limit = 20

    public init(scope: RollupScope, groupBy: RollupGrouping = .committee, since: String? = nil, until: String? = nil, windowDays: Int = 7,
                limit: Int = 20) {
        self.scope = scope
        self.groupBy = groupBy
        self.since = since
        self.until = until
        self.windowDays = windowDays
        self.limit = limit
    }
}

/// A request parameter refused: which one, and what it must be.
public struct RollupParameterError: Error, Equatable {
    public let field: String
    public let expected: String
}

/// The parameters a rollup takes, with their defaults and limits.
public struct RollupParameters: Sendable {
    /// The groupings it answers (`groupBy`), the first the default; none: it does not group.
    public var groupings: [RollupGrouping] = []
    /// Whether it takes `since` and `until` (a day, or an RFC 3339 time taken as its day in Shanghai).
    public var days = false
    /// The default of `window` (e.g. `7d`, `48h`; up to 366 days), when it takes one.
    public var window: String?
    /// The default and the most of `limit`, when it takes one.
    public var limit: (default: Int, max: Int)?

    /// The longest window asked in days.
    public static let maxWindowDays = 366

    /// The query parameters it takes, in the order the command line lists them.
    public var names: [String] {
        (groupings.isEmpty ? [] : ["groupBy"]) + (days ? ["since", "until"] : []) + (window == nil ? [] : ["window"]) + (limit == nil ? [] : ["limit"])
    }

    /// The request made of the query's parameters (`value(name)`); parameters it does not take are not read.
    public func request(scope: RollupScope, _ value: (String) -> String?) throws(RollupParameterError) -> RollupRequest {
        var request = RollupRequest(scope: scope)
        if let fallback = groupings.first {
            if let text = value("groupBy") {
                guard let grouping = RollupGrouping(rawValue: text), groupings.contains(grouping) else {
                    throw RollupParameterError(field: "groupBy", expected: Self.list(groupings.map(\.rawValue)))
                }
                request.groupBy = grouping
            } else {
                request.groupBy = fallback
            }
        }
        if days {
            request.since = try value("since").map { text throws(RollupParameterError) in try Self.day(text, field: "since") }
            request.until = try value("until").map { text throws(RollupParameterError) in try Self.day(text, field: "until") }
        }
        if let window { request.windowDays = try Self.windowDays(value("window") ?? window) }
        if let limit {
            if let text = value("limit") {
                guard let asked = Int(text), (1...limit.max).contains(asked) else {
                    throw RollupParameterError(field: "limit", expected: "between 1 and \(limit.max)")
                }
                request.limit = asked
            } else {
                request.limit = limit.default
            }
        }
        return request
    }

    /// A day (YYYY-MM-DD), or an RFC 3339 time taken as its day in Shanghai.
    static func day(_ text: String, field: String) throws(RollupParameterError) -> String {
        if text.count == 10, text.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil { return text }
        guard let millis = ShanghaiCalendar.millis(rfc3339: text) else {
            throw RollupParameterError(field: field, expected: "a day (YYYY-MM-DD) or an RFC 3339 time with an offset, e.g. 2026-05-01T09:00:00+08:00")
        }
        return ShanghaiCalendar.day(ofMillis: millis)
    }

    /// A window such as `7d` or `48h`, as a number of days ending today.
    static func windowDays(_ text: String) throws(RollupParameterError) -> Int {
        let expected = "a number of days or hours, e.g. 7d or 48h"
        guard let unit = text.last, let number = Int(text.dropLast()), number > 0 else { throw RollupParameterError(field: "window", expected: expected) }
        let days: Int
        switch unit {
        case "d": days = number
        case "h": days = (number + 23) / 24
        default: throw RollupParameterError(field: "window", expected: expected)
        }
        guard days <= maxWindowDays else { throw RollupParameterError(field: "window", expected: "at most \(maxWindowDays) days") }
        return days
    }

    /// "a, b or c".
    static func list(_ names: [String]) -> String {
        names.count < 2 ? names.joined() : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}

/// One table of `shequ query`'s print-out: a list in the answer, a column per field.
public struct RollupLayout: Sendable {
    /// A line above the table; `{name}` takes the answer's field of that name.
    public var title: String?
    /// The answer's field holding the rows.
    public var list: String
    public var columns: [RollupColumn]

    /// The title, the header and the rows of this table in `answer`.
    public func table(_ answer: Value) -> (title: String?, header: [String], rows: [[String]]) {
        // One pass over the template: what a field holds is not read as a template again.
        func fill(_ text: String) -> String {
            var filled = "", rest = text[...]
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                filled += rest[..<open] + RollupColumn.text(answer[String(rest[rest.index(after: open)..<close])])
                rest = rest[rest.index(after: close)...]
            }
            return filled + rest
        }
        let rows = (answer[list].list ?? []).map { row in columns.map { $0.text(in: row) } }
        return (title.map(fill), columns.map { fill($0.header) }, rows)
    }
}

/// A column of a `RollupLayout`: a header (`{name}` takes the answer's field) and the row's field it shows.
public struct RollupColumn: Sendable {
    public var header: String
    /// The field, a path into nested objects (`byStage.resolved`).
    public var field: [String]
    /// What an absent or null field shows.
    public var absent = "-"

    init(_ header: String, _ field: String? = nil, absent: String = "-") {
        self.header = header
        self.field = (field ?? header).split(separator: ".").map(String.init)
        self.absent = absent
    }

    func text(in row: Value) -> String {
        let value = field.reduce(row) { $0[$1] }
        return value == .null ? absent : Self.text(value)
    }

    /// A value as a cell: text as it is, yes/no, a list of objects as their values in key order joined by " / ".
    static func text(_ value: Value) -> String {
        switch value {
        case .null: "-"
        case .string(let text): text
        case .int(let number): String(number)
        case .bool(let flag): flag ? "yes" : "no"
        case .list(let items):
            items.map { item in
                item.object.map { object in object.keys.sorted().map { text(object[$0]!) }.joined(separator: " ") } ?? text(item)
            }.joined(separator: " / ")
        default: value.canonicalJSON
        }
    }
}

/// Every rollup, in the order the command line and the API's documentation list them.
public enum Rollups {
    public static let all: [Rollup] = [tickets, sla, answers, hotTopics, participation, polls]

    public static func named(_ name: String) -> Rollup? { all.first { $0.name == name } }

    static let units: [RollupGrouping] = [.committee, .street, .district]

    /// A share (0 to 1) as a decimal string with three places ("0.900"), or null.
    public static func share(_ value: Double?) -> Value {
        value.map { .string(String(format: "%.3f", $0)) } ?? .null
    }

    static let tickets = Rollup(
        name: "tickets", summary: "Tickets per unit, category or day and stage, optionally created in a window of days.",
        watches: [.ticket, .ticketEvent, .committee],
        tables: ["rollup_tickets", "rollup_tickets_all", "rollup_tickets_street", "committee_units"],
        parameters: RollupParameters(groupings: units + [.category, .day], days: true),
        layout: [RollupLayout(list: "items", columns: [RollupColumn("{groupBy}", "key"), RollupColumn("total")]
            + TicketStage.allCases.map { RollupColumn($0.rawValue, "byStage.\($0.rawValue)", absent: "0") })]
    ) { view, request in
        let rows = try view.ticketRollup(groupBy: request.groupBy, scope: request.scope, since: request.since, until: request.until)
        return .object(["groupBy": .string(request.groupBy.rawValue), "since": .optional(request.since), "until": .optional(request.until),
                        "items": .list(rows.map(\.json))])
    }

    static let sla = Rollup(
        name: "sla", summary: "First response within 15 hours, overdue, resolution times, solved in the committee and satisfaction, per unit.",
        watches: [.ticket, .ticketEvent, .committee],
        tables: ["rollup_sla", "rollup_first_response", "rollup_resolution", "ticket_facts", "committee_units"],
        parameters: RollupParameters(groupings: units),
        layout: [RollupLayout(list: "items", columns: [
            RollupColumn("{groupBy}", "key"), RollupColumn("tickets"), RollupColumn("responded"), RollupColumn("in 15 h", "respondedInTime"),
            RollupColumn("overdue"), RollupColumn("resolved"), RollupColumn("in committee", "resolvedInCommittee"),
            RollupColumn("share", "solvedInCommitteeShare"), RollupColumn("1st resp p50 min", "firstResponseP50Minutes"),
            RollupColumn("p90", "firstResponseP90Minutes"), RollupColumn("resolution p50 min", "resolutionP50Minutes"),
            RollupColumn("p90", "resolutionP90Minutes"), RollupColumn("rated"), RollupColumn("satisfaction"),
        ])]
    ) { view, request in
        let rows = try view.slaRollup(groupBy: request.groupBy, scope: request.scope, nowMillis: view.nowMillis)
        return .object(["groupBy": .string(request.groupBy.rawValue), "slaHours": .int(Ticket.responseSLAMillis / 3_600_000),
                        "items": .list(rows.map(\.json))])
    }

    static let answers = Rollup(
        name: "answers", summary: "How fast cadres answer @-mentions and private messages (the 24-hour secretary), per unit.",
        watches: [.message, .post, .comment, .member, .committee],
        tables: ["rollup_answers", "answer_facts", "committee_units"],
        parameters: RollupParameters(groupings: units),
        layout: [RollupLayout(list: "items", columns: [
            RollupColumn("{groupBy}", "key"), RollupColumn("asked"), RollupColumn("answered"), RollupColumn("in a day", "answeredInDay"),
            RollupColumn("waiting over a day", "waitingOverDay"), RollupColumn("share", "inDayShare"),
        ])]
    ) { view, request in
        let rows = try view.answerRollup(groupBy: request.groupBy, scope: request.scope, nowMillis: view.nowMillis)
        return .object(["groupBy": .string(request.groupBy.rawValue), "withinHours": .int(AnswerRollups.day / 3_600_000),
                        "items": .list(rows.map(\.json))])
    }

    static let hotTopics = Rollup(
        name: "hot-topics", summary: "Categories by posts, comments and likes in a window of days ending today, and the most active posts.",
        watches: [.post, .comment, .like, .committee],
        tables: ["rollup_activity", "post_activity", "committee_units"],
        parameters: RollupParameters(window: "7d", limit: (10, 100)),
        layout: [
            RollupLayout(title: "hot topics {since} … {until}", list: "categories",
                         columns: ["category", "label", "posts", "comments", "likes", "score"].map { RollupColumn($0) }),
            RollupLayout(title: "most active posts", list: "posts", columns: ["post", "title", "unit", "day", "comments", "likes"].map { RollupColumn($0) }),
        ]
    ) { view, request in
        let until = ShanghaiCalendar.day(ofMillis: view.nowMillis)
        let since = ShanghaiCalendar.day(ofMillis: view.nowMillis - Int64(request.windowDays - 1) * 86_400_000)
        let categories = try view.hotCategories(scope: request.scope, since: since, until: until)
        let posts = try view.hotPosts(scope: request.scope, since: since, until: until, limit: request.limit).map { hot in
            hot.json(title: try view.post(hot.post)?.title ?? "")
        }
        return .object(["window": .string("\(request.windowDays)d"), "since": .string(since), "until": .string(until),
                        "categories": .list(categories.map(\.json)), "posts": .list(posts)])
    }

    static let participation = Rollup(
        name: "participation", summary: "Approved members, households, members under 50, party members showing the badge and volunteers, per unit.",
        watches: [.member, .committee],
        tables: ["rollup_participation", "household_members", "committee_units"],
        parameters: RollupParameters(groupings: units),
        layout: [RollupLayout(list: "items", columns: [
            RollupColumn("{groupBy}", "key"), RollupColumn("members"), RollupColumn("households"), RollupColumn("under 50", "under50"),
            RollupColumn("share", "under50Share"), RollupColumn("party", "partyMembers"), RollupColumn("volunteers"),
        ])]
    ) { view, request in
        let rows = try view.participationRollup(groupBy: request.groupBy, scope: request.scope)
        return .object(["groupBy": .string(request.groupBy.rawValue), "items": .list(rows.map(\.json))])
    }

    /// Closed polls; one poll's running count is `/v1/rollups/polls/{id}` (`PollResultRow.json(visible:)`).
    static let polls = Rollup(
        name: "polls", summary: "Closed polls in scope, most recently closed first, with turnout and results.",
        watches: [.poll, .ballot, .member, .committee],
        tables: ["poll_facts", "poll_votes", "poll_voters", "ballot_facts", "rollup_participation", "committee_units"],
        parameters: RollupParameters(limit: (20, 200)),
        layout: [RollupLayout(list: "items", columns: [
            RollupColumn("poll"), RollupColumn("committee"), RollupColumn("title"), RollupColumn("closed"), RollupColumn("ballots"),
            RollupColumn("electorate"), RollupColumn("turnout"), RollupColumn("results", absent: "(hidden until closed)"),
        ])]
    ) { view, request in
        let rows = try view.closedPolls(scope: request.scope, nowMillis: view.nowMillis, limit: request.limit)
        return .object(["items": .list(rows.map { $0.json(visible: true) })])
    }
}

// MARK: - Rows as JSON

extension TicketRollupRow {
    public var json: Value {
        .object(["key": .string(key), "total": .int(Int64(total)), "byStage": .object(byStage.mapValues { .int(Int64($0)) })])
    }
}

extension SLARollupRow {
    public var json: Value {
        .object([
            "key": .string(key), "tickets": .int(Int64(tickets)), "responded": .int(Int64(responded)),
            "respondedInTime": .int(Int64(respondedInTime)), "overdue": .int(Int64(overdue)),
            "resolved": .int(Int64(resolved)), "resolvedInCommittee": .int(Int64(resolvedInCommittee)),
            "solvedInCommitteeShare": Rollups.share(solvedInCommitteeShare),
            "firstResponseP50Minutes": .optional(firstResponseP50Minutes.map(Int64.init)),
            "firstResponseP90Minutes": .optional(firstResponseP90Minutes.map(Int64.init)),
            "resolutionP50Minutes": .optional(resolutionP50Minutes.map(Int64.init)),
            "resolutionP90Minutes": .optional(resolutionP90Minutes.map(Int64.init)),
            "rated": .int(Int64(rated)), "satisfaction": Rollups.share(satisfaction),
        ])
    }
}

extension AnswerRollupRow {
    public var json: Value {
        .object([
            "key": .string(key), "asked": .int(Int64(asked)), "answered": .int(Int64(answered)),
            "answeredInDay": .int(Int64(answeredInDay)), "waitingOverDay": .int(Int64(waitingOverDay)), "inDayShare": Rollups.share(inDayShare),
        ])
    }
}

extension HotCategory {
    public var json: Value {
        .object(["category": .string(category), "label": .string(TicketCategory(rawValue: category)?.label ?? category),
                 "posts": .int(Int64(posts)), "comments": .int(Int64(comments)), "likes": .int(Int64(likes)), "score": .int(Int64(score))])
    }
}

extension HotPost {
    public func json(title: String) -> Value {
        .object(["post": .string(post), "title": .string(title), "unit": .string(unit), "category": .string(category), "day": .string(day),
                 "comments": .int(Int64(comments)), "likes": .int(Int64(likes)), "score": .int(Int64(score))])
    }
}

extension ParticipationRow {
    public var json: Value {
        .object(["key": .string(key), "members": .int(Int64(members)), "households": .int(Int64(households)),
                 "under50": .int(Int64(under50)), "under50Share": Rollups.share(under50Share),
                 "partyMembers": .int(Int64(partyMembers)), "volunteers": .int(Int64(volunteers))])
    }
}

extension PollResultRow {
    /// The poll's turnout and, when `visible`, its results (a secret poll shows none before it closes).
    public func json(visible: Bool) -> Value {
        .object([
            "poll": .string(poll), "committee": .string(committee), "title": .string(title), "kind": .string(kind),
            "secret": .bool(secret), "closed": .bool(closed), "endsAt": .string(ShanghaiCalendar.dateTime(ofMillis: endsMillis)),
            "quorum": .int(Int64(quorum)), "quorumMet": .bool(ballots >= quorum),
            "ballots": .int(Int64(ballots)), "electorate": .int(Int64(electorate)), "turnout": Rollups.share(turnout),
            "results": visible ? .list(results.map { .object(["option": .string($0.option), "votes": .int(Int64($0.votes))]) }) : .null,
        ])
    }
}
