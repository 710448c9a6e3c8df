//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

/// The original service API's additions to OpenAI answers (`/api/v1/*`), so clients written
/// for it (`result["content"]`, `result["success"]`) keep working.
enum ServiceAPI {
    /// Adds `content`, `provider`, `success: true` and `cost`/`currency` to a `chat.completion`.
    static func augment(_ body: JSONObject, text: String?, provider: String, cost: Billing.Cost?) -> JSONObject {
        var body = body
        body["content"] = .optional(text)
        body["provider"] = .string(provider)
        body["success"] = true
        body["cost"] = cost?.amount.json ?? .null
        body["currency"] = .optional(cost?.currency)
        return body
    }
}
