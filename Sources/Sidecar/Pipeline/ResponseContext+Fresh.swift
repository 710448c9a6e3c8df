//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import Translate

extension ResponseContext {
    /// A new response id (`chatcmpl-` and 24 hexadecimal digits), the current time, and `model`.
    static func fresh(model: String) -> ResponseContext {
        let id = "chatcmpl-" + String(UInt64.random(in: .min ... .max), radix: 16) + String(UInt32.random(in: .min ... .max), radix: 16)
        return ResponseContext(responseID: id, created: Int(Date().timeIntervalSince1970), model: model)
    }
}
