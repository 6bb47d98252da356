import Foundation
import FoundationNetworking
import Governance
import Logging
import Metrics
import Photos
import Replication
import ServiceLifecycle
import Storage
import Synchronization

/// Photos follow the posts and tickets that name them, in a lane of their own: when this node applies a post or a
/// ticket naming photos it lacks, it fetches them over HTTP from the street that owns the committee (a connection of
/// their own, so a 5 MB photo never holds a change back on the gossip link), checks that the bytes hash to the name
/// (content addressing: nothing needs trusting), and keeps them. So a district holds the photo of a ticket escalated to
/// it even when the street is cut off afterwards.
///
/// Failures are retried with doubling waits (1 s up to 60 s, 12 tries); the queue is bounded (10,000 photos, the
/// oldest dropped first, to be found again by the next start's scan of recent posts and tickets).
public final class PhotoReplicator: Service, Sendable {
    let store: Store
    let photos: PhotoStore
    let local: NodeID
    /// The node that owns a committee and its HTTP base address (from the current topology).
    let owner: @Sendable (String) -> (node: NodeID, http: String)?
    let logger: Logger
    let state = Mutex(State())
    static let fetched = Counter(label: "shequ_photos_replicated_total")
    static let failed = Counter(label: "shequ_photo_fetch_failures_total")

    struct State {
        var queued: [Job] = []
        var known: Set<String> = []
    }

    struct Job: Sendable {
        var photo: String
        var committee: String
        var attempts = 0
        var notBefore = ContinuousClock.now
    }

    static let maxQueued = 10_000
    static let maxAttempts = 12
    static let concurrency = 2

    public init(store: Store, photos: PhotoStore, local: NodeID, owner: @escaping @Sendable (String) -> (node: NodeID, http: String)?, logger: Logger) {
        self.store = store
        self.photos = photos
        self.local = local
        self.owner = owner
        self.logger = logger
    }

    public func run() async throws {
        let (_, events, cancel) = store.feed.subscribe(after: nil)
        defer { cancel() }
        try? await scanRecent()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [self] in
                    for await event in events where event.kind == .post || event.kind == .ticket {
                        await self.consider(entity: event.entity)
                    }
                }
                for _ in 0..<Self.concurrency {
                    group.addTask { [self] in await self.work() }
                }
                await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            cancel()
        }
    }

    /// Posts and tickets written before this start whose photos are missing (a restart, a queue that overflowed).
    func scanRecent() async throws {
        let ids = try await store.read { view in
            try view.records(where: "kind IN ('post', 'ticket')", [], limit: 5_000).map(\.id)
        }
        for id in ids { await consider(entity: id) }
    }

    /// Queues the photos an entity names that this node lacks (the owner itself has them all).
    func consider(entity: String) async {
        guard let record = try? await store.read({ try $0.record(entity) }), let committee = record.scope.committee,
              let names = record["photos"].list?.compactMap(\.string) else { return }
        guard let source = owner(committee), source.node != local else { return }
        let missing = names.filter { PhotoStore.isID($0) && photos.find($0) == nil }
        guard !missing.isEmpty else { return }
        state.withLock { state in
            for photo in missing where state.known.insert(photo).inserted {
                state.queued.append(Job(photo: photo, committee: committee))
            }
            if state.queued.count > Self.maxQueued {
                for dropped in state.queued.prefix(state.queued.count - Self.maxQueued) { state.known.remove(dropped.photo) }
                state.queued.removeFirst(state.queued.count - Self.maxQueued)
            }
        }
    }

    /// Takes the next job that is due, fetches it, and puts it back with a longer wait when it fails.
    func work() async {
        while !Task.isCancelled {
            let now = ContinuousClock.now
            let job = state.withLock { state -> Job? in
                guard let index = state.queued.firstIndex(where: { $0.notBefore <= now }) else { return nil }
                return state.queued.remove(at: index)
            }
            guard var job else {
                try? await Task.sleep(for: .milliseconds(100))
                continue
            }
            if await fetch(job) {
                Self.fetched.increment()
                _ = state.withLock { $0.known.remove(job.photo) }
                continue
            }
            Self.failed.increment()
            job.attempts += 1
            guard job.attempts < Self.maxAttempts else {
                logger.warning("photo not fetched", metadata: ["photo": "\(job.photo.prefix(12))", "committee": "\(job.committee)"])
                _ = state.withLock { $0.known.remove(job.photo) }
                continue
            }
            job.notBefore = ContinuousClock.now + .seconds(min(60, 1 << min(job.attempts - 1, 6)))
            let retry = job
            state.withLock { $0.queued.append(retry) }
        }
    }

    /// One photo from its owner, with its thumbnail: checked without decoding (`PreparedPhoto(fetched:)`: the bytes hash
    /// to the name, are a photo within the limits with nothing left to strip), so that a replica spends little CPU on it.
    func fetch(_ job: Job) async -> Bool {
        guard photos.find(job.photo) == nil else { return true }
        guard let base = owner(job.committee)?.http, let photoURL = URL(string: "\(Self.url(base))/v1/photos/\(job.photo)"),
              let photo = await get(photoURL), let thumbnail = await get(photoURL.appendingPathComponent("thumbnail")) else { return false }
        let photos = self.photos, id = job.photo
        do {
            try await PhotoWorker.shared.run {
                try photos.save(try PreparedPhoto(fetched: Array(photo), thumbnail: Array(thumbnail), id: id))
            }
            return true
        } catch {
            logger.warning("a fetched photo was refused", metadata: ["photo": "\(job.photo.prefix(12))", "error": "\(error)"])
            return false
        }
    }

    private func get(_ url: URL) async -> Data? {
        var request = URLRequest(url: url)
        request.timeoutInterval = 60
        guard let (data, response) = try? await URLSession.shared.data(for: request), (response as? HTTPURLResponse)?.statusCode == 200,
              data.count <= PreparedPhoto.maxBytes else { return nil }
        return data
    }

    /// A topology's `host:port` as a URL base.
    static func url(_ address: String) -> String { address.hasPrefix("http") ? address : "http://\(address)" }

    /// Photos waiting to be fetched (for tests and /metrics).
    public var backlog: Int { state.withLock { $0.queued.count } }
}
