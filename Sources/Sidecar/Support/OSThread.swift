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

/// Starts a named, detached OS thread for a long-lived loop (the curl engine, the usage writer).
///
/// A thin wrapper over `pthread_create`; Foundation's `Thread` would load all of Foundation.
enum OSThread {
    private final class Entry {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// - Parameter name: shown by `top -H` and `perf`; at most 15 characters are kept.
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let entry = Unmanaged.passRetained(Entry(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread,
            nil,
            { argument in
                let entry = Unmanaged<Entry>.fromOpaque(argument!).takeRetainedValue()
                OSThread.setCurrentName(entry.name)
                entry.body()
                return nil
            },
            entry
        )
        precondition(result == 0, "pthread_create failed (\(result))")
        pthread_detach(thread)
    }

    /// Names the calling thread through `/proc/thread-self/comm` (Linux; a no-op elsewhere).
    private static func setCurrentName(_ name: String) {
        let descriptor = open("/proc/thread-self/comm", O_WRONLY)
        guard descriptor >= 0 else { return }
        var name = String(name.prefix(15))
        name.withUTF8 { _ = write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }
}
