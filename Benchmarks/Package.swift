// swift-tools-version:6.1
// Micro-benchmarks of the translation library, kept out of the root package so that the sidecar
// never depends on the benchmark tool. Run with `scripts/bench.sh --micro` (see README.md here).
import PackageDescription

/// A path dependency is known by its folder's name, which is wherever the repository was cloned.
let sidecar = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "llm-sidecar")

let package = Package(
    name: "llm-sidecar-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        // The malloc interposer counts allocations per operation; the default traits would also pull
        // in a runtime interposer that the local package mirror does not carry.
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "TranslateBenchmarks",
            dependencies: [
                .product(name: "Translate", package: sidecar),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/TranslateBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
