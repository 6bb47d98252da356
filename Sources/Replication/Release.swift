/// This build's release and the replication protocol versions it speaks (docs/operations.md, "Rolling upgrades").
public enum Release {
    /// The release, as `shequ --version`, `/healthz` and `shequ_build_info` report it.
    public static let version = "0.9.0"
    /// The newest wire version this build speaks: a link speaks the lower of its two ends' versions.
    public static let wireVersion = 2
    /// The oldest wire version this build still speaks: a peer that speaks only older ones is refused, so a city
    /// upgraded one node at a time keeps replicating as long as adjacent releases overlap.
    public static let minimumWireVersion = 1
}
