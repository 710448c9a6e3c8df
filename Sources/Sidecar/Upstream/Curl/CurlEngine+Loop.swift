//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CCurl
import SidecarModel

extension CurlEngine {
    /// The engine thread's state. Created on, and only ever used by, the engine thread.
    final class Loop {
        /// Easy handles kept for reuse (at most 16: enough for steady traffic, little memory after a burst).
        static let maximumPooledHandles = 16

        private let engine: CurlEngine
        private let multi: UnsafeMutableRawPointer
        private let poller: CurlPoller
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

        init(engine: CurlEngine, multi: UnsafeMutableRawPointer, poller: CurlPoller) {
            self.engine = engine
            self.multi = multi
            self.poller = poller
        }

        func run() {
            let code = ccurl_multi_setopt_socket_callbacks(
                self.multi,
                Unmanaged.passUnretained(self.poller).toOpaque(),
                curlSocketCallback,
                curlTimerCallback
            )
            precondition(code == CURLM_OK, "libcurl refused its socket callbacks (\(code.rawValue))")
            while true {
                let commands = self.engine.takeCommands()
                if commands.contains(where: { if case .shutdown = $0 { true } else { false } }) {
                    return self.engine.markExited(failed: self.tearDown(pending: commands))
                }
                for command in commands { self.handle(command) }
                self.runTimerIfDue()
                self.collectCompletions()
                self.flushDirty()
                self.removeFinished()
                self.failExpiredTransfers()
                let timeout = self.engine.maySleep() ? self.sleepLimit() : 0
                for ready in self.poller.wait(timeout: timeout) { self.act(on: ready.descriptor, events: ready.curlEvents) }
                self.trimMemoryWhenIdle()
            }
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

        private func act(on socket: Int32, events: Int32) {
            var running: Int32 = 0
            curl_multi_socket_action(self.multi, socket, events, &running)
        }

        /// Runs libcurl's timer when due: connection and transfer timeouts, and the first step of
        /// a transfer just added (libcurl asks for a timeout of 0 then).
        private func runTimerIfDue() {
            guard let deadline = self.poller.timerDeadline, deadline <= .now else { return }
            self.poller.timerDeadline = nil
            self.act(on: ccurl_socket_timeout, events: 0)
        }

        /// Milliseconds the engine may sleep: until libcurl's timer, at most 100 while a transfer
        /// has a first-byte or idle deadline, else at most 1,000 (to hand memory back when idle).
        private func sleepLimit() -> Int32 {
            self.poller.millisecondsUntilTimer(limit: self.deadlineCount > 0 ? 100 : 1000, now: .now)
        }

        private func start(_ transfer: CurlTransfer) {
            guard let easy = self.pool.popLast() ?? CurlEasyHandle(sockets: Unmanaged.passUnretained(self.poller).toOpaque()) else {
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

        /// Fails what still runs and what `pending` (the batch that held the shutdown) would have
        /// started, and frees libcurl's resources. Returns how many running transfers failed.
        private func tearDown(pending: [Command]) -> Int {
            let failed = self.active.count
            for transfer in Array(self.active.values) {
                self.remove(transfer)
                transfer.engineFail(CurlEngine.shuttingDown)
            }
            CurlEngine.failStarts(in: pending)
            for easy in self.pool { easy.destroy() }
            self.pool = []
            curl_multi_cleanup(self.multi)
            return failed
        }
    }
}

/// `CURLMOPT_SOCKETFUNCTION`: libcurl's interest in one socket, into the engine's poller.
private let curlSocketCallback: curl_socket_callback = { _, socket, what, poller, _ in
    guard let poller else { return 0 }
    Unmanaged<CurlPoller>.fromOpaque(poller).takeUnretainedValue().watch(socket, what: what)
    return 0
}

/// `CURLMOPT_TIMERFUNCTION`: when libcurl next wants `CURL_SOCKET_TIMEOUT` (-1: never).
private let curlTimerCallback: curl_multi_timer_callback = { _, milliseconds, poller in
    guard let poller else { return 0 }
    Unmanaged<CurlPoller>.fromOpaque(poller).takeUnretainedValue().timerDeadline =
        milliseconds < 0 ? nil : .now + .milliseconds(milliseconds)
    return 0
}
