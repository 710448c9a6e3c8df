//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file (or standard input) read with the C library, whole or line by line, so a 3 MB
/// catalog or a gigabyte of logs is read without Foundation and without holding more than a
/// line at a time. Errors carry the system's reason (`No such file or directory`).
package struct InputFile: ~Copyable {
    private let handle: UnsafeMutablePointer<FILE>
    /// The path, or `-` for standard input.
    package let name: String

    package init(path: String) throws(InputFileError) {
        guard let handle = fopen(path, "r") else { throw InputFileError(path: path, errno: errno) }
        self.handle = handle
        self.name = path
    }

    /// Standard input, through a stream of its own on descriptor 0.
    package init(standardInput: Void) throws(InputFileError) {
        guard let handle = fdopen(STDIN_FILENO, "r") else { throw InputFileError(path: "-", errno: errno) }
        self.handle = handle
        self.name = "-"
    }

    /// The next line without its line terminator (`\n` or `\r\n`); `nil` at the end.
    package func readLine() throws(InputFileError) -> [UInt8]? {
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        let count = getline(&buffer, &capacity, self.handle)
        guard count >= 0, let buffer else {
            if ferror(self.handle) != 0 { throw InputFileError(path: self.name, errno: errno) }
            return nil
        }
        var line = Array(UnsafeRawBufferPointer(start: buffer, count: count))
        if line.last == UInt8(ascii: "\n") { line.removeLast() }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }

    /// The rest of the file.
    package func readAll() throws(InputFileError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, self.handle) }
            bytes.append(contentsOf: chunk.prefix(count))
            if count < chunk.count {
                if ferror(self.handle) != 0 { throw InputFileError(path: self.name, errno: errno) }
                return bytes
            }
        }
    }

    deinit {
        fclose(self.handle)
    }
}

extension InputFile {
    /// Checks, without opening it, that `path` is a regular file of at most `limit` bytes, so an
    /// operator's file is read neither forever (`/dev/zero`), nor blocked on (a FIFO nobody
    /// writes), nor into memory whole when it is a huge file swapped in by mistake.
    package static func checkRegularFile(_ path: String, limit: Int) throws(InputFileError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw InputFileError(path: path, errno: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else { throw InputFileError(path: path, reason: "not a regular file") }
        guard status.st_size <= limit else {
            throw InputFileError(path: path, reason: "larger than \(limit >> 20) MiB (\(status.st_size) bytes)")
        }
    }
}

/// A file that cannot be read, with the system's reason or the sidecar's.
package struct InputFileError: Error, Sendable, CustomStringConvertible {
    package var path: String
    /// The `errno` value; 0 when `reason` says why.
    package var code: Int32
    package var reason: String?

    package init(path: String, errno code: Int32) {
        self.path = path
        self.code = code
    }

    package init(path: String, reason: String) {
        self.path = path
        self.code = 0
        self.reason = reason
    }

    /// `cannot read 'usage.log': No such file or directory`.
    package var description: String { "cannot read '\(self.path)': \(self.reason ?? String(cString: strerror(self.code)))" }
}
