//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CCurl
import SidecarModel
import Synchronization
import Translate

/// One upstream HTTP exchange, driven by the ``CurlEngine`` and read by one consumer task.
///
/// Two worlds meet here. The `engine…` properties belong to the engine thread alone (libcurl
/// calls back into them while the engine runs `curl_multi_perform`); the consumer task only
/// touches ``state``, a `Mutex`-guarded ``StateMachine``. The engine hands data over in batches,
/// once per pass of its loop, so a response that arrives in one read costs one lock and one
/// resumption, and a stream costs one per network read rather than one per curl callback.
final class CurlTransfer: UpstreamBodySource, @unchecked Sendable {
    /// Buffered bytes above which the engine pauses the transfer (back-pressure): 256 KiB.
    static let highWaterMark = 256 << 10

    let request: UpstreamRequest
    private let engine: CurlEngine
    let state = Mutex(StateMachine())

    // MARK: Engine thread only

    /// The easy handle while the transfer is in the multi handle.
    var engineEasy: CurlEasyHandle?
    var engineHeaderList: UnsafeMutablePointer<curl_slist>?
    /// The engine loop, while the transfer is active (lets callbacks mark it dirty).
    var engineLoop: CurlEngine.Loop?
    var engineParsedStatus = 0
    /// The current header block's `Name: value` lines, each ending in `\n`.
    var engineHeaderBlock: [UInt8] = []
    var enginePendingHead: UpstreamResponseHead?
    var engineHeadDelivered = false
    var enginePendingData: [UInt8] = []
    var enginePendingError: ProxyError?
    var enginePendingCompletion = false
    var engineIsDirty = false
    var enginePaused = false
    /// Bytes the consumer had not read at the last hand-over.
    var engineConsumerBacklog = 0
    /// When the transfer fails unless body bytes have arrived (first byte, then idle deadlines).
    var engineDeadline: ContinuousClock.Instant?
    var engineReceivedBody = false

    init(request: UpstreamRequest, engine: CurlEngine) {
        self.request = request
        self.engine = engine
    }

    // MARK: Consumer side

    /// Waits for the status line and headers.
    func waitForHead() async throws(ProxyError) -> UpstreamResponseHead {
        if let result = self.state.withLock({ $0.headResult() }) { return try Self.unwrap(result) }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    self.state.withLock { $0.waitForHead(continuation) }.perform()
                }
            } onCancel: {
                self.cancel()
            }
        } catch {
            throw Self.proxyError(error)
        }
    }

    func next() async throws(ProxyError) -> [UInt8]? {
        if let result = self.state.withLock({ $0.takeBody() }) {
            let taken = try Self.unwrap(result)
            if taken.unpause { self.engine.resume(self) }
            return taken.bytes
        }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let (resumptions, unpause) = self.state.withLock { $0.waitForBody(continuation) }
                    if unpause { self.engine.resume(self) }
                    resumptions.perform()
                }
            } onCancel: {
                self.cancel()
            }
        } catch {
            throw Self.proxyError(error)
        }
    }

    func cancel() {
        let (resumptions, notifyEngine) = self.state.withLock { $0.cancel() }
        if notifyEngine { self.engine.cancel(self) }
        resumptions.perform()
    }

    private static func unwrap<Value>(_ result: Result<Value, any Error>) throws(ProxyError) -> Value {
        do {
            return try result.get()
        } catch {
            throw Self.proxyError(error)
        }
    }

    private static func proxyError(_ error: any Error) -> ProxyError {
        (error as? ProxyError) ?? ProxyError(.cancelled, "The upstream transfer was cancelled.")
    }
}
