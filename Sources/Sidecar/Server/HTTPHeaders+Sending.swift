//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel

extension HTTPHeaders {
    /// The headers with every value safe to write: a control character other than a tab
    /// (CR, LF, NUL, …, DEL) is replaced by its percent escape (`%0D%0A`), so no value can end
    /// its header line, add another or split the response. Every ``ServerResponse`` passes its
    /// headers through here; NIO's outbound header validation stays on behind it as a backstop.
    ///
    /// The common case — no such byte — costs one scan over the values and no copy.
    func escapedForSending() -> HTTPHeaders {
        guard self.contains(where: { HeaderValue.holdsControlCharacter($0.value) }) else { return self }
        var escaped = HTTPHeaders()
        for (name, value) in self {
            escaped.add(name: name, value: HeaderValue.holdsControlCharacter(value) ? HeaderValue.escaped(value) : value)
        }
        return escaped
    }
}
