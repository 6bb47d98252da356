import Foundation

/// Runs blocking work (a child process, a synchronous benchmark, seeding) on a Dispatch thread, not on one of Swift
/// concurrency's few cooperative threads: on a 2-core machine two blocked tests would leave none for the HTTP servers
/// other tests are talking to.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}
