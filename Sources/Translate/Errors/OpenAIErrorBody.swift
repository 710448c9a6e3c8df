//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The OpenAI error envelope, `{"error":{"message","type","param","code"}}`, which every
/// OpenAI SDK parses into its exception classes. All four keys are always present.
public struct OpenAIErrorBody: Sendable, Hashable {
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public init(message: String, type: String, param: String? = nil, code: String? = nil) {
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }
}
