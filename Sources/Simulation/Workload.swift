import Foundation
import Gossip
import Governance
import Replication
import Storage

/// Realistic activity, made through Governance exactly as the HTTP API makes it: joins and approvals, posts,
/// comments, likes and unlikes, polls with ballots and re-votes across the close, tickets through every stage with
/// escalation and dispatch at the district, and the same district post edited at once from the district and the city.
final class Workload {
    unowned let sim: Simulator
    var rng: SplitMix64
    /// Every change the workload's writes made, acknowledged to the writer once its transaction committed.
    var acknowledged: [ChangeID: Acknowledged] = [:]
    var acknowledgedWrites = 0
    /// Changes acknowledged under an id that a later change was acknowledged under too (after a restore).
    var superseded: [(id: ChangeID, change: Acknowledged)] = []
    var committees: [CommitteeState] = []
    var districtOfficers: [NodeID: (id: String, unit: String)] = [:]
    var cityOfficer = "m_city_officer"
    /// Tickets escalated to the district, waiting for its dispatch.
    var dispatchQueue: [NodeID: [String]] = [:]
    /// District-wide posts, by district node: edited concurrently at the district and the city.
    var districtPosts: [NodeID: [String]] = [:]

    struct Acknowledged {
        var scope: Scope
        var millis: Int64
        /// The change's signature: a change found under its id with another signature means the id was used twice.
        var signature: [UInt8]
        var entity: String
        /// Whether no fault was active when it committed (for the calm-network latency figures).
        var calm: Bool
    }

    struct CommitteeState {
        let committee: Committee
        let street: NodeID
        let district: NodeID
        var active: Bool
        var ready = false
        var secretary = ""
        var cadre = ""
        var residents: [String] = []
        var pending: [String] = []
        var posts: [String] = []
        var polls: [String] = []
        var tickets: [String] = []
    }

    init(simulator: Simulator, seed: UInt64) throws {
        sim = simulator
        rng = SplitMix64(seed: seed)
        let topology = simulator.topology
        for id in simulator.nodeIDs {
            guard let node = topology.nodes[id], node.role == .street, let district = topology.district(of: id), let unit = node.unit,
                  let districtUnit = district.unit else { continue }
            let ids = node.committees.keys.sorted()
            for (i, cid) in ids.enumerated() {
                committees.append(CommitteeState(committee: Committee(id: cid, name: node.committees[cid]!, street: unit, district: districtUnit),
                                                 street: id, district: district.id, active: i < simulator.options.activeCommitteesPerStreet))
            }
        }
        for id in simulator.nodeIDs where topology.nodes[id]!.role == .district {
            districtOfficers[id] = ("m_officer_\(topology.nodes[id]!.unit!)", topology.nodes[id]!.unit!)
        }
    }

    var active: [Int] { committees.indices.filter { committees[$0].active } }

    /// Milliseconds to the next write (a Poisson process at the options' rate).
    func nextGap() -> Int64 {
        let u = Double(rng.next() % 1_000_000 + 1) / 1_000_001
        return max(1, Int64(-log(u) / sim.options.writesPerSecond * 1_000))
    }

    func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
    func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }

    func acknowledge(_ changes: [Change], at millis: Int64) {
        acknowledgedWrites += 1
        let calm = sim.partitions.isEmpty && sim.nodeIDs.allSatisfy { sim.nodes[$0]!.up }
        for change in changes {
            // An id used again: allowed only if the first change under it was lost with a disk before it left the
            // street (`Invariants.sequenceNumbersUsedOnce` checks that no node holds it).
            if let earlier = acknowledged[change.id], earlier.signature != change.signature { superseded.append((change.id, earlier)) }
            acknowledged[change.id] = Acknowledged(scope: change.scope, millis: millis, signature: change.signature, entity: change.entity, calm: calm)
        }
    }

    // MARK: - Set-up

    /// Every street defines its committees; every district and the city get an officer.
    func defineCommittees() throws {
        for id in sim.nodeIDs where sim.topology.nodes[id]!.role == .street {
            let mine = committees.filter { $0.street == id }.map(\.committee)
            _ = try sim.write(at: id, "defines \(mine.count) committees") { tx in
                for committee in mine { try tx.append(Committee.define(committee, author: id)) }
            }
        }
        for (district, officer) in districtOfficers.sorted(by: { $0.key < $1.key }) {
            _ = try sim.write(at: district, "appoints a district officer") { tx in
                try tx.append(Member.staff(id: officer.id, role: .districtOfficer, displayName: "区网格中心", committee: nil, unit: officer.unit,
                                           scope: .district(officer.unit), author: district))
            }
        }
        let city = sim.topology.city.id
        let officer = cityOfficer
        _ = try sim.write(at: city, "appoints a city officer") { tx in
            try tx.append(Member.staff(id: officer, role: .cityOfficer, displayName: "市城运中心", committee: nil, unit: nil, scope: .city, author: city))
        }
    }

    /// A committee's first activity: its secretary, its cadre, and residents joining (most approved at once).
    func setUp(_ index: Int) throws {
        let state = committees[index]
        let committee = state.committee
        let street = state.street
        var names: [String] = []
        var approved: [Bool] = []
        for _ in 0..<6 { names.append("居民\(rng.next() % 10_000)"); approved.append(!chance(20)) }
        let birthYears = names.map { _ in 1940 + Int(rng.next() % 60) }
        var secretary = "", cadre = "", joined: [(String, Bool)] = []
        let made = try sim.write(at: street, "sets up \(committee.id)") { tx in
            secretary = try tx.appointStaff(id: tx.mintID(.member), role: .secretary, displayName: "书记", committee: committee.id, unit: nil,
                                            scope: .committee(committee.id)).id
            cadre = try tx.appointStaff(id: tx.mintID(.member), role: .cadre, displayName: "主任", committee: committee.id, unit: nil,
                                        scope: .committee(committee.id)).id
            let cadreActor = Actor(memberID: cadre, role: .cadre, status: .approved, committee: committee.id, unit: nil)
            for (i, name) in names.enumerated() {
                let id = try Self.join(&tx, committee: committee, name: name, birthYear: birthYears[i], room: i)
                if approved[i] { _ = try tx.decideMember(id, .approved, committee: committee.id, by: cadreActor) }
                joined.append((id, approved[i]))
            }
        }
        guard made != nil else { return }
        committees[index].ready = true
        committees[index].secretary = secretary
        committees[index].cadre = cadre
        committees[index].residents = joined.filter(\.1).map(\.0)
        committees[index].pending = joined.filter { !$0.1 }.map(\.0)
    }

    static func join(_ tx: inout WriteTransaction, committee: Committee, name: String, birthYear: Int, room: Int) throws -> String {
        let application = JoinApplication(joinCode: "", realName: name, phone: "1390000\(String(format: "%04d", room))", building: "\(room % 9 + 1)号楼",
                                          room: "\(room + 101)", birthYear: birthYear, partyMember: room % 4 == 0)
        return try tx.join(application, committee: committee.id, checkingCode: nil).id
    }

    // MARK: - Activity

    /// One write somewhere in the federation.
    func step() throws {
        if chance(4), let district = districtOfficers.keys.sorted().randomElement(using: &rng) {
            try districtActivity(district)
            return
        }
        let index = pick(active)
        if !committees[index].ready { try setUp(index); return }
        let state = committees[index]
        let committee = state.committee
        let street = state.street
        func resident(_ id: String) -> Actor { Actor(memberID: id, role: .resident, status: .approved, committee: committee.id, unit: nil) }
        let cadre = Actor(memberID: state.cadre, role: .cadre, status: .approved, committee: committee.id, unit: nil)
        // A resident answers a district-wide post at their own street: the thread must reach every street of the district.
        if chance(6), let posts = districtPosts[state.district], !posts.isEmpty, !state.residents.isEmpty {
            let post = pick(posts), who = pick(state.residents), like = chance(50)
            _ = try sim.write(at: street, "\(like ? "like" : "comment") on district post \(post)") { tx in
                guard try tx.view.post(post) != nil else { throw WorkloadSkip(reason: "district post not here") }
                if like {
                    try tx.setLike(!(try tx.view.likes(post: post, member: who)), post: post, by: resident(who))
                } else {
                    _ = try tx.comment(on: post, body: "我们街道也有这个问题", by: resident(who))
                }
            }
            return
        }
        let roll = rng.next() % 100
        switch roll {
        case 0..<6:
            // Someone new asks to join; a cadre approves a pending one.
            let name = "居民\(rng.next() % 10_000)", year = 1940 + Int(rng.next() % 60), room = Int(rng.next() % 900)
            var id = ""
            if try sim.write(at: street, "join \(committee.id)", { tx in id = try Self.join(&tx, committee: committee, name: name, birthYear: year, room: room) }) != nil {
                committees[index].pending.append(id)
            }
        case 6..<12:
            guard let member = state.pending.first else { return }
            if try sim.write(at: street, "approve \(member)", { tx in
                guard try tx.view.member(member) != nil else { throw WorkloadSkip(reason: "member not here") }
                _ = try tx.decideMember(member, .approved, committee: committee.id, by: cadre)
            }) != nil {
                committees[index].pending.removeFirst()
                committees[index].residents.append(member)
            }
        case 12..<27:
            let author = pick(state.residents)
            let board = Board.named(pick(["around-me", "neighbours", "deliberation"]))!
            let title = "话题\(rng.next() % 1_000)", category = pick(["traffic", "greening", "parking", "environment"])
            var id = ""
            if try sim.write(at: street, "post in \(committee.id)", { tx in
                id = try tx.createPost(PostInput(title: title, body: "大家怎么看？", category: category), board: board, committee: committee.id,
                                       by: resident(author)).id
            }) != nil { committees[index].posts.append(id) }
        case 27..<37:
            guard !state.posts.isEmpty else { return }
            let post = pick(state.posts), who = pick(state.residents)
            _ = try sim.write(at: street, "comment on \(post)") { tx in
                guard try tx.view.post(post) != nil else { throw WorkloadSkip(reason: "post not here") }
                _ = try tx.comment(on: post, body: "支持", by: resident(who))
            }
        case 37..<49:
            guard !state.posts.isEmpty else { return }
            let post = pick(state.posts), who = pick(state.residents)
            _ = try sim.write(at: street, "like toggle on \(post)") { tx in
                guard try tx.view.post(post) != nil else { throw WorkloadSkip(reason: "post not here") }
                try tx.setLike(!(try tx.view.likes(post: post, member: who)), post: post, by: resident(who))
            }
        case 49..<52:
            guard !state.posts.isEmpty else { return }
            let post = pick(state.posts)
            _ = try sim.write(at: street, "edit \(post)") { tx in
                guard let p = try tx.view.post(post) else { throw WorkloadSkip(reason: "post not here") }
                _ = try tx.editPost(post, title: nil, body: "补充：\(tx.nowMillis % 997)", photos: nil, by: resident(p.author))
            }
        case 52..<56:
            // A poll that closes 1–4 minutes from now (by the street's clock); a third of them secret.
            let minutes = 1 + Int64(rng.next() % 4), secret = chance(33)
            var id = ""
            if try sim.write(at: street, "poll in \(committee.id)", { tx in
                let now = tx.nowMillis
                id = try tx.createPoll(PollInput(title: "方案表决", kind: .proposal, options: ["同意", "反对", "弃权"], maxChoices: 1, secret: secret,
                                                 opensAtMillis: now, closesAtMillis: now + minutes * 60_000, quorum: 3),
                                       committee: committee.id, by: cadre).id
            }) != nil { committees[index].polls.append(id) }
        case 56..<72:
            // Ballots and re-votes, including some that arrive at the close (refused by the street: poll_closed).
            guard !state.polls.isEmpty else { return }
            let poll = pick(state.polls.suffix(3)), voter = pick(state.residents), choice = pick(["同意", "反对", "弃权"])
            _ = try sim.write(at: street, "vote on \(poll)") { tx in
                guard try tx.view.poll(poll) != nil else { throw WorkloadSkip(reason: "poll not here") }
                try tx.vote([choice], poll: poll, by: resident(voter))
            }
        case 72..<74:
            guard let poll = state.polls.last else { return }
            _ = try sim.write(at: street, "close \(poll)") { tx in
                guard try tx.view.poll(poll) != nil else { throw WorkloadSkip(reason: "poll not here") }
                try tx.closePoll(poll, by: cadre)
            }
        case 74..<82:
            let reporter = pick(state.residents), category = pick(TicketCategory.allCases)
            var id = ""
            if try sim.write(at: street, "ticket in \(committee.id)", { tx in
                id = try tx.raiseTicket(TicketInput(category: category, title: "报修", description: "请尽快处理", photos: [],
                                                    location: Location(address: "\(committee.name)")), committee: committee.id, by: resident(reporter)).id
            }) != nil { committees[index].tickets.append(id) }
        default:
            // The street moves a ticket on: acknowledge, start, escalate (street, then district), resolve; the reporter rates.
            guard !state.tickets.isEmpty else { return }
            let ticket = pick(state.tickets.suffix(6))
            var escalatedToDistrict = false
            _ = try sim.write(at: street, "ticket step \(ticket)") { tx in
                guard let t = try tx.view.ticket(ticket) else { throw WorkloadSkip(reason: "ticket not here") }
                let type: TicketEventType
                switch t.stage {
                case .submitted: type = .acknowledge
                case .acknowledged: type = chance(25) && t.level < .district ? .escalate : .start
                case .inProgress: type = chance(15) && t.level < .district ? .escalate : .resolve
                case .resolved: type = chance(80) ? .rate : .reopen
                case .closed: throw WorkloadSkip(reason: "ticket closed")
                }
                _ = try tx.ticketEvent(type, ticket: ticket, note: type == .resolve ? "已处理" : "", rating: type == .rate ? 4 : nil,
                                       by: type == .rate ? resident(t.reporter) : cadre)
                escalatedToDistrict = type == .escalate && t.level == .street
            }
            if escalatedToDistrict { dispatchQueue[state.district, default: []].append(ticket) }
        }
    }

    /// A district's own work: dispatching escalated tickets, posting on its district-wide board, and an officer
    /// editing one of those posts at the district and the city in the same millisecond (a concurrent edit).
    func districtActivity(_ district: NodeID) throws {
        let officer = districtOfficers[district]!
        let actor = Actor(memberID: officer.id, role: .districtOfficer, status: .approved, committee: nil, unit: officer.unit)
        if let ticket = dispatchQueue[district]?.first {
            let department = pick(["区城管执法局", "区绿化市容局", "区建管委"])
            if try sim.write(at: district, "dispatch \(ticket)", { tx in
                guard let t = try tx.view.ticket(ticket), try tx.view.committee(t.committee) != nil else {
                    throw WorkloadSkip(reason: "ticket not yet at the district")
                }
                _ = try tx.ticketEvent(.assign, ticket: ticket, note: "派单", assignee: department, by: actor)
            }) != nil { dispatchQueue[district]!.removeFirst() }
            return
        }
        let posts = districtPosts[district] ?? []
        let home = committees.first { $0.district == district }!.committee
        if posts.count < 3 || chance(30) {
            var id = ""
            if try sim.write(at: district, "district-wide post", { tx in
                guard try tx.view.committee(home.id) != nil else { throw WorkloadSkip(reason: "committee not yet at the district") }
                id = try tx.createPost(PostInput(title: "大调研：\(tx.nowMillis % 1_000)", body: "请居民反映身边的问题"), board: Board.named("district-survey")!,
                                       committee: home.id, by: actor).id
            }) != nil { districtPosts[district, default: []].append(id) }
            return
        }
        let post = pick(posts)
        let city = sim.topology.city.id
        let bodies = ["区里的版本 \(rng.next() % 100)", "市里的版本 \(rng.next() % 100)"]
        for (node, body) in zip([district, city], bodies) {
            _ = try sim.write(at: node, "edit \(post)") { tx in
                guard try tx.view.post(post) != nil else { throw WorkloadSkip(reason: "district post not here") }
                _ = try tx.editPost(post, title: nil, body: body, photos: nil, by: actor)
            }
        }
    }
}
