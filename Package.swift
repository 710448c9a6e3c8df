// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "llm-sidecar",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "llm-sidecar", targets: ["SidecarCLI"]),
        .library(name: "Translate", targets: ["Translate"]),
        // What each fuzz target does with its input: called by the libFuzzer binary and by the tests
        // that replay the committed regression inputs (Tests/FuzzRegressions).
        .library(name: "FuzzTargets", targets: ["FuzzTargets"]),
    ],
    // Exact versions, the packages these depend on included, so that every build — tests, release,
    // the image — resolves the same code. Pinned here rather than in a committed Package.resolved:
    // a lock records commit ids, and a lock made from a package mirror holds the mirror's ids,
    // which a build from GitHub cannot find. Raise a version here, then run scripts/test.sh.
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", exact: "1.1.4"),
        .package(url: "https://github.com/apple/swift-atomics.git", exact: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections.git", exact: "1.6.0"),
        .package(url: "https://github.com/apple/swift-system.git", exact: "1.8.1"),
    ],
    targets: [
        .target(
            name: "CCurl",
            linkerSettings: [.linkedLibrary("curl")]
        ),
        .systemLibrary(name: "COpenSSL"),
        .systemLibrary(name: "CYAML"),
        .target(
            name: "Translate",
            swiftSettings: swiftSettings,
            // `rounded()` lowers to libm's round, which only Foundation would otherwise bring in.
            linkerSettings: [.linkedLibrary("m")]
        ),
        // The model: configuration and its YAML reading, money and prices, errors, usage reports.
        // Values and the rules about them; it reads files but serves nothing and starts no thread.
        // What the runtime uses is `package`, so the compiler keeps the two sides apart.
        .target(
            name: "SidecarModel",
            dependencies: [
                "COpenSSL",
                "CYAML",
                "Translate",
                // For `Logger.Level` in `log.level` only.
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            // `rounded()` lowers to libm's round, which only Foundation would otherwise bring in.
            linkerSettings: [.linkedLibrary("m")]
        ),
        // The runtime: everything that does I/O (server, upstream client, routing, quotas, usage).
        .target(
            name: "Sidecar",
            dependencies: [
                "CCurl",
                "COpenSSL",
                "SidecarModel",
                "Translate",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `llm-sidecar` binary: only the entry point; everything else is the `Sidecar` library.
        .executableTarget(
            name: "SidecarCLI",
            dependencies: [
                "Sidecar",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["Translate"],
            path: "Tests/TestSupport",
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FuzzTargets",
            dependencies: [
                "Sidecar",
                "SidecarModel",
                "Translate",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/FuzzTargets",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TranslateTests",
            dependencies: ["Translate", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SidecarTests",
            dependencies: [
                "FuzzTargets",
                "Sidecar",
                "SidecarModel",
                "Translate",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
