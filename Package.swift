// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Folio",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "Folio", targets: ["Folio"]),
        .executable(name: "folio", targets: ["folio"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // Debian's liblmdb-dev (0.9.24), found through pkg-config.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // A thin, safe Swift wrapper: environments, closure-scoped transactions, cursors.
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        // The embedded archive: articles, dotted version vectors, the versioned store, the change feed.
        .target(
            name: "Folio",
            dependencies: [
                "LMDB",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The admin CLI.
        .executableTarget(
            name: "folio",
            dependencies: [
                "Folio",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmark driver used by tools/bench-import (reads through Folio vs raw LMDB).
        .executableTarget(name: "folio-bench", dependencies: ["Folio", "LMDB", "CLMDB"], path: "Sources/folio-bench"),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB"]),
        .testTarget(name: "FolioTests", dependencies: ["Folio"]),
        .testTarget(name: "FolioCLITests", dependencies: ["folio", "Folio"]),
    ]
)
