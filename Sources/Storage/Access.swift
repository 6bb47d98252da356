import Foundation
import GRDB
import Governance
import Replication
import Synchronization

/// How long what a member holds stays good: a browser session (sliding: every use extends it), a bearer token (fixed:
/// its holder rotates it before the end), a one-time sign-in code.
public struct AccessLifetimes: Sendable, Hashable {
    public var sessionMillis: Int64
    public var tokenMillis: Int64
    public var signInCodeMillis: Int64

    public init(sessionMillis: Int64 = 30 * 86_400_000, tokenMillis: Int64 = 90 * 86_400_000, signInCodeMillis: Int64 = 24 * 3_600_000) {
        self.sessionMillis = sessionMillis
        self.tokenMillis = tokenMillis
        self.signInCodeMillis = signInCodeMillis
    }
    public static let standard = AccessLifetimes()
}

/// One browser session as its member sees it in the list of their sessions.
public struct SessionInfo: Sendable, Hashable {
    public var id: String
    public var member: String
    public var createdMillis: Int64
    public var lastSeenMillis: Int64
    public var expiresMillis: Int64
    /// The browser's User-Agent when the session began (cut to 200 characters), so a member can tell their devices.
    public var agent: String
}

extension Store {
    /// A session's last use is written at most this often (a page load per second must not be a write per second).
    static let sessionTouchMillis: Int64 = 60_000

    // MARK: - Bearer tokens

    /// Rotation: a new token for the holder of `token`, which itself stays good for `graceMillis` more (requests in
    /// flight, a second device being updated) and then ends. Returns the new token and when it expires.
    public func rotateToken(_ token: String, graceMillis: Int64 = 600_000) async throws -> (token: String, expiresMillis: Int64)? {
        try await write { tx in
            let hash = Digest.hex(of: token)
            guard let member = try String.fetchOne(tx.db, sql: "SELECT member FROM tokens WHERE hash = ? AND (expires_at IS NULL OR expires_at > ?)",
                                                   arguments: [hash, tx.nowMillis]) else { return nil }
            try tx.db.execute(sql: "UPDATE tokens SET expires_at = min(coalesce(expires_at, ?), ?) WHERE hash = ?",
                              arguments: [tx.nowMillis + graceMillis, tx.nowMillis + graceMillis, hash])
            let fresh = try tx.issueToken(member: member)
            return (fresh, tx.nowMillis + tx.store.lifetimes.tokenMillis)
        }
    }

    // MARK: - Browser sessions

    /// Starts a session for `member`; returns the cookie value (shown once; only its hash is kept) and the session.
    public func startSession(member: String, agent: String) async throws -> (cookie: String, session: SessionInfo) {
        let cookie = newToken()
        let id = randomString(length: 12, alphabet: Self.idAlphabet)
        let now = nowMillis
        let session = SessionInfo(id: id, member: member, createdMillis: now, lastSeenMillis: now,
                                  expiresMillis: now + lifetimes.sessionMillis, agent: String(agent.prefix(200)))
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at <= ?", arguments: [now])
            try db.execute(sql: "INSERT INTO sessions(hash, id, member, created_at, last_seen, expires_at, agent) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [Digest.hex(of: cookie), id, member, now, now, session.expiresMillis, session.agent])
        }
        return (cookie, session)
    }

    /// The member and session a cookie names, if it has not expired; a use extends it (sliding expiry).
    public func session(forCookie cookie: String) async throws -> (Member, SessionInfo)? {
        let now = nowMillis, hash = Digest.hex(of: cookie)
        guard let (member, session) = try await read({ view -> (Member, SessionInfo)? in
            guard let row = try Row.fetchOne(view.db.cachedStatement(sql: "SELECT * FROM sessions WHERE hash = ? AND expires_at > ?"), arguments: [hash, now]),
                  let member = try view.member(row["member"]) else { return nil }
            return (member, Self.session(row))
        }) else { return nil }
        guard now - session.lastSeenMillis >= Self.sessionTouchMillis else { return (member, session) }
        var touched = session
        touched.lastSeenMillis = now
        touched.expiresMillis = now + lifetimes.sessionMillis
        let expires = touched.expiresMillis
        try await writer.write { db in
            try db.execute(sql: "UPDATE sessions SET last_seen = ?, expires_at = ? WHERE hash = ?", arguments: [now, expires, hash])
        }
        return (member, touched)
    }

    /// A member's live sessions, most recently used first.
    public func sessions(member: String) async throws -> [SessionInfo] {
        let now = nowMillis
        return try await read { view in
            try Row.fetchAll(view.db, sql: "SELECT * FROM sessions WHERE member = ? AND expires_at > ? ORDER BY last_seen DESC, id",
                             arguments: [member, now]).map(Self.session)
        }
    }

    /// Ends one of a member's sessions (signing out, or a lost device from another one); false if there was none.
    @discardableResult
    public func endSession(id: String, member: String) async throws -> Bool {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE id = ? AND member = ?", arguments: [id, member])
            return db.changesCount > 0
        }
    }

    private static func session(_ row: Row) -> SessionInfo {
        SessionInfo(id: row["id"], member: row["member"], createdMillis: row["created_at"], lastSeenMillis: row["last_seen"],
                    expiresMillis: row["expires_at"], agent: row["agent"])
    }

    // MARK: - One-time sign-in codes

    /// A one-time code (or link) for a member who lost their phone, issued by a cadre of their committee: it signs in as
    /// the same member, so their ballots, tickets and history stay theirs. Returns the code (only its hash is kept).
    public func issueSignInCode(member: String, by staff: Actor) async throws -> (code: String, expiresMillis: Int64) {
        let code = randomString(length: 12, alphabet: Self.idAlphabet)
        return try await write { tx in
            guard let target = try tx.view.member(member), let committee = target.committee else { throw GovernanceError.notFound("member \(member)") }
            try staff.requireStaff(try tx.view.requireCommittee(committee))
            guard target.status == .approved else { throw GovernanceError.conflict("not_approved", "only an approved member can be signed in") }
            let expires = tx.nowMillis + tx.store.lifetimes.signInCodeMillis
            // A new code replaces any earlier one for the member.
            try tx.db.execute(sql: "DELETE FROM sign_in_codes WHERE member = ? OR expires_at <= ?", arguments: [member, tx.nowMillis])
            try tx.db.execute(sql: "INSERT INTO sign_in_codes(hash, member, issued_by, expires_at) VALUES (?, ?, ?, ?)",
                              arguments: [Digest.hex(of: code), member, staff.memberID, expires])
            return (code, expires)
        }
    }

    /// Redeems a sign-in code: once only, before it expires. Every other session and every bearer token of the member
    /// ends (the lost phone is signed out); returns the new session's cookie.
    public func redeemSignInCode(_ code: String, agent: String) async throws -> (cookie: String, session: SessionInfo, member: Member)? {
        let hash = Digest.hex(of: code.lowercased().filter { !$0.isWhitespace && $0 != "-" })
        let now = nowMillis
        guard let member = try await writer.write({ db -> String? in
            guard let member = try String.fetchOne(db, sql: "SELECT member FROM sign_in_codes WHERE hash = ? AND expires_at > ?", arguments: [hash, now]) else { return nil }
            try db.execute(sql: "DELETE FROM sign_in_codes WHERE hash = ?", arguments: [hash])
            try db.execute(sql: "DELETE FROM sessions WHERE member = ?", arguments: [member])
            try db.execute(sql: "DELETE FROM tokens WHERE member = ?", arguments: [member])
            return member
        }), let record = try await read({ try $0.member(member) }) else { return nil }
        let (cookie, session) = try await startSession(member: member, agent: agent)
        return (cookie, session, record)
    }
}

// MARK: - App settings (local only)

extension Store {
    /// The member's chosen app language (`zh`, `en`), if they chose one.
    public func language(member: String) async throws -> String? {
        try await read { view in try String.fetchOne(view.db, sql: "SELECT language FROM member_settings WHERE member = ?", arguments: [member]) }
    }

    public func setLanguage(_ language: String, member: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO member_settings(member, language) VALUES (?, ?)", arguments: [member, language])
        }
    }

    /// When the member last opened each board (ms), for unread counts.
    public func boardVisits(member: String) async throws -> [String: Int64] {
        try await read { view in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(view.db, sql: "SELECT board, seen_at FROM board_visits WHERE member = ?", arguments: [member])
                .map { ($0["board"] as String, $0["seen_at"] as Int64) })
        }
    }

    public func visitBoard(_ board: String, member: String) async throws {
        let now = nowMillis
        try await writer.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO board_visits(member, board, seen_at) VALUES (?, ?, ?)", arguments: [member, board, now])
        }
    }
}
