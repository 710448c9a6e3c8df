// swift-tools-version:6.1
// The libFuzzer binary, kept out of the root package so that the normal build never sees it.
// Built and run by `scripts/fuzz.sh` (with -sanitize=fuzzer,address); what each target does with
// its input is Tests/FuzzTargets in the root package, which the plain tests also replay.
import PackageDescription

/// A path dependency is known by its folder's name, which is wherever the repository was cloned.
let sidecar = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "llm-sidecar")

let package = Package(
    name: "llm-sidecar-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "CLibFuzzer"),
        .executableTarget(
            name: "SidecarFuzz",
            dependencies: ["CLibFuzzer", .product(name: "FuzzTargets", package: sidecar)]
        ),
    ]
)
