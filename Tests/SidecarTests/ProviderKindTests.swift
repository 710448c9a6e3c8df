//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// The provider-kind table holds what was once spread over switches and `== .demo` checks; these
/// pin each column to what those places did, so moving them into data changed no behaviour.
@Suite struct ProviderKindTests {
    @Test func everyKindHasARow() {
        for dialect in DialectKind.allCases {
            #expect(ProviderKind.table[dialect] != nil, "no row for \(dialect.rawValue)")
        }
    }

    @Test func priceVendorsAreThoseOfTheProviderSelfHostedServersHaveNone() {
        let vendors = Dictionary(uniqueKeysWithValues: DialectKind.allCases.map { ($0, $0.kind.priceVendor) })
        #expect(
            vendors == [
                .openAI: .openAI, .deepSeek: .deepSeek, .dashScope: .dashScope, .dashScopeNative: .dashScope,
                .anthropic: .anthropic, .gemini: .gemini, .openAICompatible: nil, .demo: .demo,
            ]
        )
    }

    @Test func onlyTheDemoIsBuiltInAndOnlyItAndSelfHostedServersNeedNoKey() {
        #expect(DialectKind.allCases.filter(\.kind.isBuiltIn) == [.demo])
        #expect(DialectKind.allCases.filter { !$0.kind.requiresKey } == [.openAICompatible, .demo])
    }

    @Test func kindSpecificOptionsNameTheKindsThatReadThem() {
        #expect(ProviderKind.kinds(reading: "stream_options") == [.openAI, .deepSeek, .dashScope, .openAICompatible])
        #expect(ProviderKind.kinds(reading: "word_delay") == [.demo])
        #expect(ProviderKind.kinds(reading: "default_max_tokens") == [.anthropic])
        #expect(ProviderKind.kinds(reading: "responses") == [.openAI, .openAICompatible])
        #expect(ProviderKind.kinds(reading: "base_url") == [])
        #expect(
            ProviderKind.kindSpecificOptions == [
                "stream_options", "word_delay", "anthropic_version", "anthropic_beta", "default_max_tokens", "api_version", "responses",
            ]
        )
    }

    @Test func eachKindIsSpokenByItsWireFormat() {
        func dialect(_ kind: DialectKind) -> any Dialect {
            DialectRegistry.dialect(
                for: ProviderConfiguration(
                    name: "p",
                    dialect: kind,
                    baseURL: "https://example.com",
                    keySources: [],
                    apiKeys: [],
                    headers: [],
                    connectTimeout: .seconds(1),
                    timeout: .seconds(1),
                    demoWordDelay: .zero
                )
            )
        }
        let quirks: [DialectKind: OpenAICompatibleDialect.Quirks] = [
            .openAI: .openAI, .deepSeek: .deepSeek, .dashScope: .dashScope, .openAICompatible: .generic, .demo: .openAI,
        ]
        for (kind, expected) in quirks {
            #expect((dialect(kind) as? OpenAICompatibleDialect)?.quirks == expected, "\(kind.rawValue)")
        }
        #expect(dialect(.anthropic) is AnthropicDialect)
        #expect(dialect(.gemini) is GeminiDialect)
        #expect(dialect(.dashScopeNative) is DashScopeNativeDialect)
    }
}
