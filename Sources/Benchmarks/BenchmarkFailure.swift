/// Why a bench could not run or measure (a tool missing, a node that did not answer).
public struct BenchmarkFailure: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
