import Synchronization

/// The frames read from one connection that the replication driver has not taken yet. The connection's reader puts
/// them in as they arrive; its consumer takes all that wait at once, so a node that fell behind (a city at a city-wide
/// peak) handles a backlog as one batch — one trip through the driver's queue and, for eager pushes, one transaction —
/// instead of a trip and a transaction per frame. At most `capacity` frames wait: past that the reader waits too, so
/// the socket is no longer read and TCP pushes back on the peer (nothing is dropped, nothing grows without bound).
final class FrameInbox: Sendable {
    private struct State {
        var frames: [[UInt8]] = []
        var finished = false
        var consumer: CheckedContinuation<Void, Never>?
        var producer: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Adds a frame, waiting while `capacity` wait already. False once the inbox is finished (the frame is not kept).
    func put(_ frame: [UInt8]) async -> Bool {
        while true {
            enum Outcome { case stored(wake: CheckedContinuation<Void, Never>?), finished, full }
            let outcome = state.withLock { s -> Outcome in
                if s.finished { return .finished }
                guard s.frames.count < capacity else { return .full }
                s.frames.append(frame)
                defer { s.consumer = nil }
                return .stored(wake: s.consumer)
            }
            switch outcome {
            case .stored(let wake):
                wake?.resume()
                return true
            case .finished:
                return false
            case .full:
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { s -> Bool in
                        if s.finished || s.frames.count < capacity { return true }
                        s.producer = c
                        return false
                    }
                    if ready { c.resume() }
                }
            }
        }
    }

    /// Every frame waiting, oldest first; waits while none does. Nil once the inbox is finished and empty.
    func takeAll() async -> [[UInt8]]? {
        while true {
            let (frames, finished, wake) = state.withLock { s -> ([[UInt8]], Bool, CheckedContinuation<Void, Never>?) in
                let frames = s.frames
                s.frames = []
                defer { if !frames.isEmpty { s.producer = nil } }
                return (frames, s.finished, frames.isEmpty ? nil : s.producer)
            }
            wake?.resume()
            if !frames.isEmpty { return frames }
            if finished { return nil }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { s -> Bool in
                    if s.finished || !s.frames.isEmpty { return true }
                    s.consumer = c
                    return false
                }
                if ready { c.resume() }
            }
        }
    }

    /// No more frames: the reader's stream ended, or the consumer stopped. Whoever waits is woken; frames already in
    /// are still taken.
    func finish() {
        let (consumer, producer) = state.withLock { s in
            s.finished = true
            defer { s.consumer = nil; s.producer = nil }
            return (s.consumer, s.producer)
        }
        consumer?.resume()
        producer?.resume()
    }
}
