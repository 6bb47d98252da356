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
        router.get("/v1/me/events") { request, context in
            let actor = try context.requireActor()
            let resume = EventResume(request.headers[Self.lastEventID] ?? request.uri.queryParameters.get("lastEventId").map { String($0) },
                                     boot: store.feed.boot)
            guard streams.open(actor.memberID) else {
                throw APIError(.tooManyRequests, "too_many_streams", "at most \(Self.maxStreamsPerMember) open streams per member")
            }
            let (missed, events, cancel) = store.feed.subscribe(after: resume.after)
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
                    if let text = try await Self.sseText(event, for: actor, in: store, boot: store.feed.boot) { try await writer.write(ByteBuffer(string: text)) }
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
                            if let text = try await Self.sseText(event, for: actor, in: store, boot: store.feed.boot) { try await writer.write(ByteBuffer(string: text)) }
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

    /// One event as the stream sends it, or nil when the member may not know of it.
    /// A notification for the member travels with its change as `event: notification` (the inbox's row, as
    /// `GET /v1/me/notifications` lists it, with the unread count), before the change itself; both carry the change's id.
    static func sseText(_ event: FeedEvent, for actor: Actor, in store: Store, boot: String) async throws -> String? {
        // The member as they are now, not as they were when the stream opened: an approval, a new role, a suspension.
        let (known, notes) = try await store.read { view -> (Bool, [Value]) in
            guard let current = try view.member(actor.memberID) else { return (false, []) }
            let mine = event.notifications.filter { $0.isFor(member: current.id, committee: current.committee) }
            let unread = mine.isEmpty ? 0 : try view.unreadNotifications(for: current)
            let notes = try mine.map { n -> Value in
                var body = try Representation.notification(n, view: view).object!
                body["unread"] = .int(Int64(unread))
                return .object(body)
            }
            return (try Self.mayKnow(event, actor: current.actor, view: view), notes)
        }
        var text = notes.map { "id: \(boot)-\(event.number)\nevent: notification\ndata: \($0.canonicalJSON)\n\n" }.joined()
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
    static func mayKnow(_ event: FeedEvent, actor: Actor, view: ReadView) throws -> Bool {
        if event.kind == .member {
            if event.entity == actor.memberID { return true }
            return try committeeOf(event, view).map(actor.isStaff) ?? false
        }
        guard let committee = try committeeOf(event, view) else {
            // District- and street-wide boards: everyone in a committee beneath them.
            guard [.post, .comment, .like].contains(event.kind), let own = try actor.committee.flatMap(view.committee) else { return false }
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
            let ticket = event.kind == .ticket ? event.entity : event.parent
            return try ticket.flatMap { try view.ticket($0) }?.reporter == actor.memberID
        case .message:
            guard let message = try view.record(event.entity).flatMap(Message.init) else { return false }
            return message.from == actor.memberID || message.to == actor.memberID
        case .signup, .booking:
            return event.author == actor.memberID
        case .member:
            return false
        }
    }

    private static func committeeOf(_ event: FeedEvent, _ view: ReadView) throws -> Committee? {
        guard let id = event.scope.committee else { return nil }
        return try view.committee(id)
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
