//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CCurl
import Logging
import ServiceLifecycle
import SidecarModel
import Synchronization

/// Runs every upstream transfer of the process on one dedicated thread that owns a libcurl
/// multi handle.
///
/// Other threads never call libcurl (except the thread-safe `curl_multi_wakeup`): they queue a
/// ``Command`` and wake the engine, which sleeps in `curl_multi_poll`. This is the opposite of
/// FoundationNetworking's design, whose crashes came from DispatchSource-driven sockets,
/// unretained callback contexts and teardown in `deinit`: here the engine keeps each transfer
/// alive until after `curl_multi_remove_handle`, and the multi handle is torn down once, by
/// the engine thread, when ``shutdown()`` is called.
///
/// libcurl pools connections per host in the multi handle (up to ``maximumPooledConnections``),
/// negotiates HTTP/2 over TLS where the provider offers it, and multiplexes streams on it.
final class CurlEngine: Service, Sendable {
    /// Connections kept open for reuse across all providers.
    static let maximumPooledConnections = 256

    enum Command {
        case start(CurlTransfer)
        case cancel(CurlTransfer)
        case resume(CurlTransfer)
        case shutdown
    }

    private struct Inbox {
        var commands: [Command] = []
        var hasExited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The multi handle; used by the engine thread, plus `curl_multi_wakeup` from anywhere.
    private nonisolated(unsafe) let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    private let logger: Logger

    /// Starts the engine thread.
    init(logger: Logger) {
        Self.initializeLibcurl
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed: libcurl is unusable") }
        ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, Self.maximumPooledConnections)
        ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        self.multi = multi
        self.logger = logger
        OSThread.start(name: "curl-engine") { [self] in
            Loop(engine: self, multi: self.multi).run()
        }
    }

    /// `curl_global_init`, exactly once per process.
    private static let initializeLibcurl: Void = {
        let code = ccurl_global_init_all()
        precondition(code == CURLE_OK, "curl_global_init failed (\(code.rawValue))")
    }()

    /// Adds a transfer; its head and body reach the transfer's consumer.
    func start(_ transfer: CurlTransfer) { self.send(.start(transfer)) }

    /// Stops a transfer and releases its connection slot.
    func cancel(_ transfer: CurlTransfer) { self.send(.cancel(transfer)) }

    /// Unpauses a transfer paused for back-pressure.
    func resume(_ transfer: CurlTransfer) { self.send(.resume(transfer)) }

    /// Waits for graceful shutdown, then stops the engine. Runs last in the service group, after
    /// the server has drained its streams.
    func run() async throws {
        try? await gracefulShutdown()
        await self.shutdown()
    }

    /// Fails every running transfer, frees libcurl's resources and ends the thread.
    func shutdown() async {
        await withCheckedContinuation { continuation in
            let hasExited = self.inbox.withLock { inbox in
                if !inbox.hasExited { inbox.exitWaiters.append(continuation) }
                return inbox.hasExited
            }
            if hasExited {
                continuation.resume()
            } else {
                self.send(.shutdown)
            }
        }
    }

    private func send(_ command: Command) {
        let outcome: (wake: Bool, rejected: Bool) = self.inbox.withLock { inbox in
            guard !inbox.hasExited else { return (false, true) }
            inbox.commands.append(command)
            return (inbox.commands.count == 1, false)
        }
        if outcome.rejected, case .start(let transfer) = command {
            transfer.engineFail(ProxyError(.upstreamConnectionFailed, "The upstream engine has shut down."))
        }
        if outcome.wake { curl_multi_wakeup(self.multi) }
    }

    /// Called by the engine thread: takes the queued commands.
    fileprivate func takeCommands() -> [Command] {
        self.inbox.withLock { inbox in
            let commands = inbox.commands
            inbox.commands = []
            return commands
        }
    }

    /// Called by the engine thread as its last act.
    fileprivate func markExited() {
        let waiters = self.inbox.withLock { inbox in
            inbox.hasExited = true
            let waiters = inbox.exitWaiters
            inbox.exitWaiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    fileprivate var engineLogger: Logger { self.logger }
}

extension CurlEngine {
    /// The engine thread's state. Created on, and only ever used by, the engine thread.
    final class Loop {
        /// Easy handles kept for reuse (at most 16: enough for steady traffic, little memory after a burst).
        static let maximumPooledHandles = 16

        private let engine: CurlEngine
        private let multi: UnsafeMutableRawPointer
        private var active: [ObjectIdentifier: CurlTransfer] = [:]
        private var pool: [CurlEasyHandle] = []
        private var finished: [CurlTransfer] = []
        /// Transfers with something to hand to their consumer this pass.
        var dirty: [CurlTransfer] = []
        /// Active transfers with a first-byte or idle deadline; while any, the loop wakes every 100 ms.
        private var deadlineCount = 0
        private var lastDeadlineCheck = ContinuousClock.now
        /// Whether memory was handed back to the system since the last transfer ended.
        private var trimmedSinceLastTransfer = true
        private var lastTransferEnded = ContinuousClock.now

        init(engine: CurlEngine, multi: UnsafeMutableRawPointer) {
            self.engine = engine
            self.multi = multi
        }

        func run() {
            var running: Int32 = 0
            while true {
                let commands = self.engine.takeCommands()
                if commands.contains(where: { if case .shutdown = $0 { true } else { false } }) { break }
                for command in commands { self.handle(command) }
                curl_multi_perform(self.multi, &running)
                self.collectCompletions()
                self.flushDirty()
                self.removeFinished()
                self.failExpiredTransfers()
                curl_multi_poll(self.multi, nil, 0, self.deadlineCount > 0 ? 100 : 1000, nil)
                self.trimMemoryWhenIdle()
            }
            self.tearDown()
            self.engine.markExited()
        }

        private func handle(_ command: Command) {
            switch command {
            case .start(let transfer): self.start(transfer)
            case .cancel(let transfer): self.remove(transfer)
            case .resume(let transfer):
                guard self.active[ObjectIdentifier(transfer)] != nil, transfer.enginePaused, let easy = transfer.engineEasy else { return }
                transfer.enginePaused = false
                curl_easy_pause(easy.handle, ccurl_pause_continue)
            case .shutdown: break
            }
        }

        private func start(_ transfer: CurlTransfer) {
            guard let easy = self.pool.popLast() ?? CurlEasyHandle() else {
                transfer.engineFail(ProxyError(.internal, "libcurl could not create a handle."))
                return
            }
            transfer.engineHeaderList = CurlEasyHandle.headerList(for: transfer.request)
            do {
                try easy.configure(for: transfer, userdata: Unmanaged.passUnretained(transfer).toOpaque())
            } catch {
                self.recycle(easy, of: transfer)
                transfer.engineFail(ProxyError(.upstreamUnreachable, "The upstream request could not be prepared (\(error.message))."))
                return
            }
            transfer.engineEasy = easy
            transfer.engineLoop = self
            if let firstByte = transfer.request.firstByteTimeout {
                transfer.engineDeadline = .now + firstByte
            } else if let idle = transfer.request.idleTimeout {
                transfer.engineDeadline = .now + idle
            }
            if transfer.request.firstByteTimeout != nil || transfer.request.idleTimeout != nil { self.deadlineCount += 1 }
            self.active[ObjectIdentifier(transfer)] = transfer
            curl_multi_add_handle(self.multi, easy.handle)
        }

        private func collectCompletions() {
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(self.multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE else { continue }
                var userdata: UnsafeMutableRawPointer?
                ccurl_easy_getinfo_pointer(message.pointee.easy_handle, CURLINFO_PRIVATE, &userdata)
                guard let userdata else { continue }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
                transfer.engineComplete(ccurl_message_result(message), errorMessage: transfer.engineEasy?.errorMessage ?? "")
                self.finished.append(transfer)
            }
        }

        /// Hands over every dirty transfer's batch. Unpausing can make libcurl deliver more
        /// data synchronously, so repeat until nothing is dirty.
        private func flushDirty() {
            while !self.dirty.isEmpty {
                let batch = self.dirty
                self.dirty = []
                for transfer in batch where transfer.engineFlush() {
                    transfer.enginePaused = false
                    if let easy = transfer.engineEasy { curl_easy_pause(easy.handle, ccurl_pause_continue) }
                }
            }
        }

        private func removeFinished() {
            for transfer in self.finished { self.remove(transfer) }
            self.finished = []
        }

        /// Fails transfers whose first-byte or idle deadline passed (checked at most every 50 ms).
        private func failExpiredTransfers() {
            let now = ContinuousClock.now
            guard self.deadlineCount > 0, now - self.lastDeadlineCheck >= .milliseconds(50) else { return }
            self.lastDeadlineCheck = now
            for transfer in self.active.values {
                guard let failure = transfer.engineDeadlineFailure(at: now) else { continue }
                self.remove(transfer)
                transfer.engineFail(failure)
            }
        }

        /// After a burst (say, thousands of streams) the allocator keeps the freed memory; once
        /// no transfer has run for a second, hand it back so the sidecar returns to its idle size.
        private func trimMemoryWhenIdle() {
            guard self.active.isEmpty, !self.trimmedSinceLastTransfer, ContinuousClock.now - self.lastTransferEnded > .seconds(1) else {
                return
            }
            self.trimmedSinceLastTransfer = true
            MemoryTrim.releaseFreeMemory()
        }

        /// Detaches a transfer from libcurl and drops the engine's reference — in that order.
        private func remove(_ transfer: CurlTransfer) {
            guard self.active.removeValue(forKey: ObjectIdentifier(transfer)) != nil, let easy = transfer.engineEasy else { return }
            curl_multi_remove_handle(self.multi, easy.handle)
            if transfer.request.firstByteTimeout != nil || transfer.request.idleTimeout != nil { self.deadlineCount -= 1 }
            self.lastTransferEnded = .now
            self.trimmedSinceLastTransfer = false
            transfer.engineEasy = nil
            transfer.engineLoop = nil
            self.recycle(easy, of: transfer)
        }

        private func recycle(_ easy: CurlEasyHandle, of transfer: CurlTransfer) {
            curl_slist_free_all(transfer.engineHeaderList)
            transfer.engineHeaderList = nil
            if self.pool.count < Self.maximumPooledHandles {
                easy.prepareForReuse()
                self.pool.append(easy)
            } else {
                easy.destroy()
            }
        }

        private func tearDown() {
            let error = ProxyError(.upstreamConnectionFailed, "The sidecar is shutting down.")
            for transfer in Array(self.active.values) {
                self.remove(transfer)
                transfer.engineFail(error)
            }
            for command in self.engine.takeCommands() {
                if case .start(let transfer) = command { transfer.engineFail(error) }
            }
            for easy in self.pool { easy.destroy() }
            self.pool = []
            curl_multi_cleanup(self.multi)
        }
    }
}
