//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

/// One upstream provider (`providers.<name>`): where it is, how it speaks, and its key.
package struct ProviderConfiguration: Sendable {
    package var name: String
    package var dialect: DialectKind
    /// The API base the provider documents, without a trailing slash; the dialect appends paths.
    package var baseURL: String
    /// Where the keys come from: environment variables and files, in configuration order.
    package var keySources: [KeySource]
    /// The keys read from ``keySources`` at load time (and again on reload), used in turn, one
    /// request after the other; empty when none is present or none is needed.
    package var apiKeys: [Secret]
    /// Extra headers sent with every request (e.g. `OpenAI-Organization`).
    package var headers: [HTTPHeader]
    /// Time allowed to establish the TCP/TLS connection (default 10 s).
    package var connectTimeout: Duration
    /// Time allowed for a whole exchange, streams included (default 10 min).
    package var timeout: Duration
    /// Overrides `resilience.timeouts.first_byte` for this provider.
    package var firstByteTimeout: Duration?
    /// Overrides `resilience.timeouts.idle` for this provider.
    package var idleTimeout: Duration?
    /// An explicit outbound proxy URL (`http://`, `socks5h://`); otherwise libcurl honours
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` from the environment.
    package var proxy: String?
    /// A PEM bundle of the certificate authorities to trust for this provider instead of the
    /// system's: a private endpoint's CA, or the CA of a TLS-inspecting corporate proxy.
    package var caFile: String?
    /// Overrides the dialect's default for sending `stream_options` (some old servers reject it).
    package var acceptsStreamOptions: Bool?
    /// For the built-in `demo` provider: the pause between streamed words (default 20 ms).
    package var demoWordDelay: Duration
    /// Whether a non-loopback `http://` base URL is accepted although keys would cross the
    /// network in clear text (default no).
    package var allowsHTTP = false
    /// Settings only some dialects read.
    package var dialectOptions = DialectOptions()
    /// `responses: native` or `translate`; `nil`: native for the `openai` dialect only.
    package var nativeResponses: Bool?
    /// Whether `/v1/responses` requests go to the provider as they are (with its model name)
    /// rather than translated through the chat model.
    package var speaksResponses: Bool { self.nativeResponses ?? (self.dialect == .openAI) }

    /// Whether requests can be sent: the configured key is present, or none is configured.
    /// (Validation makes sure providers that require a key configure one.)
    package var isUsable: Bool { !self.apiKeys.isEmpty || self.keySources.isEmpty }

    /// Why the provider cannot be used, for error messages and start-up warnings.
    package var unusableReason: String? {
        guard !self.isUsable else { return nil }
        return "provider '\(self.name)' has no API key: \(self.keySources.map(\.hint).joined(separator: ", or "))"
    }
}

/// The kind of provider (`providers.<name>.dialect`); what each kind means is its row of
/// ``ProviderKind/table``.
package enum DialectKind: String, Sendable, CaseIterable {
    case openAI = "openai"
    case deepSeek = "deepseek"
    case dashScope = "dashscope"
    case dashScopeNative = "dashscope-native"
    case anthropic
    case gemini
    case openAICompatible = "openai-compatible"
    case demo
}

/// Provider settings that only some dialects read.
package struct DialectOptions: Sendable, Hashable {
    /// Anthropic: the `anthropic-version` header (default 2023-06-01).
    package var anthropicVersion: String?
    /// Anthropic: `anthropic-beta` flags.
    package var anthropicBetas: [String] = []
    /// Anthropic: `max_tokens` when neither the request nor the model sets one (default 4096).
    package var defaultMaxTokens: Int?
    /// Gemini: the API version in the path (default v1beta).
    package var apiVersion: String?
}

/// Where a provider's key comes from. Keys are never written in `sidecar.yaml` itself.
package enum KeySource: Sendable, Hashable {
    case environment(String)
    case file(String)

    /// How to supply the key, for messages (names the variable or file, never the value).
    package var hint: String {
        switch self {
        case .environment(let name): "set the environment variable \(name)"
        case .file(let path): "put the key in the file \(path)"
        }
    }
}

/// A secret string whose descriptions never reveal it, so it cannot leak through logging.
package struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    package let value: String

    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }
}
