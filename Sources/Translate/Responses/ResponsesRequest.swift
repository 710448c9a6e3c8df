//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A client's Responses API request (`POST /v1/responses`): the body as sent, plus a validated
/// view of what the sidecar relies on.
///
/// A provider that speaks Responses natively gets ``body`` with its model name; every other
/// provider gets the request translated to the chat model (``chatRequest(history:)``).
public struct ResponsesRequest: Sendable {
    /// The request object as received.
    public var body: JSONObject
    /// `nil` when the request names none (a stored prompt names it): only a provider that speaks
    /// Responses can serve such a request.
    public var model: String?
    /// The input items, a string `input` made one user message.
    public var input: [JSONObject]
    public var instructions: String?
    public var stream: Bool
    /// Whether the response is kept for `previous_response_id` and `GET` (OpenAI's default: yes).
    public var store: Bool
    public var background: Bool
    public var previousResponseID: String?
    public var maxOutputTokens: Int?
    /// `metadata.task_type`: the sidecar routes `auto` by it, like the `X-Task-Type` header.
    public var taskType: String?

    /// The longest `previous_response_id` accepted (256 bytes of printable ASCII).
    public static let maximumIDBytes = 256
    /// OpenAI's limits on `metadata`: 16 pairs, keys up to 64 characters, values up to 512.
    public static let maximumMetadataPairs = 16

    /// Parses and validates a request body.
    /// - Throws: ``TranslationError`` (`invalid_request`) naming the field at fault.
    public init(parsing bytes: some Collection<UInt8>, maximumDepth: Int = JSONValue.defaultMaximumDepth) throws(TranslationError) {
        let object = try JSONObject(requestBody: bytes, maximumDepth: maximumDepth)
        try self.init(object: object)
    }

    /// Validates an already parsed request object. See ``init(parsing:maximumDepth:)``.
    public init(object: JSONObject) throws(TranslationError) {
        let reader = FieldReader(object: object)
        self.body = object
        self.model = try reader.optionalString("model")
        self.instructions = try reader.optionalString("instructions")
        self.stream = try reader.optionalBool("stream") ?? false
        self.store = try reader.optionalBool("store") ?? true
        self.background = try reader.optionalBool("background") ?? false
        self.maxOutputTokens = try reader.optionalCount("max_output_tokens", from: 1, to: ChatRequest.maximumOutputTokens)
        self.previousResponseID = try Self.responseID(reader)
        self.taskType = try Self.metadata(reader)
        self.input = try Self.input(reader)
        _ = try reader.optionalArray("tools")
    }

    private static func responseID(_ reader: FieldReader) throws(TranslationError) -> String? {
        guard let id = try reader.optionalString("previous_response_id") else { return nil }
        guard !id.isEmpty, id.utf8.count <= Self.maximumIDBytes, id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalid(
                "'previous_response_id' must be 1 to \(Self.maximumIDBytes) printable ASCII characters.",
                param: "previous_response_id"
            )
        }
        return id
    }

    /// Checks `metadata` against OpenAI's limits; returns its `task_type`.
    private static func metadata(_ reader: FieldReader) throws(TranslationError) -> String? {
        guard let metadata = try reader.optionalObject("metadata") else { return nil }
        guard metadata.object.count <= Self.maximumMetadataPairs else {
            throw .invalid("'metadata' holds at most \(Self.maximumMetadataPairs) pairs.", param: "metadata")
        }
        for member in metadata.object {
            guard member.key.count <= 64, let text = member.value.stringValue, text.count <= 512 else {
                throw .invalid(
                    "Each 'metadata' key must be at most 64 characters and each value a string of at most 512.",
                    param: metadata.param(member.key)
                )
            }
        }
        return try metadata.optionalString("task_type")
    }

    private static func input(_ reader: FieldReader) throws(TranslationError) -> [JSONObject] {
        switch reader.optionalValue("input") {
        case nil, .null?:
            return []
        case .string(let text)?:
            return [["type": "message", "role": "user", "content": .string(text)]]
        case .array(let items)?:
            var objects: [JSONObject] = []
            for (index, item) in items.enumerated() {
                guard case .object(let object) = item else {
                    throw .invalid("'input[\(index)]' must be an object, not \(item.typeName).", param: "input[\(index)]")
                }
                objects.append(object)
            }
            return objects
        case let value?:
            throw .invalid("'input' must be a string or an array of items, not \(value.typeName).", param: "input")
        }
    }
}
