//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    ///
    /// (`trimmingCharacters(in:)` lives in full Foundation, which the sidecar does not load.)
    package var trimmed: SubSequence {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = self.firstIndex(where: { !isBlank($0) }), let last = self.lastIndex(where: { !isBlank($0) }) else {
            return self[self.endIndex..<self.endIndex]
        }
        return self[first...last]
    }
}
