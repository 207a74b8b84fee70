// swift-tools-version: 6.0
import PackageDescription

// Hermes is built for Linux: it calls Glibc (flock, nanosleep, exit, write) by name, and its
// tests run on network namespaces and systemd. No other platform is declared or claimed.
let package = Package(
    name: "Hermes",
    products: [
        .executable(name: "hermes-measure", targets: ["hermes-measure"]),
        .executable(name: "hermes-store", targets: ["hermes-store"]),
        .executable(name: "hermes-export", targets: ["hermes-export"]),
        .executable(name: "hermes-alert", targets: ["hermes-alert"]),
        .executable(name: "hermes-target", targets: ["hermes-target"]),
        .executable(name: "hermes-report", targets: ["hermes-report"]),
        .library(name: "HermesCore", targets: ["HermesCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        .target(name: "HermesCore"),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CSnappy",
            pkgConfig: "snappy",
            providers: [.apt(["libsnappy-dev"])]
        ),
        .target(name: "HermesHTTP", dependencies: ["CCurl", "HermesCore"]),
        .target(name: "HermesStore", dependencies: ["HermesCore", "CSQLite"]),
        .target(name: "HermesExport", dependencies: ["HermesCore", "HermesHTTP", "CZlib", "CSnappy"]),
        .target(name: "HermesAlert", dependencies: ["HermesCore", "HermesHTTP"]),
        .target(name: "HermesTarget", dependencies: ["HermesCore"]),
        .target(name: "HermesReport", dependencies: ["HermesCore", "HermesStore"]),
        .target(name: "HermesMeasure", dependencies: ["HermesCore", "HermesHTTP"]),
        .target(
            name: "HermesCLI",
            dependencies: [
                "HermesCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "hermes-measure",
            dependencies: [
                "HermesMeasure", "HermesCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "hermes-store",
            dependencies: [
                "HermesStore", "HermesCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "hermes-export",
            dependencies: [
                "HermesExport", "HermesCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "hermes-alert",
            dependencies: [
                "HermesAlert", "HermesCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "hermes-target",
            dependencies: [
                "HermesTarget", "HermesCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "hermes-report",
            dependencies: [
                "HermesReport", "HermesCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "hermes-bench",
            dependencies: [
                "HermesStore", "HermesCore", "HermesExport", "HermesCLI", "HermesTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/hermes-bench"),
        // The loopback HTTP server the HTTP, alert and end-to-end tests share.
        .target(name: "HermesTestSupport", path: "Tests/HermesTestSupport"),
        .testTarget(name: "HermesCoreTests", dependencies: ["HermesCore"]),
        .testTarget(
            name: "HermesCLITests",
            dependencies: ["HermesCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .testTarget(name: "HermesHTTPTests", dependencies: ["HermesHTTP", "CCurl", "HermesTestSupport"]),
        .testTarget(name: "HermesStoreTests", dependencies: ["HermesStore", "CSQLite", "HermesTestSupport"]),
        .testTarget(
            name: "HermesExportTests", dependencies: ["HermesExport", "HermesHTTP", "CZlib", "HermesTestSupport"]),
        .testTarget(name: "HermesAlertTests", dependencies: ["HermesAlert", "HermesHTTP", "HermesTestSupport"]),
        .testTarget(name: "HermesReportTests", dependencies: ["HermesReport"]),
        .testTarget(name: "HermesTargetTests", dependencies: ["HermesTarget", "HermesHTTP", "CZlib"]),
        .testTarget(
            name: "HermesMeasureTests",
            dependencies: ["HermesMeasure", "HermesTarget", "HermesHTTP", "HermesTestSupport"]),
        // The systemd units, sysusers.d and tmpfiles.d files, checked with systemd's own tools.
        .testTarget(name: "OperationsTests", dependencies: ["HermesTestSupport"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "HermesCore", "HermesExport", "HermesTarget", "HermesTestSupport", "hermes-measure", "hermes-store",
                "hermes-export", "hermes-alert", "hermes-target", "hermes-report",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
