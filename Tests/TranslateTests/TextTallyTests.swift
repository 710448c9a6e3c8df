//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

@Suite struct TextTallyTests {
    @Test func latinTextIsAboutFourCharactersPerToken() {
        #expect(TextTally("Hello, world").estimatedTokens == 3)
        #expect(TextTally("").estimatedTokens == 0)
    }

    @Test func cjkCharactersCountOneTokenEach() {
        let tally = TextTally("中文理解 ok")
        #expect(tally.cjkCharacters == 4)
        #expect(tally.otherCharacters == 3)
        #expect(tally.estimatedTokens == 5)
    }

    @Test func tallyIsAdditiveSoStreamsEstimateLikeWholeTexts() {
        let text = "The quick brown fox 跳过了 the lazy dog."
        var streamed = TextTally()
        for character in text { streamed.add(String(character)) }
        #expect(streamed == TextTally(text))
        #expect(streamed.estimatedTokens == TextTally(text).estimatedTokens)
    }

    @Test func promptEstimateFollowsOpenAIMessageOverhead() throws {
        let request = try chatRequest(#"{"model":"m","messages":[{"role":"system","content":"abcd"},{"role":"user","name":"u","content":"efgh"}]}"#)
        // 3 priming + 2 × 3 per message + 1 for the name + 1 + 1 text tokens.
        #expect(TokenEstimator.estimatePromptTokens(request) == 3 + 6 + 1 + 2)
    }
}
