import Foundation
import Governance
import Replication
import Storage
import Synchronization

/// The demo's wall clock: real time, moved back while the seeder writes the weeks before today, so that the
/// command centre has a history to chart. Stamps only ever move forward: the past is written oldest first,
/// before anything is written at the present.
public final class DemoClock: Sendable {
    private let target: Mutex<Int64?>

    /// A clock that reads real time, or `startingAt` until the seeder moves it: a store that the seeder will give
    /// a history must have written nothing later than that history's start.
    public init(startingAt: Int64? = nil) { target = Mutex(startingAt) }

    /// When the demo's history begins: the people join then.
    public static var historyStart: Int64 { Int64(Store.systemMillis()) - Int64(DemoHistory.days + 1) * 86_400_000 }

    /// What a `Store` reads as the time.
    public var wallMillis: @Sendable () -> UInt64 {
        { [self] in target.withLock { $0.map(UInt64.init) } ?? Store.systemMillis() }
    }

    /// Makes the clock read `millis` until `resume()`.
    func set(_ millis: Int64) { target.withLock { $0 = millis } }
    /// Back to real time.
    func resume() { target.withLock { $0 = nil } }
}

/// Four weeks of ordinary life before today: tickets answered within minutes or hours (now and then late, or never),
/// some escalated to the street, most resolved and rated; posts on the residents' boards with comments and likes,
/// with traffic (交通出行) growing as the weeks go by — the seeds' trending topic.
struct DemoHistory {
    static let days = 28
    private static let hour: Int64 = 3_600_000
    private static let day: Int64 = 86_400_000

    /// One step of the history, done at its time.
    enum Action {
        case ticket(id: String, committee: Int, category: TicketCategory, title: String, reporter: String)
        case event(ticket: String, committee: Int, type: TicketEventType, byReporter: Bool, rating: Int?)
        case post(id: String, committee: Int, board: String, title: String, body: String, category: TicketCategory, author: String)
        case comment(post: String, committee: Int, author: String, body: String)
        case like(post: String, committee: Int, author: String)
    }

    static let ticketTitles: [TicketCategory: [String]] = [
        .environment: ["垃圾厢房清运不及时", "小区河道有漂浮物", "楼下餐饮油烟扰民"],
        .greening: ["香樟树树胶滴落", "草坪被踩出小路", "枯树枝有坠落风险"],
        .property: ["电梯经常停运", "单元门禁损坏", "物业费公示不清"],
        .parking: ["消防通道被占", "僵尸车长期占位", "非机动车乱停放"],
        .safety: ["楼道堆放杂物", "电瓶车上楼充电", "高空抛物隐患"],
        .facilities: ["路灯不亮", "健身器材损坏", "雨水井盖松动"],
        .neighbours: ["楼上漏水到楼下", "夜间装修噪音", "宠物狗扰民"],
        .traffic: ["路口缺少红绿灯", "公交站离小区太远", "早高峰校门口拥堵", "希望开通社区巴士"],
        .elderly: ["独居老人需要上门探望", "助餐点菜品单一", "老人就医出行不便"],
        .other: ["咨询居住证办理", "快递柜不够用"],
    ]

    static let postTitles: [TicketCategory: [String]] = [
        .traffic: ["社区巴士线路建议", "地铁站接驳太不方便了", "早高峰能不能错峰上学", "建议增设一个公交站"],
        .greening: ["中心花园什么时候改造", "楼下的月季开了"],
        .environment: ["垃圾分类做得越来越好了", "河道整治后变干净了"],
        .elderly: ["老年食堂新菜单", "谁知道社区有没有助浴服务"],
        .parking: ["晚上停车太难", "充电桩能否再加几个"],
        .facilities: ["加装电梯进展如何", "篮球场灯光坏了"],
        .neighbours: ["周末一起包饺子", "捡到一串钥匙"],
        .other: ["欢迎新邻居", "谢谢居委会的帮忙"],
    ]
    static let comments = ["支持！", "同意楼上", "希望尽快落实", "谢谢分享", "我也遇到过", "已转给楼组长", "点赞居委会"]

    /// Plans the history for the committees: every action with its time, oldest first.
    static func plan(committees: [DemoSeeder.CommitteeCast], until now: Int64, rng: inout SplitMix64, mint: (EntityKind) -> String) -> [(Int64, Action)] {
        var plan: [(Int64, Action)] = []
        let firstDay = (now / day - Int64(days)) * day
        func between(_ low: Int64, _ high: Int64) -> Int64 { low + Int64(rng.next() % UInt64(max(1, high - low))) }
        func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
        for d in 0..<days {
            let dayStart = firstDay + Int64(d) * day
            // Traffic grows from one in ten to one in three of what residents raise.
            let trafficShare = 10 + 25 * d / days
            func category(_ pool: [TicketCategory]) -> TicketCategory {
                Int(rng.next() % 100) < trafficShare ? .traffic : pick(pool)
            }
            for (index, cast) in committees.enumerated() {
                for _ in 0..<Int(rng.next() % 3) {
                    let created = dayStart - 8 * hour + between(7 * hour, 21 * hour)  // Shanghai is UTC+8
                    let what = category(Array(ticketTitles.keys.filter { $0 != .traffic }).sorted { $0.rawValue < $1.rawValue })
                    let id = mint(.ticket)
                    let reporter = pick(cast.residents)
                    plan.append((created, .ticket(id: id, committee: index, category: what, title: pick(ticketTitles[what]!), reporter: reporter)))
                    let roll = rng.next() % 100
                    let response: Int64? = switch roll {
                    case ..<70: between(5 * 60_000, 4 * hour)
                    case ..<88: between(4 * hour, 14 * hour)
                    case ..<96: between(16 * hour, 40 * hour)
                    default: nil
                    }
                    guard let response else { continue }
                    var t = created + response
                    plan.append((t, .event(ticket: id, committee: index, type: .acknowledge, byReporter: false, rating: nil)))
                    t += between(hour, 12 * hour)
                    plan.append((t, .event(ticket: id, committee: index, type: .start, byReporter: false, rating: nil)))
                    if rng.next() % 10 == 0 {
                        t += between(hour, 24 * hour)
                        plan.append((t, .event(ticket: id, committee: index, type: .escalate, byReporter: false, rating: nil)))
                    }
                    guard rng.next() % 10 < 8 else { continue }
                    t += between(2 * hour, 72 * hour)
                    plan.append((t, .event(ticket: id, committee: index, type: .resolve, byReporter: false, rating: nil)))
                    guard rng.next() % 10 < 6 else { continue }
                    t += between(hour, 24 * hour)
                    plan.append((t, .event(ticket: id, committee: index, type: .rate, byReporter: true, rating: 3 + Int(rng.next() % 3))))
                }
                for _ in 0..<Int(rng.next() % 3) {
                    let created = dayStart - 8 * hour + between(7 * hour, 23 * hour)
                    let what = category(Array(postTitles.keys.filter { $0 != .traffic }).sorted { $0.rawValue < $1.rawValue })
                    let id = mint(.post)
                    let board = pick(["around-me", "deliberation", "neighbours"])
                    let title = pick(postTitles[what]!)
                    plan.append((created, .post(id: id, committee: index, board: board, title: title, body: "\(title)，大家怎么看？", category: what,
                                                author: pick(cast.residents))))
                    let buzz = what == .traffic ? 2 : 1
                    for _ in 0..<Int(rng.next() % UInt64(4 * buzz)) {
                        plan.append((created + between(10 * 60_000, 36 * hour), .comment(post: id, committee: index, author: pick(cast.residents), body: pick(comments))))
                    }
                    for liker in Set((0..<Int(rng.next() % UInt64(8 * buzz))).map { _ in pick(cast.residents) }) {
                        plan.append((created + between(5 * 60_000, 48 * hour), .like(post: id, committee: index, author: liker)))
                    }
                }
            }
        }
        return plan.enumerated().filter { $0.element.0 < now - 10 * 60_000 }
            .sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
    }

    /// Does one action as the HTTP API would; an action the state no longer allows (a ticket reopened twice) is skipped.
    static func perform(_ action: Action, committees: [DemoSeeder.CommitteeCast], store: Store) throws {
        func actor(_ id: String, _ role: Role, _ cast: DemoSeeder.CommitteeCast) -> Actor {
            Actor(memberID: id, role: role, status: .approved, committee: cast.committee.id, unit: nil)
        }
        try store.writeNow { tx in
            switch action {
            case let .ticket(id, index, category, title, reporter):
                let cast = committees[index]
                _ = try tx.raiseTicket(TicketInput(category: category, title: title, description: "居民反映：\(title)", photos: [],
                                                   location: Location(address: "\(cast.committee.name)")),
                                       committee: cast.committee.id, by: actor(reporter, .resident, cast), id: id)
            case let .event(ticketID, index, type, byReporter, rating):
                let cast = committees[index]
                guard let ticket = try tx.view.ticket(ticketID) else { return }
                let by = byReporter ? actor(ticket.reporter, .resident, cast) : actor(cast.cadre, .cadre, cast)
                let note = type == .resolve ? "已处理完毕，请查看" : (type == .escalate ? "需街道协调" : "")
                do {
                    _ = try tx.ticketEvent(type, ticket: ticketID, note: note, rating: rating, by: by)
                } catch is GovernanceError {
                    // The ticket's stage no longer allows it (reopened twice, say): skipped.
                }
            case let .post(id, index, board, title, body, category, author):
                let cast = committees[index]
                _ = try tx.createPost(PostInput(title: title, body: body, category: category.rawValue), board: Board.named(board)!,
                                      committee: cast.committee.id, by: actor(author, .resident, cast), id: id)
            case let .comment(postID, index, author, body):
                let cast = committees[index]
                guard try tx.view.post(postID) != nil else { return }
                _ = try tx.comment(on: postID, body: body, by: actor(author, .resident, cast))
            case let .like(postID, index, author):
                let cast = committees[index]
                guard try tx.view.post(postID) != nil else { return }
                try tx.setLike(true, post: postID, by: actor(author, .resident, cast))
            }
        }
    }
}
