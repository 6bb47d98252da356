// swift-tools-version: 6.1
import PackageDescription

/// Module boundaries follow I/O capability (see docs/architecture.md):
/// Replication, Governance, Gossip and Federation are pure; Storage owns SQLite; Wire owns bytes; HTTPAPI owns HTTP;
/// GossipNIO owns TCP; Node wires them into services; Demo launches and seeds a local federation; Benchmarks measures
/// it beside its baselines; `shequ` is the command line.
let package = Package(
    name: "shequ",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "shequ", targets: ["shequ"]),
        .executable(name: "shequ-fuzz", targets: ["shequ-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML"]),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
    ],
    targets: [
        // MARK: - System libraries
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),

        // Photos: stb_image (JPEG/PNG decoding, resizing, JPEG writing; Debian's libstb) and libwebp (WebP decoding).
        .systemLibrary(
            name: "CImage",
            pkgConfig: "stb",
            providers: [.apt(["libstb-dev", "libwebp-dev"])]
        ),

        .systemLibrary(
            name: "CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),

        // MARK: - Pure modules (no I/O, no wall clock)
        .target(name: "Replication"),
        .target(
            name: "Governance",
            dependencies: ["Replication", .product(name: "Crypto", package: "swift-crypto")]
        ),

        .target(
            name: "Gossip",
            dependencies: [
                "Replication",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // Replication as a state machine over a narrow store protocol, with no I/O: GossipNIO carries out its
        // directives over TCP, Simulation over a simulated network.
        .target(
            name: "Federation",
            dependencies: [
                "Gossip", "Replication",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),

        // Image bytes in, image bytes out: sniffing, limits, metadata stripping, thumbnails (no files, no network).
        .target(name: "Photos", dependencies: ["CImage", .product(name: "Crypto", package: "swift-crypto")]),

        // MARK: - I/O modules
        .target(
            name: "Storage",
            dependencies: [
                "Replication", "Governance", "Federation", "Photos",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "Wire",
            dependencies: [
                "CLZ4", "Replication",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "GossipNIO",
            dependencies: [
                "Federation", "Gossip", "Replication", "Storage", "Wire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "HTTPAPI",
            dependencies: [
                "Replication", "Governance", "Storage", "CQRencode", "Photos",
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            // The residents' app's Mustache templates and its stylesheet and script.
            resources: [.copy("App/Templates"), .copy("App/Static")]
        ),
        // Configuration → services: a node's store, HTTP server and replication service in one ServiceGroup.
        .target(
            name: "Node",
            dependencies: [
                "Replication", "Governance", "Storage", "HTTPAPI", "Federation", "Gossip", "GossipNIO", "Photos",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // A local federation of `shequ serve` processes (shequ cluster, make demo, the benches and the tests), demo
        // seeding and the demo's four weeks of history.
        .target(
            name: "Demo",
            dependencies: ["Replication", "Governance", "Storage", "HTTPAPI", "Gossip", "Node"]
        ),
        // Every bench of `shequ bench`, each beside its baseline (plain SQLite, the lz4 tool, a Serf cluster, wrk).
        .target(
            name: "Benchmarks",
            dependencies: [
                "Replication", "Governance", "Storage", "Wire", "Gossip", "GossipNIO", "Demo", "Node", "HTTPAPI", "CImage", "EventStream",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Many nodes in one process over a simulated network and clock, from one seed (shequ simulate).
        .target(
            name: "Simulation",
            dependencies: [
                "Federation", "Gossip", "Governance", "Replication", "Storage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // MARK: - Fuzzing (make fuzz)
        .target(
            name: "Fuzzing",
            dependencies: ["Wire", "Gossip", "Replication", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .executableTarget(name: "shequ-fuzz", dependencies: ["Fuzzing"]),
        .executableTarget(
            name: "shequ",
            dependencies: [
                "Node", "Demo", "Benchmarks", "Simulation", "Storage", "Governance", "Replication", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // A Server-Sent Events client: the tests' and the notification bench's.
        .target(
            name: "EventStream",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // MARK: - Tests
        .target(
            name: "ShequTestSupport",
            dependencies: [
                "Replication", "CImage", "EventStream",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/ShequTestSupport"
        ),
        .testTarget(name: "ReplicationTests", dependencies: ["Replication", "ShequTestSupport"]),
        .testTarget(name: "GovernanceTests", dependencies: ["Governance", "Replication"]),
        .testTarget(name: "PhotosTests", dependencies: ["Photos", "ShequTestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Governance", "Replication", "ShequTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
                    resources: [.copy("Fixtures")]),
        .testTarget(
            name: "WireTests",
            dependencies: [
                "Wire", "Replication", "Fuzzing",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "GossipTests",
            dependencies: ["Gossip", "Replication", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "FederationTests",
            dependencies: ["Federation", "Gossip", "Replication", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "Gossip", "Replication", "ShequTestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "HTTPAPITests",
            dependencies: [
                "HTTPAPI", "Storage", "Governance", "Replication", "ShequTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "ShequCLITests",
            dependencies: [
                "shequ", "Node", "Demo", "Benchmarks", "HTTPAPI", "Gossip", "GossipNIO", "Governance", "Storage", "Replication", "Wire",
                "ShequTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
