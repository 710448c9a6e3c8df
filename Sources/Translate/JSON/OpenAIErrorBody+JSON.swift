//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension OpenAIErrorBody {
    /// The `{"error": {...}}` document.
    public var json: JSONObject {
        [
            "error": [
                "message": .string(self.message),
                "type": .string(self.type),
                "param": .optional(self.param),
                "code": .optional(self.code),
            ]
        ]
    }
}
