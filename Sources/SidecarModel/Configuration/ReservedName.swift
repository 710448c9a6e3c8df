//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Names with a meaning of their own, which configured models and clients may not take.
package enum ReservedName {
    /// The model that routes by task type: `auto`, or `auto:<task>` (see `routes:`).
    package static let autoModel = "auto"
    /// The client of every request when `clients:` is empty.
    package static let anonymousClient = "default"
    /// The label under which statistics and metrics count what is past their bounds.
    package static let overflowGroup = "_other"

    /// Whether a request for model `name` routes by task type (`auto`, `auto:<task>`).
    package static func routesByTask(_ name: String) -> Bool {
        name == Self.autoModel || name.hasPrefix(Self.autoModel + ":")
    }
}
