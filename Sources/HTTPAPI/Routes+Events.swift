import Foundation
import Governance
import HTTPTypes
import Hummingbird
import NIOCore
import Replication
import ServiceLifecycle
import Storage
import Synchronization

/// `GET /v1/me/events`: Server-Sent Events telling a member's open pages what changed that they may see — a reply on
/// their committee's board, a stage of their ticket (wherever it was written: a district's dispatch arrives by
/// replication), their own approval. Each event names the entity, never its contents: the page reads those with the
/// member's rights. Ids are `boot-number`; a client reconnecting with `Last-Event-ID` gets what it missed, or
/// `event: reset` ("reload") when that can no longer be told (the node restarted, or it missed too much).
extension APIServer {
    /// Streams open at once per member (tabs, devices) and per node.
    static let maxStreamsPerMember = 8
    static let maxStreams = 10_000
    /// A comment line this often keeps proxies and phones from closing an idle stream.
    static let keepAlive: Duration = .seconds(15)
    /// A stream ends after this long; the browser reconnects (with its last id) and the session is checked again.
    static let maxStreamDuration: Duration = .seconds(3_600)
    static let lastEventID = HTTPField.Name("Last-Event-ID")!

    func addEventRoutes(to router: Router<ShequRequestContext>) {
        let store = self.store
        let streams = OpenStreams()
        let facts = EventFactsCache()
        router.get("/v1/me/events") { request, context in
            let actor = try context.requireActor()
            let resume = EventResume(request.headers[Self.lastEventID] ?? request.uri.queryParameters.get("lastEventId").map { String($0) },
                                     boot: store.feed.boot)
            guard streams.open(actor.memberID) else {
                throw APIError(.tooManyRequests, "too_many_streams", "at most \(Self.maxStreamsPerMember) open streams per member")
            }
            let (missed, events, cancel) = store.feed.subscribe(after: resume.after)
            let listener = StreamListener(memberID: actor.memberID)
            try await listener.refresh(store)
            var headers = HTTPFields()
            headers[.contentType] = "text/event-stream; charset=utf-8"
            headers[.cacheControl] = "no-store"
            headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
            let body = ResponseBody { writer in
                defer { cancel(); streams.close(actor.memberID) }
                var opening = "retry: 3000\n\n"
                if resume.mustReset || missed == nil { opening += "event: reset\ndata: {}\n\n" }
                try await writer.write(ByteBuffer(string: opening))
                for event in missed ?? [] {
                    if let text = try await Self.sseText(event, for: listener, facts: facts, in: store, boot: store.feed.boot) {
                        try await writer.write(ByteBuffer(string: text))
                    }
                }
                // One loop writes: live events, keep-alive ticks and the end of the stream's time arrive as one sequence.
                let (items, sink) = AsyncStream.makeStream(of: StreamItem.self, bufferingPolicy: .bufferingNewest(1_000))
                let forward = Task {
                    for await event in events { sink.yield(.event(event)) }
                    sink.finish()
                }
                let tick = Task {
                    let started = ContinuousClock.now
                    while !Task.isCancelled, ContinuousClock.now - started < Self.maxStreamDuration {
                        try? await Task.sleep(for: Self.keepAlive)
                        sink.yield(.keepAlive)
                    }
                    sink.finish()
                }
                defer { forward.cancel(); tick.cancel() }
                // A server shutting down ends its streams at once (the browsers reconnect elsewhere or later); a client
                // that went away is noticed at the next write, within a keep-alive.
                try await withGracefulShutdownHandler {
                    for await item in items {
                        switch item {
                        case .keepAlive:
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        case .event(let event):
                            if let text = try await Self.sseText(event, for: listener, facts: facts, in: store, boot: store.feed.boot) {
                                try await writer.write(ByteBuffer(string: text))
                            }
                        }
                    }
                } onGracefulShutdown: {
                    sink.finish()
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        }
    }

    enum StreamItem: Sendable { case event(FeedEvent), keepAlive }

    /// One event as the stream sends it to `listener`, or nil when the member may not know of it. What the event is
    /// (its committee, its ticket's reporter, a message's two ends, its notifications as shown) is read once for all
    /// the streams (`EventFacts`); who the member is, once per stream and again when their own record changes. So a
    /// committee-wide poll told to 1,000 open streams costs one read, not 1,000.
    static func sseText(_ event: FeedEvent, for listener: StreamListener, facts: EventFactsCache, in store: Store, boot: String) async throws -> String? {
        if event.kind == .member, event.entity == listener.memberID { try await listener.refresh(store) }
        guard let member = listener.member else { return nil }
        let mine = event.notifications.filter { $0.isFor(member: member.id, committee: member.committee) }
        let read = try await facts.facts(event, store: store)
        let known = Self.mayKnow(event, actor: member.actor, facts: read)
        guard known || !mine.isEmpty else { return nil }
        var text = ""
        if !mine.isEmpty {
            let shown = read.notifications
            // The unread count rides along when the notification is the member's alone (one read for one stream); a
            // committee-wide one leaves it out, and the page adds one.
            let unread = mine.contains { $0.audience == member.id } ? try await store.read { try $0.unreadNotifications(for: member) } : nil
            for n in mine {
                guard var body = shown[n.number]?.object else { continue }
                body["unread"] = unread.map { .int(Int64($0)) } ?? .null
                text += "id: \(boot)-\(event.number)\nevent: notification\ndata: \(Value.object(body).canonicalJSON)\n\n"
            }
        }
        if known {
            var data: [String: Value] = ["kind": .string(event.kind.rawValue), "scope": .string(event.scope.description)]
            // A ballot names only its poll: who voted (and, for a secret poll, the pseudonym) is not for others.
            if event.kind != .ballot { data["entity"] = .string(event.entity) }
            if let parent = event.parent { data["parent"] = .string(parent) }
            text += "id: \(boot)-\(event.number)\nevent: change\ndata: \(Value.object(data).canonicalJSON)\n\n"
        }
        return text.isEmpty ? nil : text
    }

    /// Whether `actor` may be told that `event` happened.
    static func mayKnow(_ event: FeedEvent, actor: Actor, facts: EventFacts) -> Bool {
        if event.kind == .member {
            if event.entity == actor.memberID { return true }
            return facts.committee.map(actor.isStaff) ?? false
        }
        guard let committee = facts.committee else {
            // District- and street-wide boards: everyone in a committee beneath them.
            guard [.post, .comment, .like].contains(event.kind), let own = facts.actorCommittee(actor) else { return false }
            switch event.scope {
            case .district(let district): return own.district == district && actor.status == .approved
            case .street(let street): return own.street == street && actor.status == .approved
            case .city: return actor.status == .approved
            case .committee: return false
            }
        }
        if actor.isStaff(of: committee) { return true }
        guard actor.isMember(of: committee) else { return false }
        switch event.kind {
        case .post, .comment, .like, .poll, .ballot, .topic, .topicEvent, .campaign, .queue, .committee:
            return true
        case .ticket, .ticketEvent:
            return facts.reporter == actor.memberID
        case .message:
            return facts.messageEnds.contains(actor.memberID)
        case .signup, .booking:
            return event.author == actor.memberID
        case .member:
            return false
        }
    }
}

/// What every stream needs to know of one event, read once: its committee, the reporter of its ticket, the two ends of
/// a message, the committees of the federation's units (for district- and street-wide posts), and its notifications
/// as `GET /v1/me/notifications` shows them.
struct EventFacts: Sendable {
    var committee: Committee?
    var reporter: String?
    var messageEnds: Set<String> = []
    var committees: [String: Committee] = [:]
    var notifications: [Int64: Value] = [:]

    func actorCommittee(_ actor: Actor) -> Committee? { actor.committee.flatMap { committees[$0] } }

    static func read(_ event: FeedEvent, view: ReadView) throws -> EventFacts {
        var facts = EventFacts()
        if let id = event.scope.committee { facts.committee = try view.committee(id) }
        switch event.kind {
        case .ticket, .ticketEvent:
            let ticket = event.kind == .ticket ? event.entity : event.parent
            facts.reporter = try ticket.flatMap { try view.cellValue(entity: $0, field: "reporter")?.string }
        case .message:
            if let message = try view.record(event.entity).flatMap(Message.init) { facts.messageEnds = [message.from, message.to] }
        case .post, .comment, .like:
            if event.scope.committee == nil { facts.committees = Dictionary(uniqueKeysWithValues: try view.committees().map { ($0.id, $0) }) }
        default:
            break
        }
        for n in event.notifications { facts.notifications[n.number] = try Representation.notification(n, view: view) }
        return facts
    }
}

/// The facts of recent events, each read by the first stream that needs it while the others wait for that read.
final class EventFactsCache: Sendable {
    private let entries = Mutex<(tasks: [UInt64: Task<EventFacts, any Error>], order: [UInt64])>(([:], []))
    static let capacity = 2_048

    func facts(_ event: FeedEvent, store: Store) async throws -> EventFacts {
        let task = entries.withLock { entries -> Task<EventFacts, any Error> in
            if let task = entries.tasks[event.number] { return task }
            let task = Task { try await store.read { try EventFacts.read(event, view: $0) } }
            entries.tasks[event.number] = task
            entries.order.append(event.number)
            if entries.order.count > Self.capacity {
                for old in entries.order.prefix(Self.capacity / 2) { entries.tasks[old] = nil }
                entries.order.removeFirst(Self.capacity / 2)
            }
            return task
        }
        return try await task.value
    }
}

/// The member an open stream belongs to, as they are now: read when the stream opens and again when their own record
/// changes (an approval, a new role, a suspension); nil once they are gone.
final class StreamListener: Sendable {
    let memberID: String
    private let current = Mutex<Member?>(nil)
    var member: Member? { current.withLock { $0 } }

    init(memberID: String) { self.memberID = memberID }

    func refresh(_ store: Store) async throws {
        let id = memberID
        let fresh = try await store.read { try $0.member(id) }
        current.withLock { $0 = fresh }
    }
}

/// Where a reconnecting client left off, from its `Last-Event-ID`.
struct EventResume {
    var after: UInt64?
    var mustReset = false

    init(_ lastID: String?, boot: String) {
        guard let lastID else { return }
        let parts = lastID.split(separator: "-", maxSplits: 1)
        if parts.count == 2, parts[0] == boot, let number = UInt64(parts[1]) {
            after = number
        } else {
            mustReset = true  // an id from before a restart, or not ours: what was missed cannot be told
        }
    }
}

/// Open event streams per member, bounded.
final class OpenStreams: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func open(_ member: String) -> Bool {
        counts.withLock { counts in
            guard counts[member, default: 0] < APIServer.maxStreamsPerMember,
                  counts.values.reduce(0, +) < APIServer.maxStreams else { return false }
            counts[member, default: 0] += 1
            return true
        }
    }
    func close(_ member: String) {
        counts.withLock { counts in
            counts[member, default: 1] -= 1
            if counts[member] == 0 { counts[member] = nil }
        }
    }
}
