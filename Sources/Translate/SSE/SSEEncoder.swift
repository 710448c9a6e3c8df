//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Frames payloads as server-sent events the way OpenAI does: `data: <payload>\n\n`, no `event:` line.
public enum SSEEncoder {
    /// Appends one `data:` event carrying `payload` (which must not contain a newline;
    /// compact JSON never does).
    public static func appendEvent(_ payload: some Sequence<UInt8>, to output: inout [UInt8]) {
        output.append(contentsOf: "data: ".utf8)
        output.append(contentsOf: payload)
        output.append(contentsOf: "\n\n".utf8)
    }

    /// The OpenAI end-of-stream event, `data: [DONE]\n\n`.
    public static let doneEvent: [UInt8] = Array("data: [DONE]\n\n".utf8)
}
