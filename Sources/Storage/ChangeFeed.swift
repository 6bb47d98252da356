import Foundation
import Governance
import Replication
import Synchronization

/// One committed change as open pages hear of it: what changed, not its contents (a page reads those with the
/// member's own rights), numbered in the order this node committed them.
public struct FeedEvent: Sendable, Hashable {
    /// This node's commit order, from 1 since the process started (see `ChangeFeed.boot`).
    public var number: UInt64
    public var kind: EntityKind
    public var entity: String
    /// The entity it hangs from (a comment's post, a ticket event's ticket), if any.
    public var parent: String?
    public var scope: Scope
    public var author: String
    /// The notifications this change caused on this node (`Inbox`).
    public var notifications: [InboxNotification] = []
}

/// Every change this node commits — its own writes and what replication brings — in commit order, to whoever listens
/// (`GET /v1/me/events`). Recent events are kept in a ring so that a client reconnecting with `Last-Event-ID` gets what
/// it missed; one that missed more than the ring, or asks across a restart, is told to reload instead.
///
/// Dormant until the first subscriber: a node nobody listens to (the simulator's hundreds) keeps nothing.
public final class ChangeFeed: Sendable {
    /// Names this process's numbering: event ids are `boot-number`, so an id from before a restart is recognised.
    public let boot: String
    /// How many recent events are kept for resuming.
    public let capacity: Int
    private let state = Mutex(State())

    struct State {
        var active = false
        var next: UInt64 = 1
        /// The newest events, oldest first (at most `capacity`, trimmed in halves).
        var recent: [FeedEvent] = []
        var listeners: [UInt64: AsyncStream<FeedEvent>.Continuation] = [:]
        var nextListener: UInt64 = 0
    }

    public init(capacity: Int = 20_000) {
        self.capacity = capacity
        self.boot = String(UInt64.random(in: 0...UInt64(UInt32.max)), radix: 36)
    }

    /// Announces committed changes (the store calls this after each commit).
    /// Each notification travels with the change that caused it (one caused by another entity — a place freed by a
    /// cancellation — with the batch's last change).
    func publish(_ changes: [Change], notified: [InboxNotification] = []) {
        state.withLock { state in
            guard state.active else { return }
            var pending = Dictionary(grouping: notified, by: \.entity)
            for (index, change) in changes.enumerated() {
                guard let kind = EntityKind(rawValue: change.kind) else { continue }
                let parent = kind.parentField.flatMap { change.fields[$0]?.string }
                var event = FeedEvent(number: state.next, kind: kind, entity: change.entity, parent: parent, scope: change.scope, author: change.author)
                event.notifications = pending.removeValue(forKey: change.entity) ?? []
                if index == changes.count - 1 { event.notifications += pending.values.joined().sorted { $0.number < $1.number } }
                state.next += 1
                state.recent.append(event)
                for listener in state.listeners.values { listener.yield(event) }
            }
            if state.recent.count > 2 * capacity { state.recent.removeFirst(state.recent.count - capacity) }
        }
    }

    /// The events after `lastSeen` (nil: none, only what comes next) and the live ones from then on, with nothing lost
    /// or repeated in between. `missed` is nil when they can no longer be told: the ring has moved past `lastSeen`.
    /// The stream holds at most `buffer` events for a slow reader (then the oldest are dropped: it should reload).
    public func subscribe(after lastSeen: UInt64?, buffer: Int = 1_000) -> (missed: [FeedEvent]?, events: AsyncStream<FeedEvent>, cancel: @Sendable () -> Void) {
        let (stream, continuation) = AsyncStream.makeStream(of: FeedEvent.self, bufferingPolicy: .bufferingNewest(buffer))
        let (missed, id) = state.withLock { state -> ([FeedEvent]?, UInt64) in
            state.active = true
            let id = state.nextListener
            state.nextListener += 1
            state.listeners[id] = continuation
            guard let lastSeen else { return ([], id) }
            if lastSeen + 1 >= state.next { return ([], id) }
            guard let first = state.recent.first, first.number <= lastSeen + 1 else { return (nil, id) }
            return (Array(state.recent[Int(lastSeen + 1 - first.number)...]), id)
        }
        let cancel: @Sendable () -> Void = { [weak self] in
            guard let self else { return }
            let removed = self.state.withLock { $0.listeners.removeValue(forKey: id) }
            removed?.finish()
        }
        continuation.onTermination = { _ in cancel() }
        return (missed, stream, cancel)
    }

    /// Whether anyone has listened since the process started (until then nothing is kept).
    public var isActive: Bool { state.withLock { $0.active } }

    /// How many listen now.
    public var listeners: Int { state.withLock { $0.listeners.count } }
}
