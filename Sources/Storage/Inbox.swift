import Foundation
import GRDB
import Governance
import Replication

/// Why a member is told of something.
public enum NotificationReason: String, Sendable, CaseIterable, Codable {
    /// A post @-mentions them (cadres).
    case mention
    /// A comment on their post.
    case reply
    /// A private message to them.
    case message
    /// A step of the ticket they reported, wherever it was written (a district's dispatch arrives by replication).
    case ticket
    /// Their application to join was approved.
    case approved
    /// A new poll in their committee (one row for the whole committee).
    case poll
    /// Their campaign sign-up got a place (at once, or when someone ahead cancelled).
    case signupConfirmed = "signup_confirmed"
    /// Their queue number was called, served or marked a no-show (`detail`).
    case queue
    /// A ticket in their street has waited 15 hours without a first response (street officers).
    case overdue
}

/// One notification in a member's inbox.
public struct InboxNotification: Sendable, Hashable {
    /// Arrival order on this node: lists are newest first by it, and it is the page cursor.
    public var number: Int64
    /// Deterministic from what caused it (`reason:entity[:member]`): deriving it again writes nothing.
    public var id: String
    /// A member id, or `c:<committee>` for everyone in the committee.
    public var audience: String
    public var reason: NotificationReason
    /// What happened: the comment, the ticket event, the message.
    public var entity: String
    /// What to open: the post, the ticket, the message thread's message, the poll.
    public var subject: String
    /// Who did it (a member id, or `system`).
    public var actor: String
    public var committee: String?
    /// The ticket event's type, the booking's state.
    public var detail: String?
    public var createdMillis: Int64
    public var read: Bool

    public init(number: Int64 = 0, id: String, audience: String, reason: NotificationReason, entity: String, subject: String, actor: String,
                committee: String?, detail: String?, createdMillis: Int64, read: Bool = false) {
        self.number = number
        self.id = id
        self.audience = audience
        self.reason = reason
        self.entity = entity
        self.subject = subject
        self.actor = actor
        self.committee = committee
        self.detail = detail
        self.createdMillis = createdMillis
        self.read = read
    }

    /// Whether `member` (of `committee`, if any) is among those told.
    public func isFor(member: String, committee: String?) -> Bool {
        audience == member || (committee.map { audience == "c:\($0)" } ?? false)
    }
}

/// The member's inbox: notifications derived from the changes this node applies, in the transaction that applies them
/// (so a notification exists exactly when its cause does, and a duplicate change, never applied twice, never notifies
/// twice). Kept on street nodes, where members read them; each enqueues a webhook delivery when the node has a webhook.
struct Inbox {
    let db: Database
    let webhook: Bool
    /// The node's time as the transaction began: what happened long before is not news. A street restored empty gets its
    /// whole history back by replication; its members are not told of it again, and nothing older than a day goes to the
    /// webhook (an SMS about last month's poll helps nobody).
    let nowMillis: Int64

    /// The notifications one newly applied change causes (already inserted), for the change feed.
    func derive(_ change: Change, kind: EntityKind) throws -> [InboxNotification] {
        let view = ReadView(db: db, store: nil)
        let at = Int64(change.hlc.millis)
        let committee = change.scope.committee
        func note(_ reason: NotificationReason, to audience: String, subject: String, detail: String? = nil, id: String? = nil) -> InboxNotification {
            InboxNotification(id: id ?? "\(reason.rawValue):\(change.entity):\(audience)", audience: audience, reason: reason,
                              entity: change.entity, subject: subject, actor: change.author, committee: committee, detail: detail, createdMillis: at)
        }
        var out: [InboxNotification] = []
        switch kind {
        case .post:
            for mentioned in change.fields["mentions"]?.strings ?? [] where mentioned != change.author {
                out.append(note(.mention, to: mentioned, subject: change.entity))
            }
        case .comment:
            guard let post = change.fields["post"]?.string, let author = try view.cellValue(entity: post, field: "author")?.string,
                  author != change.author else { break }
            out.append(note(.reply, to: author, subject: post))
        case .message:
            guard let to = change.fields["to"]?.string, to != change.author else { break }
            out.append(note(.message, to: to, subject: change.entity))
        case .ticketEvent:
            guard let ticket = change.fields["ticket"]?.string, let type = change.fields["type"]?.string, type != TicketEventType.rate.rawValue,
                  let reporter = try view.cellValue(entity: ticket, field: "reporter")?.string,
                  change.fields["actor"]?.string != reporter else { break }
            out.append(note(.ticket, to: reporter, subject: ticket, detail: type))
        case .member:
            // A cadre's decision (the status alone), not an account created approved.
            guard change.fields["status"] == .string(MemberStatus.approved.rawValue), change.fields["role"] == nil else { break }
            out.append(note(.approved, to: change.entity, subject: change.entity, id: "approved:\(change.entity)"))
        case .poll:
            guard change.op == .add, change.fields["title"] != nil, let committee else { break }
            out.append(note(.poll, to: "c:\(committee)", subject: change.entity, id: "poll:\(change.entity)"))
        case .booking:
            guard let state = change.fields["state"]?.string,
                  let member = try view.cellValue(entity: change.entity, field: "member")?.string else { break }
            let queue = try view.cellValue(entity: change.entity, field: "queue")?.string ?? change.entity
            out.append(note(.queue, to: member, subject: queue, detail: state, id: "queue:\(change.entity):\(state)"))
        default:
            break
        }
        // Only members held here: a district-wide post reaches every street of the district, and each street tells its own.
        return try out.filter { try $0.audience.hasPrefix("c:") || view.cellValue(entity: $0.audience, field: "role") != nil }.compactMap(insert)
    }

    /// Confirmations for a campaign's sign-ups that hold a place now and were not yet told (after a sign-up, or a
    /// cancellation that moved the waiting list up).
    func confirmations(campaign id: String) throws -> [InboxNotification] {
        let view = ReadView(db: db, store: nil)
        guard let campaign = try view.campaign(id) else { return [] }
        let signups = try view.children(of: id, kind: .signup, limit: 1_000_000).filter { !$0.isDeleted }
        let byMember = Dictionary(signups.compactMap { r in r["member"].string.map { ($0, r) } }, uniquingKeysWith: { a, b in a.created < b.created ? a : b })
        var out: [InboxNotification] = []
        for standing in campaign.standings(signups.compactMap { r in r["member"].string.map { ($0, r.created) } }) where standing.confirmed {
            guard let signup = byMember[standing.member] else { continue }
            let notification = InboxNotification(
                id: "signup_confirmed:\(signup.id)", audience: standing.member, reason: .signupConfirmed, entity: signup.id, subject: id,
                actor: standing.member, committee: campaign.committee, detail: nil, createdMillis: Int64(signup.created.hlc.millis))
            if let inserted = try insert(notification) { out.append(inserted) }
        }
        return out
    }

    /// Inserts one notification unless it exists; returns it with its number when new.
    func insert(_ notification: InboxNotification) throws -> InboxNotification? {
        guard notification.createdMillis >= nowMillis - Self.retentionMillis else { return nil }
        try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO notifications(id, audience, reason, entity, subject, actor, committee, detail, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [notification.id, notification.audience, notification.reason.rawValue, notification.entity,
                                     notification.subject, notification.actor, notification.committee, notification.detail,
                                     notification.createdMillis])
        guard db.changesCount > 0 else { return nil }
        var inserted = notification
        inserted.number = db.lastInsertedRowID
        if webhook, notification.createdMillis >= nowMillis - Self.webhookFreshnessMillis { try WebhookOutbox.enqueue(inserted, db: db) }
        return inserted
    }

    /// Notifications older than this are deleted by `prune` (and not made at all).
    static let retentionMillis: Int64 = 90 * 86_400_000
    /// Only notifications younger than this go to the webhook.
    static let webhookFreshnessMillis: Int64 = 86_400_000
}

extension ReadView {
    /// A member's notifications, newest first, before `before` (a notification's number), at most `limit`; only the
    /// unread ones when `unreadOnly`. Committee-wide ones count from the member's joining.
    public func notifications(for member: Member, before: Int64? = nil, unreadOnly: Bool = false, limit: Int) throws -> [InboxNotification] {
        let (sql, arguments) = Self.inboxFilter(member)
        var filter = sql
        var args = arguments
        if let before { filter = "(\(filter)) AND n.number < ?"; args += [before] }
        let rows = try Row.fetchAll(db, sql: """
            SELECT n.*, (n.read = 1 OR EXISTS (SELECT 1 FROM notification_reads r WHERE r.member = ? AND r.number = n.number)) AS seen
            FROM notifications n WHERE \(filter) ORDER BY n.number DESC LIMIT ?
            """, arguments: [member.id] + args + [unreadOnly ? 100_000 : limit])
        let all = rows.compactMap(Self.notification(from:))
        return unreadOnly ? Array(all.filter { !$0.read }.prefix(limit)) : all
    }

    /// How many of a member's notifications are unread (counted up to 1,000).
    public func unreadNotifications(for member: Member) throws -> Int {
        let (sql, arguments) = Self.inboxFilter(member)
        return try Int.fetchOne(db, sql: """
            SELECT count(*) FROM (SELECT 1 FROM notifications n WHERE (\(sql)) AND n.read = 0
                AND NOT EXISTS (SELECT 1 FROM notification_reads r WHERE r.member = ? AND r.number = n.number) LIMIT 1000)
            """, arguments: arguments + [member.id]) ?? 0
    }

    /// A notification by number, if it is `member`'s.
    public func notification(_ number: Int64, for member: Member) throws -> InboxNotification? {
        try notifications(for: member, before: number + 1, limit: 1).first { $0.number == number }
    }

    static func inboxFilter(_ member: Member) -> (String, StatementArguments) {
        guard let committee = member.committee else { return ("n.audience = ?", [member.id]) }
        return ("n.audience = ? OR (n.audience = ? AND n.created_at >= ?)", [member.id, "c:\(committee)", member.joinedMillis])
    }

    static func notification(from row: Row) -> InboxNotification? {
        guard let reason = NotificationReason(rawValue: row["reason"]) else { return nil }
        return InboxNotification(number: row["number"], id: row["id"], audience: row["audience"], reason: reason, entity: row["entity"],
                                 subject: row["subject"], actor: row["actor"], committee: row["committee"], detail: row["detail"],
                                 createdMillis: row["created_at"], read: (row["seen"] as Bool?) ?? (row["read"] as Bool? ?? false))
    }
}

extension Store {
    /// Marks a member's notifications read: those numbered, those about `subject` (a page opened), or all of them.
    /// Returns how many unread remain.
    @discardableResult
    public func markNotificationsRead(member: Member, numbers: [Int64] = [], subject: String? = nil, all: Bool = false) async throws -> Int {
        try await writer.write { db in
            let (filter, arguments) = ReadView.inboxFilter(member)
            var which: [String] = []
            var args: StatementArguments = []
            if all { which.append("1") }
            if !numbers.isEmpty { which.append("n.number IN (\(numbers.prefix(500).map { _ in "?" }.joined(separator: ",")))"); args += StatementArguments(Array(numbers.prefix(500))) }
            if let subject { which.append("n.subject = ?"); args += [subject] }
            guard !which.isEmpty else { return try ReadView(db: db, store: nil).unreadNotifications(for: member) }
            let condition = "(\(filter)) AND (\(which.joined(separator: " OR ")))"
            try db.execute(sql: "UPDATE notifications AS n SET read = 1 WHERE n.audience = ? AND n.read = 0 AND \(condition)",
                           arguments: [member.id] + arguments + args)
            try db.execute(sql: "INSERT OR IGNORE INTO notification_reads(member, number) SELECT ?, n.number FROM notifications n WHERE n.audience <> ? AND \(condition)",
                           arguments: [member.id, member.id] + arguments + args)
            return try ReadView(db: db, store: nil).unreadNotifications(for: member)
        }
    }

    /// Deletes notifications (and their read marks) older than the retention; returns how many.
    @discardableResult
    public func pruneNotifications() async throws -> Int {
        let cutoff = nowMillis - Inbox.retentionMillis
        return try await writer.write { db in
            try db.execute(sql: "DELETE FROM notification_reads WHERE number IN (SELECT number FROM notifications WHERE created_at < ?)", arguments: [cutoff])
            try db.execute(sql: "DELETE FROM notifications WHERE created_at < ?", arguments: [cutoff])
            return db.changesCount
        }
    }
}
