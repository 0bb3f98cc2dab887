// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Folio",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "FolioModel", targets: ["FolioModel"]),
        .library(name: "FolioStore", targets: ["FolioStore"]),
        .library(name: "FolioImport", targets: ["FolioImport"]),
        .library(name: "FolioProtocol", targets: ["FolioProtocol"]),
        .library(name: "FolioSync", targets: ["FolioSync"]),
        .library(name: "FolioNode", targets: ["FolioNode"]),
        .library(name: "FolioClient", targets: ["FolioClient"]),
        .executable(name: "folio", targets: ["folio"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        // Debian's liblmdb-dev (0.9.24), found through pkg-config.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // zlib (zlib1g-dev), for reading gzip-compressed imports and checking deflated frames.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // A thin, safe Swift wrapper: environments, closure-scoped transactions, cursors.
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        // Values, no storage: articles, dots, version vectors and sets, causal contexts, the JSON
        // codec that keeps key order and number text, validation, the binary version codec.
        .target(
            name: "FolioModel",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        // The embedded archive in LMDB: records, the change feed, checkpoints, identity,
        // remembered writes, verify, backup.
        .target(name: "FolioStore", dependencies: ["FolioModel", "LMDB"]),
        // Reading files into a store: JSON Lines, scraped plain-text pages, line reading.
        .target(
            name: "FolioImport",
            dependencies: ["FolioModel", "FolioStore", "CZlib"]
        ),
        // Frames and messages of Folio's binary protocol (see Protocol/SPEC.md).
        .target(
            name: "FolioProtocol",
            dependencies: [
                "FolioModel",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CompressNIO", package: "compress-nio"),
                "CZlib",
            ]
        ),
        // How a connection is secured: TLS 1.3 contexts, a node's ephemeral certificate, the
        // channel binding that ties key proofs to the TLS session, and telling TLS from plaintext.
        .target(
            name: "FolioTransport",
            dependencies: [
                "FolioProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The replication algorithm (SPEC §8): pull and push, the node's answers to sync
        // requests, and live peer links.
        .target(
            name: "FolioSync",
            dependencies: [
                "FolioModel", "FolioStore", "FolioProtocol", "FolioClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The node: serves a store over the protocol, and replicates with peers.
        .target(
            name: "FolioNode",
            dependencies: [
                "FolioModel", "FolioStore", "FolioProtocol", "FolioClient", "FolioTransport", "FolioSync",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // A node's admin HTTP listener: health, readiness and Prometheus metrics.
        .target(
            name: "FolioAdmin",
            dependencies: [
                "FolioNode",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The client library programs use to talk to a node.
        .target(
            name: "FolioClient",
            dependencies: [
                "FolioModel", "FolioProtocol", "FolioTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        // The admin CLI.
        .executableTarget(
            name: "folio",
            dependencies: [
                "FolioModel", "FolioStore", "FolioImport", "FolioProtocol", "FolioNode", "FolioClient", "FolioTransport", "FolioSync", "FolioAdmin",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Benchmark driver used by tools/bench-* (store reads vs raw LMDB; load on a node).
        .executableTarget(
            name: "folio-bench",
            dependencies: ["FolioModel", "FolioStore", "FolioImport", "FolioSync", "LMDB", "CLMDB", "FolioClient", "FolioProtocol", .product(name: "NIOPosix", package: "swift-nio")],
            path: "Sources/folio-bench"
        ),
        // A small program using the client library (see README).
        .executableTarget(
            name: "folio-client-example",
            dependencies: ["FolioClient"],
            path: "Examples/folio-client-example"
        ),
        // libFuzzer's driver and corpus replay, shared by the fuzz targets.
        .target(name: "FuzzDriver"),
        // libFuzzer target for the frame decoder (tools/fuzz-frames); without FUZZING it
        // replays corpus files given as arguments.
        .executableTarget(
            name: "folio-fuzz-frames",
            dependencies: ["FolioProtocol", "FuzzDriver", .product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/folio-fuzz-frames"
        ),
        // libFuzzer target for APPLY/FETCHED payloads merged into a store (tools/fuzz-apply).
        .executableTarget(
            name: "folio-fuzz-apply",
            dependencies: ["FolioModel", "FolioStore", "FolioProtocol", "FuzzDriver", .product(name: "NIOCore", package: "swift-nio")],
            path: "Sources/folio-fuzz-apply"
        ),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB"]),
        // Helpers shared by the model, store and import tests (temporary stores, a test clock).
        .target(name: "FolioModelTestSupport", dependencies: ["FolioModel"], path: "Tests/FolioModelTestSupport"),
        .target(name: "FolioTestSupport", dependencies: ["FolioModel", "FolioStore", "FolioModelTestSupport"], path: "Tests/FolioTestSupport"),
        .testTarget(name: "FolioModelTests", dependencies: ["FolioModel", "FolioModelTestSupport"]),
        .testTarget(name: "FolioStoreTests", dependencies: ["FolioModel", "FolioStore", "LMDB", "FolioTestSupport"]),
        .testTarget(name: "FolioImportTests", dependencies: ["FolioModel", "FolioStore", "FolioImport", "FolioTestSupport"]),
        .testTarget(name: "FolioProtocolTests", dependencies: ["FolioProtocol", "FolioModel", .product(name: "NIOCore", package: "swift-nio"), .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "FolioNodeTests",
            dependencies: [
                "FolioNode", "FolioClient", "FolioProtocol", "FolioModel", "FolioStore", "FolioTransport", "FolioSync",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "FolioAdmin",
            ]
        ),
        .testTarget(name: "FolioCLITests", dependencies: ["folio", "FolioModel", "FolioStore"]),
    ]
)
