import Foundation
import GRDB
import Governance
import Replication

/// The unit a piece of board activity counts under: its committee, or `d:<id>` for a district-wide board
/// (registered as a unit of that district, so district and city scopes include it).
private func activityUnit(_ scope: Scope, db: Database) throws -> String {
    if let committee = scope.committee { return committee }
    if case .district(let district) = scope {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO committee_units(committee, street, district) VALUES (?, '', ?)")
            .execute(arguments: [scope.description, district])
    }
    return scope.description
}

/// Hot topics: posts, comments and likes per day, unit and the post's category.
/// A comment or like counts while it is live and its post is live; a like counts on the day it was last switched on.
enum ActivityRollups {
    struct Fact: RollupFact {
        static let table = "activity_facts", key = "entity"
        var post: String
        var unit: String
        var category: String
        var day: String
        var kind: EntityKind
    }
}

extension ActivityRollups.Fact {
    init?(row: Row) {
        guard let kind = EntityKind(rawValue: row["kind"]) else { return nil }
        self.init(post: row["post"], unit: row["unit"], category: row["category"], day: row["day"], kind: kind)
    }

    var columns: [(String, (any DatabaseValueConvertible)?)] {
        [("post", post), ("unit", unit), ("category", category), ("day", day), ("kind", kind.rawValue)]
    }

    func add(sign: Int, to rollups: RollupDelta) throws {
        try rollups.add("rollup_activity", keys: ["day": day, "unit": unit, "category": category], counts: [
            "posts": kind == .post ? sign : 0, "comments": kind == .comment ? sign : 0, "likes": kind == .like ? sign : 0,
        ])
    }
}

extension ActivityRollups {
    /// Refreshes the facts of the touched posts, comments and likes, then the per-post counts of the posts whose facts
    /// or whose comments' and likes' facts changed. A comment's or like's fact follows its post's category and liveness —
    /// which is what the post's own fact says, read instead of the post (no post fact: the post is not here or deleted).
    /// When a post's change leaves both as they were (a new title, an edit of its text), its comments and likes keep
    /// theirs and are not read; when the post is new here (it may arrive after them), deleted, or moved to another
    /// category, every one of them is refreshed.
    static func refresh(posts: Set<String>, items: Set<String>, view: ReadView, rollups: RollupDelta) throws {
        let db = rollups.db
        // Posts whose own fact changed, with their comments and likes counted as their facts were refreshed (nil: they were
        // not, the post's category being what it was).
        var changedPosts: [String: (fact: Fact?, counts: (comments: Int, likes: Int)?)] = [:]
        // Each post's category while it counts (nil: it does not), as its fact says once the posts are refreshed.
        var categories: [String: String?] = [:]
        for id in posts.sorted() {
            let new = try view.post(id).flatMap { try fact(post: $0, db: db) }
            categories[id] = new?.category
            let old = try Fact.replace(id, with: new, rollups: rollups)
            if let old, let new, old.category == new.category {
                if old != new { changedPosts[id] = (new, nil) }
                continue
            }
            var counts = (comments: 0, likes: 0)
            for child in try view.children(of: id, kind: .comment, limit: 1_000_000) + view.children(of: id, kind: .like, limit: 1_000_000) {
                let fact = try fact(item: child, post: id, category: new?.category, db: db)
                try Fact.replace(child.id, with: fact, rollups: rollups)
                counts.comments += fact?.kind == .comment ? 1 : 0
                counts.likes += fact?.kind == .like ? 1 : 0
            }
            changedPosts[id] = (new, counts)
        }
        // A comment or like moves its post's counts by a delta; a post whose comments and likes were refreshed is counted
        // instead.
        var moves: [String: (comments: Int, likes: Int)] = [:]
        func move(_ fact: Fact?, by sign: Int) {
            guard let fact, fact.kind == .comment || fact.kind == .like else { return }
            moves[fact.post, default: (0, 0)].comments += fact.kind == .comment ? sign : 0
            moves[fact.post, default: (0, 0)].likes += fact.kind == .like ? sign : 0
        }
        for id in items.sorted() {
            guard let record = try view.record(id), let postID = record["post"].string, changedPosts[postID]?.counts == nil else { continue }
            let category: String?
            if let known = categories[postID] {
                category = known
            } else {
                var read = try DirectStatement(db, sql: "SELECT category FROM activity_facts WHERE entity = ? AND kind = 'post'")
                read.bind(postID)
                category = try read.one { $0.text(0) }
                categories[postID] = category
            }
            let new = try fact(item: record, post: postID, category: category, db: db)
            let old = try Fact.replace(id, with: new, rollups: rollups)
            guard old != new else { continue }
            move(old, by: -1)
            move(new, by: 1)
        }
        for (id, changed) in changedPosts.sorted(by: { $0.key < $1.key }) { try write(post: id, fact: changed.fact, counts: changed.counts, db: db) }
        for (post, move) in moves.sorted(by: { $0.key < $1.key }) where changedPosts[post]?.counts == nil && (move.comments != 0 || move.likes != 0) {
            // The row exists while the post's fact does, and an item counts only then.
            var update = try DirectStatement(db, sql: "UPDATE post_activity SET comments = comments + ?, likes = likes + ? WHERE post = ?")
            update.bind(Int64(move.comments))
            update.bind(Int64(move.likes))
            update.bind(post)
            try update.run()
        }
    }

    private static func fact(post: Post, db: Database) throws -> Fact? {
        guard !post.deleted else { return nil }
        return Fact(post: post.id, unit: try activityUnit(post.scope, db: db), category: post.category ?? TicketCategory.other.rawValue,
                    day: ShanghaiCalendar.day(ofMillis: post.createdMillis), kind: .post)
    }

    /// A comment's or like's fact under its post, whose category is nil when the post does not count.
    private static func fact(item: EntityRecord, post: String, category: String?, db: Database) throws -> Fact? {
        guard let category, !item.isDeleted else { return nil }
        let millis: Int64
        switch item.kind {
        case .comment:
            millis = item.createdMillis
        case .like:
            guard item["on"].bool == true, let on = item.cells["on"] else { return nil }
            millis = Int64(on.stamp.hlc.millis)
        default:
            return nil
        }
        return Fact(post: post, unit: try activityUnit(item.scope, db: db), category: category, day: ShanghaiCalendar.day(ofMillis: millis),
                    kind: item.kind)
    }

    /// The per-post row of a post whose own fact changed: none for a post that does not count (no fact); its comments and
    /// likes as just counted when its children's facts were refreshed; or, when they were not (its category stayed), the
    /// counts its row holds — the row exists while the post's fact does.
    private static func write(post: String, fact: Fact?, counts: (comments: Int, likes: Int)?, db: Database) throws {
        guard let fact else { return try db.cachedStatement(sql: "DELETE FROM post_activity WHERE post = ?").execute(arguments: [post]) }
        guard let counts else {
            return try db.cachedStatement(sql: "UPDATE post_activity SET unit = ?, category = ?, day = ? WHERE post = ?")
                .execute(arguments: [fact.unit, fact.category, fact.day, post])
        }
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO post_activity(post, unit, category, day, comments, likes) VALUES (?, ?, ?, ?, ?, ?)")
            .execute(arguments: [post, fact.unit, fact.category, fact.day, counts.comments, counts.likes])
    }
}

/// Participation: approved members per committee, their households, those under 50, party members who show
/// the badge, and volunteers.
enum ParticipationRollups {
    struct Fact: RollupFact {
        static let table = "member_facts", key = "member"
        var committee: String
        var household: String?
        var under50: Bool
        var party: Bool
        var volunteer: Bool

        init?(_ member: Member) {
            guard member.countsInParticipation, let committee = member.committee else { return nil }
            self.committee = committee
            household = member.household
            under50 = member.isUnder50
            party = member.partyMember
            volunteer = member.volunteer
        }

        init(row: Row) {
            committee = row["committee"]
            household = row["household"]
            under50 = row["under50"]
            party = row["party"]
            volunteer = row["volunteer"]
        }

        var columns: [(String, (any DatabaseValueConvertible)?)] {
            [("committee", committee), ("household", household), ("under50", under50), ("party", party), ("volunteer", volunteer)]
        }

        func add(sign: Int, to rollups: RollupDelta) throws {
            let db = rollups.db
            var households = 0
            if let household {
                try rollups.add("household_members", keys: ["committee": committee, "household": household], counts: ["members": sign], now: true)
                let members = try Int.fetchOne(db.cachedStatement(sql: "SELECT members FROM household_members WHERE committee = ? AND household = ?"),
                                               arguments: [committee, household]) ?? 0
                // A household counts while it has a member: it appears at 0 → 1 and goes at 1 → 0.
                if sign > 0, members == 1 { households = 1 }
                if sign < 0, members == 0 {
                    households = -1
                    try db.cachedStatement(sql: "DELETE FROM household_members WHERE committee = ? AND household = ?").execute(arguments: [committee, household])
                }
            }
            try rollups.add("rollup_participation", keys: ["committee": committee], counts: [
                "members": sign, "households": households, "under50": under50 ? sign : 0, "party": party ? sign : 0,
                "volunteers": volunteer ? sign : 0,
            ])
        }
    }

    static func update(member id: String, view: ReadView, rollups: RollupDelta) throws {
        try Fact.replace(id, with: try view.member(id).flatMap(Fact.init), rollups: rollups)
    }
}

/// Polls: each poll's count by the rule of `Poll.tally` (each voter's latest counting ballot), kept per voter: a new
/// ballot re-counts only its voter's ballots; a change to the poll itself (created, closed) re-counts every voter.
/// Secret polls are stored as totals only, which is all a rollup ever shows.
enum PollRollups {
    /// Refreshes after a batch: `polls` changed themselves, `ballots` arrived.
    ///
    /// A voter whose only new ballots are ones the batch created, in a poll the batch did not change, is counted from
    /// their ballots' facts alone: what they counted for before is the tally of the facts filed before these, which is
    /// what `poll_voters` holds for them (every batch leaves it so). Any other voter is re-counted against `poll_voters`.
    static func refresh(polls: Set<String>, ballots: Set<String>, view: ReadView, rollups: RollupDelta) throws {
        let db = rollups.db
        var voters: [String: Set<String>] = [:]
        var fresh: [String: [String: [Ballot]]] = [:]
        for id in ballots.sorted() {
            guard let record = try view.record(id), let ballot = Ballot(record) else { continue }
            if rollups.unfiled.contains(id), !polls.contains(ballot.poll) {
                fresh[ballot.poll, default: [:]][ballot.voter, default: []].append(ballot)
            } else {
                try file(ballot, db: db)
                voters[ballot.poll, default: []].insert(ballot.voter)
            }
        }
        // A voter with a ballot that had a fact already is re-counted the general way, new ballots and all.
        for (poll, byVoter) in fresh {
            for (voter, arrived) in byVoter where voters[poll]?.contains(voter) == true {
                for ballot in arrived { try file(ballot, db: db) }
                fresh[poll]![voter] = nil
            }
        }
        for id in polls {
            voters[id, default: []].formUnion(try String.fetchAll(db.cachedStatement(sql: "SELECT DISTINCT voter FROM ballot_facts WHERE poll = ?"),
                                                                  arguments: [id]))
        }
        for id in Set(voters.keys).union(fresh.keys).sorted() {
            // A ballot whose poll has not arrived yet waits: the poll's arrival re-counts every voter.
            guard let poll = try view.poll(id) else {
                for ballot in (fresh[id] ?? [:]).values.joined() { try file(ballot, db: db) }
                continue
            }
            for voter in (voters[id] ?? []).sorted() {
                let old = try String.fetchOne(db.cachedStatement(sql: "SELECT choices FROM poll_voters WHERE poll = ? AND voter = ?"),
                                              arguments: [poll.id, voter]).map { try Value(json: $0).strings }
                try move(poll, voter: voter, from: old, to: counted(poll, try filed(poll: poll.id, voter: voter, db: db)), rollups: rollups)
            }
            for (voter, arrived) in (fresh[id] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let before = try filed(poll: poll.id, voter: voter, db: db)
                for ballot in arrived { try file(ballot, db: db) }
                try move(poll, voter: voter, from: counted(poll, before), to: counted(poll, before + arrived), rollups: rollups)
            }
            try rollups.flush("poll_votes")
            try write(poll, db: db)
        }
    }

    /// Files a ballot's fact: all that counting it needs (its stamp and choices, as its record has them now), so that a
    /// voter's ballots are read from their facts, not as records. Its poll and voter stay those it was first filed under.
    private static func file(_ ballot: Ballot, db: Database) throws {
        var insert = try DirectStatement(db, sql: """
            INSERT INTO ballot_facts(ballot, poll, voter, hlc, origin, choices) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(ballot) DO UPDATE SET hlc = excluded.hlc, origin = excluded.origin, choices = excluded.choices
            """)
        insert.bind(ballot.id)
        insert.bind(ballot.poll)
        insert.bind(ballot.voter)
        insert.bind(Int64(ballot.stamp.hlc.rawValue))
        insert.bind(ballot.stamp.origin)
        insert.bind(Value.strings(ballot.choices).canonicalJSON)
        try insert.run()
    }

    /// A voter's ballots in a poll, as their facts have them.
    private static func filed(poll: String, voter: String, db: Database) throws -> [Ballot] {
        var read = try DirectStatement(db, sql: "SELECT ballot, hlc, origin, choices FROM ballot_facts WHERE poll = ? AND voter = ?")
        read.bind(poll)
        read.bind(voter)
        return try read.all { row in
            Ballot(id: row.text(0), poll: poll, voter: voter, choices: try Value(json: row.text(3)).strings,
                   stamp: WriteStamp(hlc: HLCTimestamp(rawValue: UInt64(row.int64(1))), origin: row.text(2)))
        }
    }

    /// The options a voter's ballots count for by `Poll.tally`'s rule (each voter's latest counting ballot); nil when none
    /// counts.
    private static func counted(_ poll: Poll, _ ballots: [Ballot]) -> [String]? {
        let tally = poll.tally(ballots)
        return tally.ballots == 0 ? nil : poll.options.filter { (tally.counts[$0] ?? 0) > 0 }
    }

    /// Moves the votes by the difference between what the voter counted for and what they count for now.
    private static func move(_ poll: Poll, voter: String, from old: [String]?, to new: [String]?, rollups: RollupDelta) throws {
        let db = rollups.db
        guard old != new else { return }
        for (choices, sign) in [(old, -1), (new, 1)] {
            for option in choices ?? [] {
                try rollups.add("poll_votes", keys: ["poll": poll.id, "option": option], counts: ["votes": sign])
            }
        }
        if let new {
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO poll_voters(poll, voter, choices) VALUES (?, ?, ?)")
                .execute(arguments: [poll.id, voter, Value.strings(new).canonicalJSON])
        } else {
            try db.cachedStatement(sql: "DELETE FROM poll_voters WHERE poll = ? AND voter = ?").execute(arguments: [poll.id, voter])
        }
    }

    /// The poll's row: its description, the voters counted and the votes per option in the poll's order.
    private static func write(_ poll: Poll, db: Database) throws {
        let voters = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM poll_voters WHERE poll = ?"), arguments: [poll.id]) ?? 0
        var votes: [String: Int] = [:]
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT option, votes FROM poll_votes WHERE poll = ?"), arguments: [poll.id]) {
            votes[row["option"]] = row["votes"]
        }
        let results = Value.list(poll.options.map { Value.object(["option": .string($0), "votes": .int(Int64(votes[$0] ?? 0))]) })
        let ends = min(poll.closesAtMillis, poll.closedStamp.map { Int64($0.hlc.millis) } ?? .max)
        try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO poll_facts(poll, committee, title, kind, secret, ends_ms, quorum, ballots, results)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [poll.id, poll.committee, poll.title, poll.kind.rawValue, poll.secret, ends, poll.quorum, voters,
                                     results.canonicalJSON])
    }
}
