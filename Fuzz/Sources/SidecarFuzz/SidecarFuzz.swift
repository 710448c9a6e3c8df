//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CLibFuzzer
import FuzzTargets

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The target `SIDECAR_FUZZ_TARGET` names (json, sse, yaml, dialect, http, messages): one binary for all of
/// them, so the sanitized build links once.
let target: FuzzTarget = {
    let name = getenv("SIDECAR_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        fatalError("SIDECAR_FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return target
}()

/// Runs ``target`` on one input; libFuzzer calls it with every input it generates.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    target.run(start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? [])
    return 0
}

/// libFuzzer's driver, with libFuzzer's options as arguments. The executable's entry point (SwiftPM
/// names it `main` at link time) starts the driver itself; should the linker keep libFuzzer's own
/// `main` instead, that one calls ``fuzzOneInput(_:_:)`` the same way.
@main
enum SidecarFuzz {
    static func main() {
        _ = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
    }
}
