//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// What a client may send as a model name or a task type, checked where the request enters,
/// before the value reaches a route, a header (`X-Sidecar-Route`), a metric label, a log line
/// or a statistics table.
///
/// A name is at most ``maximumBytes`` UTF-8 bytes (256 for a model, 128 for a task type) of
/// printable characters: letters and digits of any script, punctuation and symbols — the
/// `/ : . @ - _ + ~` that providers' names use (`ft:gpt-4o-mini:org::id`,
/// `meta-llama/Llama-3.1-8B-Instruct`, `claude-3-5-sonnet@20240620`,
/// `anthropic.claude-3-5-sonnet-20240620-v1:0`). Refused: control characters (CR, LF, NUL, …),
/// format characters (bidirectional overrides, zero-width joiners) and separators (spaces,
/// U+2028, U+2029). The client gets 400 `invalid_request` with `param` naming the field; the
/// value itself is not echoed.
struct NamePolicy: Sendable {
    /// The field as the client sent it (`model`, `task_type`, `X-Task-Type`): the 400's `param`.
    let field: String
    let maximumBytes: Int

    static let model = NamePolicy(field: "model", maximumBytes: 256)
    static let taskType = NamePolicy(field: "task_type", maximumBytes: 128)
    static let taskTypeHeader = NamePolicy(field: "X-Task-Type", maximumBytes: 128)
    static let metadataTaskType = NamePolicy(field: "metadata.task_type", maximumBytes: 128)

    /// `value` when it is absent or allowed; 400 otherwise.
    @discardableResult
    func checked(_ value: String?) throws(ProxyError) -> String? {
        guard let value else { return nil }
        guard value.utf8.count <= self.maximumBytes else {
            throw ProxyError(.invalidRequest, "'\(self.field)' is longer than \(self.maximumBytes) bytes.", param: self.field)
        }
        guard value.unicodeScalars.allSatisfy(Self.isAllowed) else {
            throw ProxyError(
                .invalidRequest,
                "'\(self.field)' holds a control, format or space character; only printable characters are allowed.",
                param: self.field
            )
        }
        return value
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value > 0x20, scalar.value < 0x7F { return true }  // visible ASCII, without a table look-up
        return switch scalar.properties.generalCategory {
        case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .surrogate: false
        default: true
        }
    }
}
