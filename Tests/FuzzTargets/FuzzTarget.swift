//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One fuzzed entry point: what it does with arbitrary bytes.
///
/// The libFuzzer binary (Fuzz/Package.swift, run by `scripts/fuzz.sh`) calls ``run(_:)`` with every
/// generated input; `FuzzRegressionTests` replays the inputs committed under
/// `Tests/FuzzRegressions/<target>/` through the same function in the plain test run. An input
/// passes when ``run(_:)`` returns: a rejected input is an answer, a trap (crash, failed
/// precondition, stack overflow) is a defect.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// `JSONValue.parse`, and that what it accepts serializes to a document that parses back equal.
    case json
    /// `SSEParser`, and that any split of the input into two chunks yields the same events.
    case sse
    /// The YAML reader and the configuration decoding on top of it (what `check-config` runs).
    case yaml
    /// Each dialect's answer, error, embeddings and stream decoders, and its request encoder; the
    /// first byte picks the dialect (OpenAI, DeepSeek, DashScope compatible, generic, Anthropic,
    /// Gemini, DashScope native), the second the part.
    case dialect
    /// Raw bytes through SwiftNIO's HTTP/1.1 decoder into the sidecar's router.
    case http
    /// A Responses request translated to the chat model, and chat chunks written as Responses events.
    case responses
    /// The Messages ingress: a request body parsed, translated for every dialect and encoded
    /// (and passed through for Anthropic), and the same bytes read as an OpenAI event stream
    /// written as Messages events.
    case messages
    /// Replies from the fleet's store through the RESP2 decoder, whole and split in two at a point
    /// the first byte picks: the same replies (or the same refusal) either way.
    case resp

    /// Runs the target on one input.
    public func run(_ input: [UInt8]) {
        switch self {
        case .json: Self.json(input)
        case .sse: Self.sse(input)
        case .yaml: Self.yaml(input)
        case .dialect: Self.dialect(input)
        case .http: Self.http(input)
        case .responses: Self.responses(input)
        case .messages: Self.messages(input)
        case .resp: Self.resp(input)
        }
    }
}
