import ArgumentParser

extension ClosedRange {
    /// A command-line option's value, checked against this range: outside it, the command fails naming the option and
    /// the range ("--nodes must be between 7 and 400").
    @discardableResult
    func check(_ value: Bound, option: String) throws -> Bound {
        guard contains(value) else { throw ValidationError("\(option) must be between \(lowerBound) and \(upperBound)") }
        return value
    }
}
