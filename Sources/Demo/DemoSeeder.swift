import Foundation
import Governance
import Replication
import Storage

/// One account the demo hands to testers and scripts (api.md: `demo-accounts.json`).
public struct DemoAccount: Codable, Sendable, Hashable {
    public var node: String
    public var committee: String?
    public var role: String
    public var memberId: String
    public var token: String
}

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
        let node = store.nodeID
        let token = try store.writeNow { tx in
            try tx.append(Member.staff(id: id, role: role, displayName: name, committee: committee, unit: unit,
                                       scope: scope ?? .committee(committee!), author: node))
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
        let id = store.mintID(.member)
        let volunteer = rng.next() % 6 == 0
        let year = ShanghaiCalendar.year(ofMillis: store.nowMillis)
        return try store.writeNow { tx in
            let household = String(Digest.hex(of: "\(committee.id)|\(application.building)|\(application.room)").prefix(16))
            try tx.append(Member.join(application, committee: committee, id: id, household: household, currentYear: year))
            try tx.saveResident(member: id, committee: committee.id, application: application)
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
                let postID = store.mintID(.post)
                let commenters = (0..<3).map { _ in pick(residents) }
                let likers = Set((0..<Int(rng.next() % 12)).map { _ in pick(residents) })
                let commentIDs = commenters.map { _ in store.mintID(.comment) }
                try store.writeNow { tx in
                    try tx.append(try Post.create(PostInput(title: title, body: body, mentions: mentions, category: category), board: board,
                                                  in: committee, by: author, id: postID, mentionable: { $0 == cadre }))
                    let post = try tx.view.post(postID)!
                    for (who, cid) in zip(commenters, commentIDs) {
                        try tx.append(try Comment.create(on: post, body: "支持！希望尽快落实。", in: committee, by: actor(who, .resident), id: cid))
                    }
                    for who in likers { try tx.append(try Like.set(true, post: post, in: committee, by: actor(who, .resident))) }
                }
            }
        }

        // Polls: an open proposal vote on three garden designs, a closed consultation, a secret evaluation.
        let now = store.nowMillis
        let day: Int64 = 86_400_000
        let garden = store.mintID(.poll), elevator = store.mintID(.poll), evaluation = store.mintID(.poll)
        try store.writeNow { tx in
            try tx.append(try Poll.create(PollInput(title: "中心花园改造：三个设计方案投票", kind: .proposal, options: ["方案一：花园步道", "方案二：儿童乐园", "方案三：休闲广场"],
                                                    maxChoices: 1, secret: false, opensAtMillis: now, closesAtMillis: now + 14 * day, quorum: 10),
                                          in: committee, by: cadreActor, id: garden, nowMillis: now))
            try tx.append(try Poll.create(PollInput(title: "加装电梯意见征询", kind: .consultation, options: ["同意", "不同意", "弃权"], maxChoices: 1,
                                                    secret: false, opensAtMillis: now, closesAtMillis: now + 7 * day, quorum: 5),
                                          in: committee, by: cadreActor, id: elevator, nowMillis: now))
            try tx.append(try Poll.create(PollInput(title: "年终考核线上评议", kind: .evaluation, options: ["满意", "基本满意", "不满意"], maxChoices: 1,
                                                    secret: true, opensAtMillis: now, closesAtMillis: now + 30 * day, quorum: 5),
                                          in: committee, by: cadreActor, id: evaluation, nowMillis: now))
            for (i, voter) in residents.enumerated() {
                for (pollID, options) in [(garden, [0, 1, 2, 0]), (elevator, [0, 0, 1, 2]), (evaluation, [0, 0, 1, 0])] {
                    let poll = try tx.view.poll(pollID)!
                    try tx.append(try poll.vote([poll.options[options[i % options.count]]], in: committee, by: actor(voter, .resident),
                                                id: tx.mintID(.ballot), nowMillis: now, ballotSecret: tx.ballotSecret))
                }
            }
            try tx.append(try tx.view.poll(elevator)!.close(in: committee, by: cadreActor, nowMillis: now))
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
            let ticketID = store.mintID(.ticket)
            try store.writeNow { tx in
                try tx.append(try Ticket.create(TicketInput(category: problem.0, title: problem.1, description: problem.2, photos: ["photo-\(i).jpg"],
                                                            location: Location(address: "\(committee.name) \(i + 1)号楼", lat: "31.41", long: "121.44")),
                                                in: committee, by: reporter, id: ticketID))
                for type in stages[i] {
                    let ticket = try tx.view.ticket(ticketID)!
                    let by = type == .rate ? reporter : cadreActor
                    try tx.append(try ticket.event(type, note: type == .resolve ? "已联系绿化公司处理完毕" : "", assignee: nil,
                                                   rating: type == .rate ? 5 : nil, in: committee, by: by, id: tx.mintID(.ticketEvent)))
                }
            }
        }

        // Topics at every stage of the pipeline.
        let topicTitles = ["增设社区巴士", "中心花园改造", "规范电动车充电", "楼道堆物整治", "加装电梯", "垃圾分类督导", "文明养犬公约"]
        for (i, title) in topicTitles.enumerated() {
            let topicID = store.mintID(.topic)
            try store.writeNow { tx in
                try tx.append(try Topic.propose(title: title, description: "居民提出：\(title)", category: i == 0 ? "traffic" : nil,
                                                in: committee, by: actor(residents[i], .resident), id: topicID))
                for stage in TopicStage.allCases.dropFirst().prefix(i) {
                    try tx.append(try tx.view.topic(topicID)!.advance(to: stage, note: stage.label, poll: stage == .deliberate ? try tx.view.poll(garden) : nil,
                                                                      in: committee, by: cadreActor, id: tx.mintID(.topicEvent)))
                }
            }
        }

        // A volunteer campaign and a mask-booking queue.
        let campaignID = store.mintID(.campaign), queueID = store.mintID(.queue)
        try store.writeNow { tx in
            try tx.append(try Campaign.create(title: "垃圾分类志愿者招募", description: "每天早晚定时定点督导", capacity: 8, startsAtMillis: now + day,
                                              in: committee, by: cadreActor, id: campaignID))
            let campaign = try tx.view.campaign(campaignID)!
            for voter in residents.prefix(10) { try tx.append(try campaign.signup(in: committee, by: actor(voter, .resident))) }
            try tx.append(try Queue.create(title: "口罩预约登记", slots: [.init(label: "上午 9:00-12:00", capacity: 50), .init(label: "下午 13:00-17:00", capacity: 50)],
                                           in: committee, by: cadreActor, id: queueID))
            let queue = try tx.view.queue(queueID)!
            for (i, voter) in residents.prefix(12).enumerated() {
                try tx.append(try queue.book(alreadyBooked: i, in: committee, by: actor(voter, .resident)).draft)
            }
        }
    }
}

