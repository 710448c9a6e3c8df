//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Translate

extension FuzzTarget {
    /// A Responses request read and translated to the chat model; the input as a chat chunk
    /// written as Responses events, which must frame as server-sent events whose data is JSON
    /// numbered from 0 (a provider's chunk must not be able to break the client's stream).
    static func responses(_ input: [UInt8]) {
        if let request = try? ResponsesRequest(parsing: input) {
            _ = try? request.chatRequest(history: request.input)
        }
        guard let request = try? ResponsesRequest(parsing: Array(#"{"model":"m","input":"x","stream":true}"#.utf8)),
            case .object(let chunk)? = try? JSONValue.parse(input)
        else { return }
        var encoder = ResponsesStreamEncoder(builder: ResponseBuilder(id: "resp_fuzz", createdAt: 0, request: request))
        var output: [UInt8] = []
        encoder.encode(StreamChunk(object: chunk), into: &output)
        encoder.encode(StreamChunk(object: chunk), into: &output)
        encoder.finish(usage: Usage(openAI: chunk["usage"]), extraUsageFields: [:], into: &output)
        encoder.appendFailure(OpenAIErrorBody(message: "m", type: "t"), to: &output)
        var parser = SSEParser()
        guard let events = try? parser.feed(output) + parser.finish() else { preconditionFailure("unframeable Responses events") }
        for (number, event) in events.enumerated() {
            guard let data = try? JSONValue.parse(event.data), data["sequence_number"]?.intValue == number,
                data["type"]?.stringValue == event.event
            else { preconditionFailure("Responses event \(number) is not numbered JSON of its type") }
        }
    }
}
