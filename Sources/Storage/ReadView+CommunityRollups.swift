import Foundation
import GRDB
import Governance
import Replication

/// One category in the hot-topic ranking: its posts, comments and likes in the window.
public struct HotCategory: Hashable, Sendable {
    public var category: String
    public var posts: Int
    public var comments: Int
    public var likes: Int
    /// Every post, comment and like counts one.
    public var score: Int { posts + comments + likes }
}

/// One post in the hot-topic ranking: a post made in the window, by its comments and likes.
public struct HotPost: Hashable, Sendable {
    public var post: String
    public var unit: String
    public var category: String
    public var day: String
    public var comments: Int
    public var likes: Int
    public var score: Int { comments + likes }
}

/// One row of the participation rollup.
public struct ParticipationRow: Hashable, Sendable {
    public var key: String
    public var members: Int
    public var households: Int
    public var under50: Int
    public var partyMembers: Int
    public var volunteers: Int
    /// The rows added up.
    public static func sum(_ rows: [ParticipationRow], key: String) -> ParticipationRow {
        rows.reduce(into: ParticipationRow(key: key, members: 0, households: 0, under50: 0, partyMembers: 0, volunteers: 0)) {
            $0.members += $1.members; $0.households += $1.households; $0.under50 += $1.under50
            $0.partyMembers += $1.partyMembers; $0.volunteers += $1.volunteers
        }
    }

    /// The share of members under 50 (the seeds report it), nil with no members.
    public var under50Share: Double? { members > 0 ? Double(under50) / Double(members) : nil }
}

/// A poll's turnout and result, as rollups show it: totals only.
public struct PollResultRow: Hashable, Sendable {
    public var poll: String
    public var committee: String
    public var title: String
    public var kind: String
    public var secret: Bool
    public var endsMillis: Int64
    public var quorum: Int
    public var ballots: Int
    /// Approved members of the committee now: the electorate turnout is measured against.
    public var electorate: Int
    public var results: [(option: String, votes: Int)]
    public var closed: Bool
    public var turnout: Double? { electorate > 0 ? Double(ballots) / Double(electorate) : nil }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.poll == rhs.poll && lhs.ballots == rhs.ballots && lhs.electorate == rhs.electorate && lhs.closed == rhs.closed
            && lhs.results.map(\.option) == rhs.results.map(\.option) && lhs.results.map(\.votes) == rhs.results.map(\.votes)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(poll); hasher.combine(ballots) }
}

extension ReadView {
    /// Categories ranked by posts, comments and likes made on days in `since...until` (YYYY-MM-DD, Shanghai time),
    /// highest score first, ties by category.
    public func hotCategories(scope: RollupScope, since: String, until: String) throws -> [HotCategory] {
        let (predicate, arguments) = scope.predicate
        return try Row.fetchAll(db, sql: """
            SELECT a.category AS category, SUM(a.posts) AS posts, SUM(a.comments) AS comments, SUM(a.likes) AS likes
            FROM rollup_activity a JOIN committee_units u ON u.committee = a.unit
            WHERE a.day >= ? AND a.day <= ? AND \(predicate) GROUP BY a.category
            """, arguments: [since, until] + arguments)
            .map { HotCategory(category: $0["category"], posts: $0["posts"], comments: $0["comments"], likes: $0["likes"]) }
            .filter { $0.score > 0 }
            .sorted { ($1.score, $0.category) < ($0.score, $1.category) }
    }

    /// Posts made on days in `since...until`, ranked by comments and likes, at most `limit`.
    public func hotPosts(scope: RollupScope, since: String, until: String, limit: Int) throws -> [HotPost] {
        let (predicate, arguments) = scope.predicate
        return try Row.fetchAll(db, sql: """
            SELECT p.post AS post, p.unit AS unit, p.category AS category, p.day AS day, p.comments AS comments, p.likes AS likes
            FROM post_activity p JOIN committee_units u ON u.committee = p.unit
            WHERE p.day >= ? AND p.day <= ? AND \(predicate)
            ORDER BY p.comments + p.likes DESC, p.post LIMIT ?
            """, arguments: [since, until] + arguments + [limit])
            .map { HotPost(post: $0["post"], unit: $0["unit"], category: $0["category"], day: $0["day"], comments: $0["comments"], likes: $0["likes"]) }
    }

    /// Approved members, households, members under 50, party members showing the badge and volunteers, per unit.
    public func participationRollup(groupBy: RollupGrouping, scope: RollupScope) throws -> [ParticipationRow] {
        let key = "u.\(groupBy.isUnit ? groupBy.rawValue : "committee")"
        let (predicate, arguments) = scope.predicate
        return try Row.fetchAll(db, sql: """
            SELECT \(key) AS k, SUM(p.members) AS members, SUM(p.households) AS households, SUM(p.under50) AS under50,
                   SUM(p.party) AS party, SUM(p.volunteers) AS volunteers
            FROM rollup_participation p JOIN committee_units u ON u.committee = p.committee
            WHERE \(predicate) GROUP BY k HAVING members != 0 ORDER BY k
            """, arguments: arguments)
            .map { ParticipationRow(key: $0["k"], members: $0["members"], households: $0["households"], under50: $0["under50"],
                                    partyMembers: $0["party"], volunteers: $0["volunteers"]) }
    }

    /// Polls in scope that have closed by `nowMillis`, most recently closed first, with turnout and results.
    public func closedPolls(scope: RollupScope, nowMillis: Int64, limit: Int) throws -> [PollResultRow] {
        let (predicate, arguments) = scope.predicate
        return try Row.fetchAll(db, sql: """
            SELECT f.*, coalesce(p.members, 0) AS electorate FROM poll_facts f JOIN committee_units u ON u.committee = f.committee
            LEFT JOIN rollup_participation p ON p.committee = f.committee
            WHERE f.ends_ms <= ? AND \(predicate) ORDER BY f.ends_ms DESC, f.poll LIMIT ?
            """, arguments: [nowMillis] + arguments + [limit]).map { try Self.pollResult($0, nowMillis: nowMillis) }
    }

    /// One poll's turnout and result (open or closed; callers decide what to show of an open poll).
    public func pollResult(_ id: String, nowMillis: Int64) throws -> PollResultRow? {
        try Row.fetchOne(db, sql: """
            SELECT f.*, coalesce(p.members, 0) AS electorate FROM poll_facts f
            LEFT JOIN rollup_participation p ON p.committee = f.committee WHERE f.poll = ?
            """, arguments: [id]).map { try Self.pollResult($0, nowMillis: nowMillis) }
    }

    private static func pollResult(_ row: Row, nowMillis: Int64) throws -> PollResultRow {
        let results = try Value(json: row["results"]).list ?? []
        let ends: Int64 = row["ends_ms"]
        return PollResultRow(poll: row["poll"], committee: row["committee"], title: row["title"], kind: row["kind"], secret: row["secret"],
                             endsMillis: ends, quorum: row["quorum"], ballots: row["ballots"], electorate: row["electorate"],
                             results: results.map { ($0.object?["option"]?.string ?? "", Int($0.object?["votes"]?.int ?? 0)) },
                             closed: ends <= nowMillis)
    }
}
