import ArgumentParser

extension ClosedRange {
    /// A command-line option's value, checked against this range: outside it, the command fails naming the option and
    /// the range ("--nodes must be between 7 and 400").
    @discardableResult
    func check(_ value: Bound, option: String) throws -> Bound {
        guard contains(value) else { throw ValidationError("\(option) must be between \(Self.shown(lowerBound)) and \(Self.shown(upperBound))") }
        return value
    }

    /// A bound as the option is written: a whole number of seconds without its ".0".
    private static func shown(_ bound: Bound) -> String {
        if let number = bound as? Double, number.rounded() == number, abs(number) < 1e15 { return String(Int64(number)) }
        return "\(bound)"
    }
}
