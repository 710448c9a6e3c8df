//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import SidecarModel
import Translate

extension ResponseContext {
    /// A new response id (`chatcmpl-` and 24 hexadecimal digits), the current time, and `model`.
    static func fresh(model: String) -> ResponseContext {
        let id = FastRandom.identifier("chatcmpl-", digits: 24)
        return ResponseContext(responseID: id, created: Int(Date().timeIntervalSince1970), model: model)
    }
}
