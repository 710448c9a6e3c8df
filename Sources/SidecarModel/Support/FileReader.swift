//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#endif

/// Reads files with plain system calls (the sidecar does not link full Foundation).
package enum FileReader {
    /// The whole file; `nil` when it cannot be opened.
    package static func readAll(_ path: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        let opened = Self.forEachChunk(path) { bytes += $0 }
        return opened ? bytes : nil
    }

    /// Calls `body` with each line (without its `\n`) of the first `limit` bytes (default: all),
    /// reading 64 KiB at a time so a large file never sits in memory whole. Returns `false`
    /// when the file cannot be opened.
    package static func forEachLine(_ path: String, upTo limit: Int64 = .max, _ body: (ArraySlice<UInt8>) -> Void) -> Bool {
        var pending: [UInt8] = []
        var remaining = limit
        let opened = Self.forEachChunk(path) { whole in
            guard remaining > 0 else { return }
            let chunk = whole.prefix(Int(min(remaining, Int64(whole.count))))
            remaining -= Int64(chunk.count)
            var start = chunk.startIndex
            while let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n")) {
                if pending.isEmpty {
                    body(chunk[start..<newline])
                } else {
                    pending += chunk[start..<newline]
                    body(pending[...])
                    pending.removeAll(keepingCapacity: true)
                }
                start = newline + 1
            }
            pending += chunk[start...]
        }
        if !pending.isEmpty { body(pending[...]) }
        return opened
    }

    private static func forEachChunk(_ path: String, _ body: (ArraySlice<UInt8>) -> Void) -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return true }
            body(chunk[..<count])
        }
    }
}
