import Testing

/// The suites that start federations of real processes (or a bench or chaos run of them), one at a time: on a 2-core
/// machine several at once starve each other and the in-process suites of CPU until their timeouts fire. The
/// in-process suites still run beside whichever of these is running.
@Suite(.serialized) enum MultiProcess {}
