//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CYAML

extension YAMLParser {
    /// The document's UTF-8 as libyaml reads it: at most ``YAMLParser/maximumSize`` (4 MiB)
    /// bytes, after which it is an error. libyaml reads ahead by at most 16 KiB, so a problem
    /// earlier in a larger document (nesting too deep) is still the one reported.
    package struct Input {
        package var bytes: UnsafeBufferPointer<UInt8>
        package var offset = 0

        /// Whether libyaml asked for more than ``YAMLParser/maximumSize`` bytes.
        package var exceeded: Bool { self.offset >= YAMLParser.maximumSize && self.bytes.count > self.offset }

        /// libyaml's read handler; `data` points to an `Input`. Returns 0 (an input error) past
        /// the limit, and 1 with `sizeRead` 0 at the end of the document.
        package static func read(
            _ data: UnsafeMutableRawPointer?,
            _ buffer: UnsafeMutablePointer<UInt8>?,
            _ size: Int,
            _ sizeRead: UnsafeMutablePointer<Int>?
        ) -> Int32 {
            guard let input = data?.assumingMemoryBound(to: Input.self), let buffer, let sizeRead else { return 0 }
            guard !input.pointee.exceeded else { return 0 }
            let offset = input.pointee.offset
            let count = min(size, input.pointee.bytes.count - offset, YAMLParser.maximumSize - offset)
            if count > 0, let base = input.pointee.bytes.baseAddress { buffer.update(from: base + offset, count: count) }
            input.pointee.offset += count
            sizeRead.pointee = count
            return 1
        }

        /// The 1-based line that the byte at `offset` is on.
        package func line(atByte offset: Int) -> Int {
            self.bytes.prefix(offset).count { $0 == UInt8(ascii: "\n") } + 1
        }

        /// The error for a document over the limit, on the line where reading stopped.
        package func tooLarge(field: String) -> YAMLError {
            YAMLError(
                line: self.line(atByte: self.offset),
                message: "the document is \(self.bytes.count) bytes; at most 4 MiB (\(YAMLParser.maximumSize) bytes) is read",
                field: field
            )
        }
    }
}
