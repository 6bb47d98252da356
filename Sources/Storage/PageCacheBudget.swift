/// How much memory SQLite's page caches may hold, all of a database's connections together: half for the one writer,
/// the other half shared by the pool's readers. A cache fills as the database grows past it and then stays at its size,
/// so the budget is where a node's memory levels off (a city applying every street's changes grew 11 MiB a minute
/// with 64 MiB per connection, six connections, and stayed flat at an 8 MiB cache: docs/benchmarks.md, City peak).
public struct PageCacheBudget: Sendable, Hashable {
    public var kibibytes: Int

    /// 32 MiB: the apply path ran as fast at an 8 MiB writer cache as at 64 MiB (`bench apply`), and a reader that
    /// misses its cache reads the page from the operating system's file cache.
    public static let standard = PageCacheBudget(mebibytes: 32)
    /// The range a node's configuration may set (`storage.pageCacheMiB`).
    public static let mebibyteRange = 4...16_384

    public init(mebibytes: Int) { kibibytes = mebibytes * 1_024 }

    /// The budget in whole MiB, as the configuration states it.
    public var mebibytes: Int { kibibytes / 1_024 }

    /// The writer's cache, in KiB.
    public var writerKibibytes: Int { kibibytes / 2 }

    /// Each reader's cache, in KiB, when the pool opens at most `readers` of them (never under 1 MiB).
    public func readerKibibytes(readers: Int) -> Int { max(1_024, kibibytes / 2 / max(readers, 1)) }
}
