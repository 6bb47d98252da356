import Foundation
import Governance
import Replication
import Storage
import Testing

/// Hot topics, participation and poll results, maintained change by change, must equal a brute-force
/// recomputation from the merged entities — whatever order the changes reach the district in.
@Suite struct CommunityRollupTests {
    static let committees = TicketRollupTests.committees
    static let start: UInt64 = 1_780_000_000_000

    /// Random community life: joins, approvals, badges, posts on committee and district boards (some deleted),
    /// comments (some deleted), likes and unlikes, polls with re-votes, some closed by hand.
    static func activity(seed: UInt64) throws -> (changes: [Change], end: Int64) {
        final class Clock: @unchecked Sendable { var millis: UInt64 = CommunityRollupTests.start }
        let clock = Clock()
        let street = try Store(path: nil, nodeID: "street.s", wallMillis: { clock.millis }, random: SplitMix64(seed: seed))
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
        try street.writeNow { tx in
            for committee in committees { try tx.append(Committee.define(committee, author: "street.s")) }
            var members: [(id: String, committee: Committee)] = []
            var posts: [String] = [], comments: [String] = [], polls: [String] = []
            let officer = Actor(memberID: "officer.d1", role: .districtOfficer, status: .approved, committee: nil, unit: "d1")
            for _ in 0..<400 {
                clock.millis += rng.next() % 5 * 3_600_000
                let committee = pick(committees)
                let cadre = Actor(memberID: "cadre-\(committee.id)", role: .cadre, status: .approved, committee: committee.id, unit: nil)
                let local = members.filter { $0.committee == committee }
                func resident(_ id: String) -> Actor { Actor(memberID: id, role: .resident, status: .approved, committee: committee.id, unit: nil) }
                switch rng.next() % 13 {
                case 0, 1:
                    let id = tx.mintID(.member)
                    let application = JoinApplication(joinCode: "", realName: "王小明", phone: "13800000000", building: "\(rng.next() % 3)号楼",
                                                      room: "101", birthYear: 1940 + Int(rng.next() % 70), partyMember: rng.next() % 3 == 0)
                    try tx.append(Member.join(application, committee: committee, id: id, household: "h-\(committee.id)-\(application.building)",
                                              currentYear: 2026))
                    members.append((id, committee))
                case 2 where !local.isEmpty:
                    let member = try tx.view.member(pick(local).id)!
                    try tx.append(try member.decide(rng.next() % 4 == 0 ? .rejected : .approved, by: cadre, in: committee))
                case 3 where !local.isEmpty:
                    let member = try tx.view.member(pick(local).id)!
                    try tx.append(try member.setBadges(partyMember: rng.next() % 2 == 0, volunteer: rng.next() % 2 == 0, by: resident(member.id), in: committee))
                case 4, 5:
                    let id = tx.mintID(.post)
                    let category = rng.next() % 4 == 0 ? nil : pick(TicketCategory.allCases).rawValue
                    let district = rng.next() % 5 == 0
                    try tx.append(try Post.create(PostInput(title: "话题", body: "内容", category: category), board: Board.named(district ? "district-survey" : "neighbours")!,
                                                  in: committee, by: district ? officer : resident("m-\(rng.next() % 9)"), id: id) { _ in true })
                    posts.append(id)
                case 6 where !posts.isEmpty:
                    let post = try tx.view.post(pick(posts))!
                    guard !post.deleted else { continue }
                    let id = tx.mintID(.comment)
                    // A post of another committee is not visible here: the command refuses, as it would over HTTP.
                    guard let draft = try? Comment.create(on: post, body: "同意", in: committee, by: resident("m-\(rng.next() % 9)"), id: id) else { continue }
                    try tx.append(draft)
                    comments.append(id)
                case 7 where !posts.isEmpty:
                    let post = try tx.view.post(pick(posts))!
                    guard !post.deleted else { continue }
                    guard let draft = try? Like.set(rng.next() % 3 != 0, post: post, in: committee, by: resident("m-\(rng.next() % 6)")) else { continue }
                    try tx.append(draft)
                case 8 where !posts.isEmpty && rng.next() % 4 == 0:
                    let post = try tx.view.post(pick(posts))!
                    guard !post.deleted else { continue }
                    try tx.append(ChangeDraft(scope: post.scope, kind: EntityKind.post.rawValue, entity: post.id, op: .remove,
                                              fields: [Cell.tombstoneField: .bool(true)], author: "cadre"))
                case 8 where !comments.isEmpty:
                    let comment = pick(comments)
                    let scope = try tx.view.record(comment)!.scope
                    try tx.append(ChangeDraft(scope: scope, kind: EntityKind.comment.rawValue, entity: comment, op: .remove,
                                              fields: [Cell.tombstoneField: .bool(true)], author: "cadre"))
                case 12 where !posts.isEmpty:
                    let post = try tx.view.post(pick(posts))!
                    guard !post.deleted else { continue }
                    if rng.next() % 3 == 0 {
                        // No command moves a post to another category, but a change from a node that may write its scope
                        // can: its comments and likes move with it.
                        try tx.append(ChangeDraft(scope: post.scope, kind: EntityKind.post.rawValue, entity: post.id, op: .assign,
                                                  fields: ["category": .string(pick(TicketCategory.allCases).rawValue)], author: "cadre"))
                    } else {
                        let author = Actor(memberID: post.author, role: .resident, status: .approved, committee: committee.id, unit: nil)
                        try tx.append(try post.edit(title: "改过的话题", body: nil, photos: nil, by: author, nowMillis: Int64(clock.millis)))
                    }
                case 9:
                    let id = tx.mintID(.poll)
                    let now = Int64(clock.millis)
                    try tx.append(try Poll.create(PollInput(title: "投票", kind: pick(PollKind.allCases), options: ["甲", "乙", "丙"], maxChoices: 2,
                                                            secret: rng.next() % 2 == 0, opensAtMillis: now, closesAtMillis: now + Int64(1 + rng.next() % 40) * 3_600_000,
                                                            quorum: 2), in: committee, by: cadre, id: id, nowMillis: now))
                    polls.append(id)
                case 10 where !polls.isEmpty:
                    let poll = try tx.view.poll(pick(polls))!
                    let home = committees.first { $0.id == poll.committee }!
                    let voter = Actor(memberID: "m-\(rng.next() % 6)", role: .resident, status: .approved, committee: home.id, unit: nil)
                    // Ballots after the close are written anyway (a replica that had not heard of it): they must not count.
                    let choices = Array(["甲", "乙", "丙"].shuffled(using: &rng).prefix(1 + Int(rng.next() % 2)))
                    try tx.append(ChangeDraft(scope: .committee(home.id), kind: EntityKind.ballot.rawValue, entity: tx.mintID(.ballot), op: .add,
                                              fields: ["poll": .string(poll.id), "voter": .string(poll.voterKey(for: voter.memberID, secret: tx.ballotSecret)), "choices": .strings(choices)],
                                              author: voter.memberID))
                case 11 where !polls.isEmpty && rng.next() % 3 == 0:
                    let poll = try tx.view.poll(pick(polls))!
                    let home = committees.first { $0.id == poll.committee }!
                    let cadre = Actor(memberID: "cadre-\(home.id)", role: .cadre, status: .approved, committee: home.id, unit: nil)
                    if let close = try? poll.close(in: home, by: cadre, nowMillis: Int64(clock.millis)) { try tx.append(close) }
                default:
                    continue
                }
            }
        }
        let changes = try street.readNow { try $0.changes(origin: "street.s", afterSeq: 0, limit: 100_000) }
        return (changes, Int64(clock.millis))
    }

    struct Activity: Equatable { var posts = 0, comments = 0, likes = 0 }

    /// Hot-topic figures recomputed from every post, comment and like, per category, for days in the window.
    static func bruteForceActivity(_ view: ReadView, since: String, until: String) throws -> (categories: [String: Activity], posts: [String: [Int]]) {
        var categories: [String: Activity] = [:]
        var perPost: [String: [Int]] = [:]
        let window = since...until
        for post in try view.records(where: "kind = 'post'", [], limit: 1_000_000).compactMap(Post.init) where !post.deleted {
            let category = post.category ?? "other"
            if window.contains(ShanghaiCalendar.day(ofMillis: post.createdMillis)) { categories[category, default: .init()].posts += 1 }
            let comments = try view.children(of: post.id, kind: .comment).filter { !$0.isDeleted }
            let likes = try view.children(of: post.id, kind: .like).filter { $0["on"].bool == true }
            for comment in comments where window.contains(ShanghaiCalendar.day(ofMillis: comment.createdMillis)) { categories[category, default: .init()].comments += 1 }
            for like in likes where window.contains(ShanghaiCalendar.day(ofMillis: Int64(like.cells["on"]!.stamp.hlc.millis))) {
                categories[category, default: .init()].likes += 1
            }
            if window.contains(ShanghaiCalendar.day(ofMillis: post.createdMillis)) { perPost[post.id] = [comments.count, likes.count] }
        }
        return (categories, perPost)
    }

    @Test(arguments: [UInt64(11), 12, 13, 14, 15])
    func communityRollupsEqualBruteForceWhateverTheDeliveryOrder(seed: UInt64) throws {
        let (changes, end) = try Self.activity(seed: seed)
        var rng = SplitMix64(seed: seed &* 17)
        let district = try Store(path: nil, nodeID: "district.d1", wallMillis: { UInt64(end) })
        try deliverShuffled(changes, duplicateOneIn: 4, maxBatch: 30, rng: &rng, to: district)
        try district.readNow { view in
            // Hot topics over the whole run and over a window in the middle of it.
            let first = ShanghaiCalendar.day(ofMillis: Int64(Self.start)), last = ShanghaiCalendar.day(ofMillis: end)
            let middle = ShanghaiCalendar.day(ofMillis: (Int64(Self.start) + end) / 2)
            for (since, until) in [(first, last), (middle, last), (first, middle)] {
                let expected = try Self.bruteForceActivity(view, since: since, until: until)
                let hot = try view.hotCategories(scope: .city, since: since, until: until)
                let got = Dictionary(uniqueKeysWithValues: hot.map { ($0.category, Activity(posts: $0.posts, comments: $0.comments, likes: $0.likes)) })
                #expect(got == expected.categories.filter { $0.value != Activity() }, "seed \(seed) \(since)…\(until)")
                #expect(hot.map(\.score) == hot.map(\.score).sorted(by: >))
                let posts = try view.hotPosts(scope: .city, since: since, until: until, limit: 1_000_000)
                #expect(Dictionary(uniqueKeysWithValues: posts.map { ($0.post, [$0.comments, $0.likes]) }) == expected.posts, "seed \(seed)")
            }
            let whole = try view.hotCategories(scope: .city, since: first, until: last)
            #expect(whole.contains { $0.likes > 0 } && whole.contains { $0.comments > 0 }, "seed \(seed): \(whole)")
            // The district-wide board counts in its district, not in another.
            #expect(try view.hotCategories(scope: .district("d9"), since: first, until: last).isEmpty)

            // Participation.
            var expected: [String: [Int]] = [:]
            for committee in Self.committees {
                let approved = try view.members(committee: committee.id, status: .approved).filter { !$0.role.isOfficer }
                guard !approved.isEmpty else { continue }
                expected[committee.id] = [approved.count, Set(approved.compactMap(\.household)).count,
                                          approved.filter { $0.ageBand == "<30" || $0.ageBand == "30-49" }.count,
                                          approved.filter(\.partyMember).count, approved.filter(\.volunteer).count]
            }
            let participation = try view.participationRollup(groupBy: .committee, scope: .city)
            #expect(Dictionary(uniqueKeysWithValues: participation.map { ($0.key, [$0.members, $0.households, $0.under50, $0.partyMembers, $0.volunteers]) })
                    == expected, "seed \(seed)")

            // Polls: the count of each, and which are closed at the end.
            let polls = try view.records(where: "kind = 'poll'", [], limit: 10_000).compactMap(Poll.init)
            #expect(!polls.isEmpty)
            for poll in polls {
                let tally = poll.tally(try view.ballots(poll: poll.id))
                let row = try #require(try view.pollResult(poll.id, nowMillis: end))
                #expect(row.ballots == tally.ballots, "seed \(seed) poll \(poll.id)")
                #expect(row.results.map(\.option) == poll.options)
                #expect(row.results.map(\.votes) == poll.options.map { tally.counts[$0]! }, "seed \(seed) poll \(poll.id)")
                #expect(row.closed == poll.isClosed(nowMillis: end))
                #expect(row.electorate == (expected[poll.committee]?[0] ?? 0))
            }
            let closed = try view.closedPolls(scope: .city, nowMillis: end, limit: 10_000)
            #expect(!closed.isEmpty && closed.contains { $0.ballots > 0 })
            #expect(Set(closed.map(\.poll)) == Set(polls.filter { $0.isClosed(nowMillis: end) }.map(\.id)))
            #expect(try view.integrityCheck() == "ok")
        }
    }
}
