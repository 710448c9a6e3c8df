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
/// Other threads never call libcurl: they queue a ``Command`` and, when the engine is asleep in
/// `epoll_wait` (``CurlPoller``), wake it with one `eventfd` write — at most one per sleep,
/// however many commands arrive meanwhile. The engine drives libcurl through its socket
/// interface (`curl_multi_socket_action`): it tells libcurl which socket is ready rather than
/// having it poll them all. This is the opposite of
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
        /// The engine is in, or about to enter, `epoll_wait` with nothing queued.
        var isSleeping = false
        var hasExited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The multi handle; used by the engine thread only.
    private nonisolated(unsafe) let multi: UnsafeMutableRawPointer
    /// The engine thread's `epoll` set; other threads use only its `wakeDescriptor`.
    private nonisolated(unsafe) let poller: CurlPoller
    private let inbox = Mutex(Inbox())
    private let logger: Logger

    /// Starts the engine thread.
    init(logger: Logger) {
        Self.initializeLibcurl
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed: libcurl is unusable") }
        ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, Self.maximumPooledConnections)
        ccurl_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        guard let poller = CurlPoller() else { fatalError("epoll_create1 or eventfd failed: the upstream engine cannot run") }
        self.multi = multi
        self.poller = poller
        self.logger = logger
        OSThread.start(name: "curl-engine") { [self] in
            Loop(engine: self, multi: self.multi, poller: self.poller).run()
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
            defer { inbox.isSleeping = false }
            return (inbox.isSleeping, false)
        }
        if outcome.rejected { Self.failStarts(in: [command]) }
        if outcome.wake { CurlPoller.wake(descriptor: self.poller.wakeDescriptor) }
    }

    /// Called by the engine thread: takes the queued commands.
    func takeCommands() -> [Command] {
        self.inbox.withLock { inbox in
            let commands = inbox.commands
            inbox.commands = []
            return commands
        }
    }

    /// Called by the engine thread before `epoll_wait`: whether it may sleep (nothing is queued).
    /// From then until it takes commands again, the next ``send(_:)`` wakes it.
    func maySleep() -> Bool {
        self.inbox.withLock { inbox in
            inbox.isSleeping = inbox.commands.isEmpty
            return inbox.isSleeping
        }
    }

    /// Called by the engine thread as its last act.
    /// - Parameter failed: the transfers still running, failed with "shutting down".
    func markExited(failed: Int) {
        self.logger.debug("upstream engine stopped", metadata: ["transfers.failed": "\(failed)"])
        // Commands queued after the engine took its last ones: from here `send` refuses them
        // itself, so these are the only ones left to fail.
        let (waiters, late) = self.inbox.withLock { inbox in
            inbox.hasExited = true
            defer { (inbox.exitWaiters, inbox.commands) = ([], []) }
            return (inbox.exitWaiters, inbox.commands)
        }
        Self.failStarts(in: late)
        for waiter in waiters { waiter.resume() }
    }

    /// What a transfer gets when the engine stops before or while running it.
    static let shuttingDown = ProxyError(.upstreamConnectionFailed, "The sidecar is shutting down.")

    /// Fails the transfers `commands` would have started.
    static func failStarts(in commands: [Command]) {
        for case .start(let transfer) in commands { transfer.engineFail(Self.shuttingDown) }
    }
}
