//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One server-sent event, as dispatched by ``SSEParser``.
public struct SSEEvent: Sendable, Hashable {
    /// The `event:` field, if the event had one (Anthropic and DashScope name their events).
    public var event: String?
    /// The `data:` lines joined by `\n`, as raw UTF-8.
    public var data: [UInt8]
    /// The `id:` field, if present.
    public var id: String?

    public init(event: String? = nil, data: [UInt8], id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }

    public init(event: String? = nil, data: String, id: String? = nil) {
        self.init(event: event, data: Array(data.utf8), id: id)
    }

    /// Whether the data is the OpenAI end-of-stream marker `[DONE]`.
    public var isDoneMarker: Bool { self.data.elementsEqual("[DONE]".utf8) }

    /// The data as a string, for messages and tests.
    public var text: String { String(decoding: self.data, as: UTF8.self) }
}
