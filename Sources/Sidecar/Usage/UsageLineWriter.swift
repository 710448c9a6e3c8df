//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ServiceLifecycle
import SidecarModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes usage lines to standard output, standard error or a file, from its own thread.
///
/// Request tasks only encode their line and append it to a buffer under a lock; the writer
/// thread takes whatever accumulated and writes it with one `write(2)` loop, so a burst of
/// requests costs one system call, and a slow log pipe never stalls a request. After each
/// write the thread rests ``batchIntervalMicroseconds`` (20 ms) so that under load it wakes at most 50
/// times a second, while an idle sidecar still writes a line as soon as it is recorded. On
/// shutdown (``run()`` returning after graceful shutdown) every buffered line is written.
final class UsageLineWriter: UsageSink, Service, @unchecked Sendable {
    static let batchIntervalMicroseconds: UInt32 = 20_000

    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// `usage.labels`, added to every line.
    private let labels: [(name: String, value: String)]
    // Guarded by `condition`.
    private let condition = ConditionLock()
    private var buffer: [UInt8] = []
    private var writerIsWaiting = false
    private var isClosing = false
    private var hasExited = false

    /// Opens the sink (a file is created if needed and appended to).
    /// - Throws: ``ConfigurationError`` when the file cannot be opened.
    init(sink: UsageSettings.Sink, labels: [(name: String, value: String)] = []) throws {
        self.labels = labels
        switch sink {
        case .standardOutput:
            (self.descriptor, self.ownsDescriptor) = (STDOUT_FILENO, false)
        case .standardError:
            (self.descriptor, self.ownsDescriptor) = (STDERR_FILENO, false)
        case .file(let path):
            let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else {
                let reason = String(cString: strerror(errno))
                throw ConfigurationError(problems: [
                    ConfigurationProblem(file: path, field: "usage.sink", message: "cannot open for appending (\(reason))")
                ])
            }
            (self.descriptor, self.ownsDescriptor) = (descriptor, true)
        }
        OSThread.start(name: "usage-writer") { [self] in self.writeLoop() }
    }

    func record(_ record: UsageRecord) {
        self.append(record.jsonLine(labels: self.labels))
    }

    /// Queues one complete line (ending in `\n`), e.g. an audit line sharing the sink.
    func append(_ line: [UInt8]) {
        self.condition.lock()
        self.buffer.append(contentsOf: line)
        if self.writerIsWaiting {
            self.writerIsWaiting = false
            self.condition.signal()
        }
        self.condition.unlock()
    }

    func run() async throws {
        try? await gracefulShutdown()
        self.close()
    }

    /// Writes everything buffered and stops the thread. Blocks until done (a few milliseconds).
    func close() {
        self.condition.lock()
        self.isClosing = true
        self.condition.broadcast()
        while !self.hasExited { self.condition.wait() }
        self.condition.unlock()
    }

    private func writeLoop() {
        while true {
            self.condition.lock()
            while self.buffer.isEmpty && !self.isClosing {
                self.writerIsWaiting = true
                self.condition.wait()
            }
            let batch = self.buffer
            self.buffer = []
            let closing = self.isClosing
            self.condition.unlock()
            if closing && batch.isEmpty { break }
            self.writeAll(batch)
            if !closing { usleep(Self.batchIntervalMicroseconds) }
        }
        if self.ownsDescriptor { Glibc.close(self.descriptor) }
        self.condition.lock()
        self.hasExited = true
        self.condition.broadcast()
        self.condition.unlock()
    }

    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(self.descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // The sink is gone (closed pipe); nothing useful can be done.
                }
                offset += written
            }
        }
    }
}
