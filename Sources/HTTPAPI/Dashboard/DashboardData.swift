import Foundation
import Governance
import Replication
import Storage

/// Everything the command centre shows, read from the rollup tables in one read transaction.
struct DashboardData {
    struct Unit {
        var key: String
        var name: String
        var sla: SLARollupRow
        /// How fast its cadres answer @-mentions and private messages.
        var answers: AnswerRollupRow?
        /// First responses within 15 hours among tickets answered or already past due.
        var compliance: Double? {
            let judged = sla.responded + sla.overdue
            return judged > 0 ? Double(sla.respondedInTime) / Double(judged) : nil
        }
    }

    struct Peer {
        var node: String
        var connected: Bool
        var lagChanges: Int
        var lagSeconds: Int?
    }

    var title: String
    var node: String
    var generatedAt: String
    var totals: SLARollupRow
    /// @-mentions and private messages over the whole scope.
    var answerTotals: AnswerRollupRow
    /// Streets (or committees, for a street's own view), laggards first.
    var units: [Unit]
    /// The committees furthest behind the SLA, worst first.
    var laggards: [Unit]
    var flowDays: [String]
    var flow: [(name: String, color: String, values: [Int])]
    var hot: [HotCategory]
    var hotPosts: [(post: HotPost, title: String)]
    var participation: [ParticipationRow]
    var participationTotal: ParticipationRow
    var polls: [(row: PollResultRow, committee: String)]
    var peers: [Peer]

    static let flowWindowDays = 28

    /// Reads the dashboard of `scope` (named `title`) from `view`; `names` gives Chinese names of streets and districts.
    static func read(_ view: ReadView, scope: RollupScope, title: String, node: String, names: [String: String]) throws -> DashboardData {
        let now = view.nowMillis
        // Timeliness is compared street by street (committee by committee on a street's own screen); participation
        // one level down from the scope.
        let unitGrouping: RollupGrouping = switch scope {
        case .city, .district: .street
        case .street, .committee: .committee
        }
        let participationGrouping: RollupGrouping = switch scope {
        case .city: .district
        case .district: .street
        case .street, .committee: .committee
        }
        var committeeNames: [String: String] = [:]
        func committeeName(_ id: String) throws -> String {
            if let name = committeeNames[id] { return name }
            let name = try view.committee(id)?.name ?? id
            committeeNames[id] = name
            return name
        }
        func name(_ key: String, _ grouping: RollupGrouping) throws -> String {
            grouping == .committee ? try committeeName(key) : (names[key] ?? key)
        }
        func worstFirst(_ a: Unit, _ b: Unit) -> Bool {
            (a.compliance ?? 2, -a.sla.overdue, a.key) < (b.compliance ?? 2, -b.sla.overdue, b.key)
        }
        let unitAnswers = Dictionary(uniqueKeysWithValues: try view.answerRollup(groupBy: unitGrouping, scope: scope, nowMillis: now).map { ($0.key, $0) })
        let committeeAnswers = Dictionary(uniqueKeysWithValues: try view.answerRollup(groupBy: .committee, scope: scope, nowMillis: now).map { ($0.key, $0) })
        let units = try view.slaRollup(groupBy: unitGrouping, scope: scope, nowMillis: now)
            .map { Unit(key: $0.key, name: try name($0.key, unitGrouping), sla: $0, answers: unitAnswers[$0.key]) }.sorted(by: worstFirst)
        let laggards = try view.slaRollup(groupBy: .committee, scope: scope, nowMillis: now)
            .map { Unit(key: $0.key, name: $0.key, sla: $0, answers: committeeAnswers[$0.key]) }.sorted(by: worstFirst).prefix(5)
            .map { unit in var unit = unit; unit.name = try committeeName(unit.key); return unit }
        let totals = SLARollupRow.sum(units.map(\.sla), key: "all")
        let answerTotals = committeeAnswers.values.reduce(into: AnswerRollupRow(key: "all", asked: 0, answered: 0, answeredInDay: 0, waitingOverDay: 0)) {
            $0.asked += $1.asked; $0.answered += $1.answered; $0.answeredInDay += $1.answeredInDay; $0.waitingOverDay += $1.waitingOverDay
        }

        // Ticket flow: tickets raised per day over four weeks, by where they stand now.
        let day: Int64 = 86_400_000
        let days = (0..<flowWindowDays).map { ShanghaiCalendar.day(ofMillis: now - Int64(flowWindowDays - 1 - $0) * day) }
        let perDay = Dictionary(uniqueKeysWithValues: try view.ticketRollup(groupBy: .day, scope: scope, since: days.first, until: days.last)
            .map { ($0.key, $0.byStage) })
        func series(_ stages: [TicketStage]) -> [Int] { days.map { d in stages.reduce(0) { $0 + (perDay[d]?[$1.rawValue] ?? 0) } } }
        let flow = [("已办结", "#22c55e", series([.resolved, .closed])), ("处理中", "#38bdf8", series([.acknowledged, .inProgress])),
                    ("待响应", "#f59e0b", series([.submitted]))]

        let since = ShanghaiCalendar.day(ofMillis: now - 6 * day), until = ShanghaiCalendar.day(ofMillis: now)
        let hotPosts = try view.hotPosts(scope: scope, since: since, until: until, limit: 5).map { ($0, try view.post($0.post)?.title ?? "") }
        let participation = try view.participationRollup(groupBy: participationGrouping, scope: scope)
            .map { row in var row = row; row.key = try name(row.key, participationGrouping); return row }
        let all = ParticipationRow.sum(participation, key: "all")
        let polls = try view.closedPolls(scope: scope, nowMillis: now, limit: 5).map { ($0, try committeeName($0.committee)) }
        return DashboardData(
            title: title, node: node, generatedAt: Time.format(now), totals: totals, answerTotals: answerTotals, units: units, laggards: Array(laggards),
            flowDays: days.map { String($0.dropFirst(5)) }, flow: flow, hot: try view.hotCategories(scope: scope, since: since, until: until),
            hotPosts: hotPosts, participation: participation, participationTotal: all, polls: polls, peers: [])
    }

    /// The peers of the replication status (`ClusterStatus.replication()`), for the health panel.
    static func peers(from replication: Value) -> [Peer] {
        (replication["peers"].list ?? []).map { peer in
            Peer(node: peer["node"].string ?? "", connected: peer["connected"].bool ?? false, lagChanges: Int(peer["lagChanges"].int ?? 0),
                 lagSeconds: peer["lagSeconds"].int.map(Int.init))
        }
    }
}

/// One committee on one screen (一屏观社区): its people, its open tickets, its polls and what its residents talk about.
struct CommitteeScreen {
    var committee: Committee
    var participation: ParticipationRow?
    var sla: SLARollupRow?
    var staff: [Member]
    var openTickets: [Ticket]
    var polls: [(poll: Poll, result: PollResultRow?)]
    var hotPosts: [(post: HotPost, title: String)]
    var nowMillis: Int64

    static func read(_ view: ReadView, committee: Committee) throws -> CommitteeScreen {
        let now = view.nowMillis
        let scope = RollupScope.committee(committee.id)
        let day: Int64 = 86_400_000
        let open = try view.tickets(committee: committee.id, limit: 500).filter { $0.stage.isOpen }
            .sorted { ($0.isOverdue(nowMillis: now) ? 0 : 1, $0.createdMillis) < ($1.isOverdue(nowMillis: now) ? 0 : 1, $1.createdMillis) }
        let since = ShanghaiCalendar.day(ofMillis: now - 6 * day), until = ShanghaiCalendar.day(ofMillis: now)
        return CommitteeScreen(
            committee: committee,
            participation: try view.participationRollup(groupBy: .committee, scope: scope).first,
            sla: try view.slaRollup(groupBy: .committee, scope: scope, nowMillis: now).first,
            staff: try view.members(committee: committee.id, status: .approved).filter { $0.role != .resident },
            openTickets: Array(open.prefix(12)),
            polls: try view.polls(committee: committee.id, limit: 6).map { ($0, try view.pollResult($0.id, nowMillis: now)) },
            hotPosts: try view.hotPosts(scope: scope, since: since, until: until, limit: 5).map { ($0, try view.post($0.post)?.title ?? "") },
            nowMillis: now)
    }
}
