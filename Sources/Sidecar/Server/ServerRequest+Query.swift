//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension ServerRequest {
    /// The query's `name=value` pairs, undecoded; a name given twice keeps its last value.
    var queryParameters: [String: String] {
        var parameters: [String: String] = [:]
        for pair in (self.query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { parameters[String(parts[0])] = String(parts[1]) }
        }
        return parameters
    }
}
