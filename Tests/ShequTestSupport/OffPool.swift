import Foundation

/// Runs blocking work (a child process, a synchronous benchmark, seeding) on a Dispatch thread, not on one of Swift
/// concurrency's few cooperative threads: on a 2-core machine two blocked tests would leave none for the HTTP servers
/// other tests are talking to.
public func offPool<T: Sendable>(on queue: DispatchQueue = .global(), _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        queue.async {
            continuation.resume(with: Result { try body() })
        }
    }
}

/// Runs CPU-bound work (a simulation, a property test) off the cooperative pool, one body at a time: parameterized
/// tests would otherwise take both of a 2-core machine's cooperative threads for a minute, starving the suites whose
/// HTTP servers and federations wait on them, or, sent to `offPool` all at once, oversubscribe the cores.
public func offPoolOneAtATime<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await offPool(on: cpuBoundQueue, body)
}

private let cpuBoundQueue = DispatchQueue(label: "shequ.tests.cpu-bound")
