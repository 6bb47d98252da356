import Foundation
import Governance
import Replication
import Storage

/// Seeds a street node with realistic Chinese-language data: committees, staff, residents (some
/// pending), posts on every board, comments and likes, open and closed polls, tickets in every
/// stage, topics at every stage, a volunteer campaign and a mask-booking queue.
/// Every write goes through Governance, exactly as the HTTP API would make it.
public struct DemoSeeder {
    let store: Store
    let street: (id: String, name: String)
    let district: String
    let clock: DemoClock?
    var rng: SplitMix64

    /// - Parameter clock: the clock `store` reads; with one, the seeder first writes four weeks of history.
    public init(store: Store, street: (id: String, name: String), district: String, seed: UInt64, clock: DemoClock? = nil) {
        self.store = store
        self.street = street
        self.district = district
        self.clock = clock
        self.rng = SplitMix64(seed: seed)
    }

    /// A committee and its people, as seeded.
    struct CommitteeCast {
        var committee: Committee
        var secretary: String
        var cadre: String
        var partners: [Role: String]
        /// Approved residents.
        var residents: [String]
    }

    static let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
    static let givenNames = ["建国", "秀英", "桂英", "志强", "海燕", "伟", "芳", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "玉兰", "慧", "晨", "佳怡", "子涵"]

    mutating func name() -> String {
        String(Self.surnames[Int(rng.next() % UInt64(Self.surnames.count))]) + Self.givenNames[Int(rng.next() % UInt64(Self.givenNames.count))]
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

    /// Seeds the committees and returns the accounts created (one per role per committee, and the street officer).
    /// With a clock, the people join four weeks ago and the weeks since are written day by day before today's activity.
    public mutating func seed(committees: [(id: String, name: String)], residentsPerCommittee: Int = 24) throws -> [DemoAccount] {
        var accounts: [DemoAccount] = []
        let node = store.nodeID
        let now = Int64(Store.systemMillis())
        clock?.set(DemoClock.historyStart)
        let officer = try staff(role: .streetOfficer, name: "\(street.name)街道办 网格中心", committee: nil, unit: street.id, scope: .street(street.id))
        accounts.append(DemoAccount(node: node, committee: nil, role: Role.streetOfficer.rawValue, memberId: officer.id, token: officer.token))
        var casts: [CommitteeCast] = []
        for (cid, cname) in committees {
            let committee = Committee(id: cid, name: cname, street: street.id, district: district)
            try store.writeNow { tx in
                if try tx.view.committee(cid) == nil { try tx.append(Committee.define(committee, author: node)) }
                if try tx.view.joinCode(committee: cid) == nil { try tx.setJoinCode(committee: cid) }
            }
            let secretary = try staff(role: .secretary, name: "\(name().prefix(1))书记", committee: cid)
            let cadre = try staff(role: .cadre, name: "\(name().prefix(1))主任", committee: cid)
            var partners: [Role: String] = [:]
            for role in [Role.property, .police, .doctor, .lawyer, .owners] {
                partners[role] = try staff(role: role, name: "\(role.label)·\(name().prefix(1))老师", committee: cid).id
            }
            var residents: [(id: String, token: String)] = []
            for i in 0..<residentsPerCommittee {
                let resident = try join(committee: committee, approve: i < residentsPerCommittee - 3)
                residents.append(resident)
            }
            accounts.append(DemoAccount(node: node, committee: cid, role: "secretary", memberId: secretary.id, token: secretary.token))
            accounts.append(DemoAccount(node: node, committee: cid, role: "cadre", memberId: cadre.id, token: cadre.token))
            accounts.append(DemoAccount(node: node, committee: cid, role: "resident", memberId: residents[0].id, token: residents[0].token))
            casts.append(CommitteeCast(committee: committee, secretary: secretary.id, cadre: cadre.id, partners: partners,
                                       residents: residents.prefix(residentsPerCommittee - 3).map(\.id)))
        }
        if let clock {
            let store = self.store
            for (millis, action) in DemoHistory.plan(committees: casts, until: now, rng: &rng, mint: { store.mintID($0) }) {
                clock.set(millis)
                try DemoHistory.perform(action, committees: casts, store: store)
            }
            clock.resume()
        }
        for cast in casts {
            try seedActivity(cast.committee, secretary: cast.secretary, cadre: cast.cadre, partners: cast.partners, residents: cast.residents)
        }
        return accounts
    }

    // MARK: - People

    /// An officer account on a street, district or city node (the command centre's user).
    public static func officer(store: Store, role: Role, unit: String?, name: String) throws -> DemoAccount {
        let scope: Scope = switch role {
        case .districtOfficer: .district(unit!)
        case .streetOfficer: .street(unit!)
        default: .city
        }
        let (id, token) = try account(store: store, role: role, name: name, committee: nil, unit: unit, scope: scope)
        return DemoAccount(node: store.nodeID, committee: nil, role: role.rawValue, memberId: id, token: token)
    }

    /// Writes a staff member (signed by the store's node) and issues its bearer token; scope defaults to the committee.
    public static func account(store: Store, role: Role, name: String, committee: String?, unit: String? = nil,
                               scope: Scope? = nil) throws -> (id: String, token: String) {
        let id = store.mintID(.member)
        let token = try store.writeNow { tx in
            try tx.appointStaff(id: id, role: role, displayName: name, committee: committee, unit: unit, scope: scope ?? .committee(committee!))
            return try tx.issueToken(member: id)
        }
        return (id, token)
    }

    func staff(role: Role, name: String, committee: String?, unit: String? = nil, scope: Scope? = nil) throws -> (id: String, token: String) {
        try Self.account(store: store, role: role, name: name, committee: committee, unit: unit, scope: scope)
    }

    mutating func join(committee: Committee, approve: Bool) throws -> (id: String, token: String) {
        let realName = name()
        let application = JoinApplication(
            joinCode: "", realName: realName, phone: "13\(String(format: "%09d", rng.next() % 1_000_000_000))",
            building: "\(rng.next() % 40 + 1)号楼", room: "\(rng.next() % 6 + 1)0\(rng.next() % 4 + 1)",
            birthYear: 1935 + Int(rng.next() % 70), partyMember: rng.next() % 5 == 0)
        let volunteer = rng.next() % 6 == 0
        return try store.writeNow { tx in
            let id = try tx.join(application, committee: committee.id, checkingCode: nil).id
            if approve {
                try tx.append(ChangeDraft(scope: .committee(committee.id), kind: EntityKind.member.rawValue, entity: id, op: .assign,
                                          fields: ["status": .string(MemberStatus.approved.rawValue)], author: id))
                if volunteer {
                    try tx.append(ChangeDraft(scope: .committee(committee.id), kind: EntityKind.member.rawValue, entity: id, op: .assign,
                                              fields: ["volunteer": .bool(true)], author: id))
                }
            }
            return (id, try tx.issueToken(member: id))
        }
    }

    // MARK: - Activity

    static let boardPosts: [String: [(String, String, String?)]] = [
        "announcements": [("关于开展垃圾分类集中宣传的通知", "本周六上午九点在小区中心广场开展垃圾分类宣传活动，欢迎居民参加。", "environment"),
                          ("小区电梯加装意见征询说明会", "定于下周三晚七点在居委会二楼会议室召开，请各楼组长通知到户。", "facilities")],
        "party": [("党员亮身份 志愿服务进楼组", "请在职党员本月内到居住地报到，参与楼组志愿服务。", nil)],
        "deliberation": [("关于小区停车难的讨论", "晚上车位紧张，建议利用东侧空地改建临时停车位，大家怎么看？", "parking"),
                         ("中心花园改造方案征集意见", "三个设计方案已公示，欢迎大家在议事厅发表看法。", "greening")],
        "affairs": [("第三季度居务公开", "本季度公益金收支明细及为民办实事项目进度公示如下。", nil)],
        "property": [("二次供水水箱清洗通知", "本周四9:00-15:00停水清洗，请提前储水。", "facilities")],
        "owners": [("业委会换届筹备公告", "业主大会筹备组成员名单公示，公示期七天。", nil)],
        "police": [("防范电信诈骗提示", "近期冒充客服退款诈骗高发，请勿向陌生人转账。", "safety")],
        "doctor": [("家庭医生签约服务日", "每周二上午家庭医生在居委会坐诊，为老年人测血压血糖。", "elderly")],
        "legal": [("免费法律咨询", "每月第一个周五下午律师驻点提供免费咨询。", nil)],
        "around-me": [("树上鸟粪和树胶滴在车上", "12号楼前的树掉树胶，停的车都被弄脏了，能否修剪一下？", "greening"),
                      ("公交站太远，老人出行不便", "希望增设一条社区巴士线路到地铁站，交通出行太不方便了。", "traffic"),
                      ("早高峰路口拥堵", "小区门口早上七点半堵得厉害，建议增设交通协管员。", "traffic")],
        "neighbours": [("谁家的猫丢了？", "3号楼楼下有只橘猫，戴着红色项圈。", nil), ("周末一起包饺子", "502室周末组织邻里包饺子，欢迎报名。", nil)],
    ]

    mutating func seedActivity(_ committee: Committee, secretary: String, cadre: String, partners: [Role: String], residents: [String]) throws {
        func actor(_ id: String, _ role: Role) -> Actor { Actor(memberID: id, role: role, status: .approved, committee: committee.id, unit: nil) }
        let cadreActor = actor(cadre, .cadre)
        let partnerBoards: [String: Role] = ["property": .property, "owners": .owners, "police": .police, "doctor": .doctor, "legal": .lawyer]

        // Posts on every board, with comments and likes.
        for board in Board.committeeBoards {
            for (title, body, category) in Self.boardPosts[board.slug] ?? [] {
                let author: Actor
                if board.slug == "party" { author = actor(secretary, .secretary) }
                else if let role = partnerBoards[board.slug] { author = actor(partners[role]!, role) }
                else if board.openToMembers { author = actor(pick(residents), .resident) }
                else { author = cadreActor }
                let mentions = board.slug == "around-me" ? [cadre] : []
                let commenters = (0..<3).map { _ in pick(residents) }
                let likers = Set((0..<Int(rng.next() % 12)).map { _ in pick(residents) })
                try store.writeNow { tx in
                    let post = try tx.createPost(PostInput(title: title, body: body, mentions: mentions, category: category), board: board,
                                                 committee: committee.id, by: author)
                    for who in commenters { _ = try tx.comment(on: post.id, body: "支持！希望尽快落实。", by: actor(who, .resident)) }
                    for who in likers.sorted() { try tx.setLike(true, post: post.id, by: actor(who, .resident)) }
                }
            }
        }

        // Polls: an open proposal vote on three garden designs, a closed consultation, a secret evaluation.
        let now = store.nowMillis
        let day: Int64 = 86_400_000
        let garden = try store.writeNow { tx in
            func poll(_ title: String, _ kind: PollKind, _ options: [String], secret: Bool, days: Int64, quorum: Int) throws -> Poll {
                try tx.createPoll(PollInput(title: title, kind: kind, options: options, maxChoices: 1, secret: secret, opensAtMillis: now,
                                            closesAtMillis: now + days * day, quorum: quorum), committee: committee.id, by: cadreActor)
            }
            let garden = try poll("中心花园改造：三个设计方案投票", .proposal, ["方案一：花园步道", "方案二：儿童乐园", "方案三：休闲广场"], secret: false, days: 14, quorum: 10)
            let elevator = try poll("加装电梯意见征询", .consultation, ["同意", "不同意", "弃权"], secret: false, days: 7, quorum: 5)
            let evaluation = try poll("年终考核线上评议", .evaluation, ["满意", "基本满意", "不满意"], secret: true, days: 30, quorum: 5)
            for (i, voter) in residents.enumerated() {
                for (poll, options) in [(garden, [0, 1, 2, 0]), (elevator, [0, 0, 1, 2]), (evaluation, [0, 0, 1, 0])] {
                    try tx.vote([poll.options[options[i % options.count]]], poll: poll.id, by: actor(voter, .resident))
                }
            }
            try tx.closePoll(elevator.id, by: cadreActor)
            return garden.id
        }

        // Tickets in every stage, one escalated to the street.
        let problems: [(TicketCategory, String, String)] = [
            (.greening, "树胶滴在车上", "12号楼前香樟树树胶滴落，车辆被污染，申请修剪。"),
            (.environment, "垃圾厢房异味", "5号楼旁垃圾厢房清运不及时，夏天异味大。"),
            (.parking, "消防通道被占", "夜间有车辆长期占用消防通道。"),
            (.facilities, "路灯不亮", "小区东门路灯坏了一周，晚上出行不安全。"),
            (.safety, "楼道堆物", "8号楼楼道堆放杂物，存在消防隐患。"),
            (.traffic, "路口缺少红绿灯", "小区出口路口车流大，老人过马路危险。"),
        ]
        let stages: [[TicketEventType]] = [[], [.acknowledge], [.acknowledge, .start], [.acknowledge, .start, .resolve],
                                           [.acknowledge, .start, .resolve, .rate], [.acknowledge, .escalate]]
        for (i, problem) in problems.enumerated() {
            let reporter = actor(residents[i % residents.count], .resident)
            try store.writeNow { tx in
                let ticket = try tx.raiseTicket(TicketInput(category: problem.0, title: problem.1, description: problem.2, photos: ["photo-\(i).jpg"],
                                                            location: Location(address: "\(committee.name) \(i + 1)号楼", lat: "31.41", long: "121.44")),
                                                committee: committee.id, by: reporter)
                for type in stages[i] {
                    _ = try tx.ticketEvent(type, ticket: ticket.id, note: type == .resolve ? "已联系绿化公司处理完毕" : "", rating: type == .rate ? 5 : nil,
                                           by: type == .rate ? reporter : cadreActor)
                }
            }
        }

        // Topics at every stage of the pipeline.
        let topicTitles = ["增设社区巴士", "中心花园改造", "规范电动车充电", "楼道堆物整治", "加装电梯", "垃圾分类督导", "文明养犬公约"]
        for (i, title) in topicTitles.enumerated() {
            try store.writeNow { tx in
                let topic = try tx.proposeTopic(title: title, description: "居民提出：\(title)", category: i == 0 ? "traffic" : nil,
                                                committee: committee.id, by: actor(residents[i], .resident))
                for stage in TopicStage.allCases.dropFirst().prefix(i) {
                    _ = try tx.advanceTopic(topic.id, to: stage, note: stage.label, poll: stage == .deliberate ? garden : nil, by: cadreActor)
                }
            }
        }

        // A volunteer campaign and a mask-booking queue.
        try store.writeNow { tx in
            let campaign = try tx.createCampaign(title: "垃圾分类志愿者招募", description: "每天早晚定时定点督导", capacity: 8, startsAtMillis: now + day,
                                                 committee: committee.id, by: cadreActor)
            for voter in residents.prefix(10) { _ = try tx.signUp(campaign: campaign.id, by: actor(voter, .resident)) }
            let queue = try tx.createQueue(title: "口罩预约登记", slots: [.init(label: "上午 9:00-12:00", capacity: 50), .init(label: "下午 13:00-17:00", capacity: 50)],
                                           committee: committee.id, by: cadreActor)
            for voter in residents.prefix(12) { _ = try tx.book(queue: queue.id, by: actor(voter, .resident)) }
        }
    }
}

