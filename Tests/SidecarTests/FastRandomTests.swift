//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import SidecarModel

/// The generator behind request and response ids: exact widths, no repeats, every bit used.
@Suite struct FastRandomTests {
    @Test func identifiersHaveExactlyTheDigitsAsked() {
        for digits in [1, 8, 16, 24, 32] {
            let identifier = FastRandom.identifier("req_", digits: digits)
            #expect(identifier.hasPrefix("req_"))
            #expect(identifier.utf8.count == 4 + digits)
            #expect(identifier.dropFirst(4).allSatisfy { "0123456789abcdef".contains($0) })
        }
    }

    @Test func identifiersDoNotRepeatAcrossThreads() async {
        let batches = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<4 { group.addTask { (0..<5_000).map { _ in FastRandom.identifier("resp_", digits: 24) } } }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(Set(batches).count == 20_000)
    }

    /// Each of the 64 bits is set in about half of 20,000 draws (a stuck or biased bit is far
    /// outside 45–55 %).
    @Test func everyBitIsSetAboutHalfTheTime() {
        var generator = FastRandom()
        var counts = [Int](repeating: 0, count: 64)
        for _ in 0..<20_000 {
            let value = generator.next()
            for bit in 0..<64 where value & (1 << bit) != 0 { counts[bit] += 1 }
        }
        #expect(counts.allSatisfy { (9_000...11_000).contains($0) })
    }
}
