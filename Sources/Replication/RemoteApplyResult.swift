/// What happened to a batch of remote changes.
public struct RemoteApplyResult: Sendable, Hashable {
    public var applied = 0
    public var duplicates = 0
    /// Changes whose stamp was too far ahead of local time; not applied, to be counted and logged.
    public var refusedClock: [ChangeID] = []
    public init() {}
}
