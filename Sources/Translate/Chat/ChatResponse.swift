//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A complete (non-streaming) answer in OpenAI `chat.completion` form, with the facts the
/// sidecar bills and logs read out of it.
public struct ChatResponse: Sendable {
    /// The `chat.completion` object returned to the client.
    public var body: JSONObject
    /// The provider's exact bytes when ``body`` is them unchanged; lets the sidecar skip re-encoding.
    public var originalBytes: [UInt8]?
    public var usage: Usage?
    /// The `model` the provider reports having used.
    public var responseModel: String?
    public var responseID: String?
    /// `finish_reason` of each choice, in order.
    public var finishReasons: [String]
    /// The first choice's message text (what the original service API returns as `content`).
    public var text: String?

    /// Reads the summary fields from an OpenAI-shaped `chat.completion` object.
    public init(openAI body: JSONObject, originalBytes: [UInt8]? = nil) {
        self.body = body
        self.originalBytes = originalBytes
        let json = JSONValue.object(body)
        self.usage = Usage(openAI: json["usage"])
        self.responseModel = json["model"]?.stringValue
        self.responseID = json["id"]?.stringValue
        let choices = json["choices"]?.arrayValue ?? []
        self.finishReasons = choices.compactMap { $0["finish_reason"]?.stringValue }
        self.text = choices.first?["message"]?["content"]?.stringValue
    }

    /// The bytes to send to the client.
    public func serialized() -> [UInt8] {
        self.originalBytes ?? self.body.serialized()
    }
}
