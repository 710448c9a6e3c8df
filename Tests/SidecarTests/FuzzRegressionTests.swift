//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import FuzzTargets
import Testing

/// Replays every input committed under `Tests/FuzzRegressions/<target>/` through its fuzz target,
/// so the plain test run catches a regression without the sanitized fuzz build. The folders hold
/// hand-made adversarial inputs (which also seed `scripts/fuzz.sh`) and every input a fuzzer
/// crashed on; an input passes when the target returns instead of trapping.
struct FuzzRegressionTests {
    static let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appending(path: "FuzzRegressions")

    @Test(arguments: FuzzTarget.allCases)
    func committedInputsAreHandled(_ target: FuzzTarget) throws {
        let folder = Self.root.appending(path: target.rawValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(!names.isEmpty, "no inputs in \(folder.path)")
        for name in names {
            target.run(Array(try Data(contentsOf: folder.appending(path: name))))
        }
    }
}
