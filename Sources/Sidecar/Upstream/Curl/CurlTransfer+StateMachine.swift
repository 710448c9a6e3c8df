//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

extension CurlTransfer {
    /// What the consumer task and the engine thread share about one transfer.
    ///
    /// The engine delivers batches (head, body bytes, completion) once per pass of its loop;
    /// the consumer waits for the head, then takes everything buffered at each read. Methods
    /// return the continuation to resume — the caller resumes it after releasing the lock.
    struct StateMachine {
        typealias HeadContinuation = CheckedContinuation<UpstreamResponseHead, any Error>
        typealias BodyContinuation = CheckedContinuation<[UInt8]?, any Error>

        private var head: UpstreamResponseHead?
        private var headWaiter: HeadContinuation?
        private var buffer: [UInt8] = []
        private var bodyWaiter: BodyContinuation?
        /// Set once the transfer ended, normally, by a failure, or by cancellation.
        private var ending: Ending?
        /// Whether the engine paused the transfer because the buffer was full.
        private var producerPaused = false

        private enum Ending {
            case complete
            case failed(ProxyError)
        }

        /// Resumptions to perform after unlocking.
        struct Resumptions {
            var head: (HeadContinuation, Result<UpstreamResponseHead, any Error>)?
            var body: (BodyContinuation, Result<[UInt8]?, any Error>)?

            func perform() {
                if let (continuation, result) = self.head { continuation.resume(with: result) }
                if let (continuation, result) = self.body { continuation.resume(with: result) }
            }
        }

        // MARK: Engine side

        /// Records one batch from the engine.
        /// - Returns: what to resume, the bytes the consumer has not read yet (the engine's
        ///   back-pressure signal), and whether the engine should unpause at once (the consumer
        ///   drained everything before it learned of the pause).
        mutating func deliver(
            head: UpstreamResponseHead?,
            data: [UInt8],
            error: ProxyError?,
            completed: Bool,
            paused: Bool
        ) -> (resumptions: Resumptions, backlog: Int, unpauseNow: Bool) {
            guard self.ending == nil else { return (Resumptions(), 0, false) }
            if let head { self.head = head }
            if self.buffer.isEmpty { self.buffer = data } else { self.buffer.append(contentsOf: data) }
            if let error {
                self.ending = .failed(error)
            } else if completed {
                self.ending = .complete
            }
            self.producerPaused = paused && self.buffer.isEmpty == false
            var resumptions = Resumptions()
            if let waiter = self.headWaiter, let result = self.headResult() {
                self.headWaiter = nil
                resumptions.head = (waiter, result)
            }
            if let waiter = self.bodyWaiter, let result = self.takeBody() {
                self.bodyWaiter = nil
                resumptions.body = (waiter, result.map(\.bytes))
            }
            return (resumptions, self.buffer.count, paused && !self.producerPaused)
        }

        // MARK: Consumer side

        /// The head if it has arrived (or the failure that prevented it); `nil` means wait.
        func headResult() -> Result<UpstreamResponseHead, any Error>? {
            if let head = self.head { return .success(head) }
            if case .failed(let error)? = self.ending { return .failure(error) }
            if case .complete? = self.ending {
                return .failure(ProxyError(.upstreamConnectionFailed, "The provider closed the connection without answering."))
            }
            return nil
        }

        mutating func waitForHead(_ continuation: HeadContinuation) -> Resumptions {
            if let result = self.headResult() { return Resumptions(head: (continuation, result)) }
            self.headWaiter = continuation
            return Resumptions()
        }

        /// Takes everything buffered. `nil` means nothing yet (wait); `.success(bytes: nil)` is the end.
        /// The second value tells the caller to unpause the engine.
        mutating func takeBody() -> Result<(bytes: [UInt8]?, unpause: Bool), any Error>? {
            if !self.buffer.isEmpty {
                let bytes = self.buffer
                self.buffer = []
                let unpause = self.producerPaused
                self.producerPaused = false
                return .success((bytes, unpause))
            }
            switch self.ending {
            case nil: return nil
            case .complete: return .success((nil, false))
            case .failed(let error): return .failure(error)
            }
        }

        mutating func waitForBody(_ continuation: BodyContinuation) -> (Resumptions, unpause: Bool) {
            guard let result = self.takeBody() else {
                self.bodyWaiter = continuation
                return (Resumptions(), false)
            }
            let unpause = (try? result.get().unpause) ?? false
            return (Resumptions(body: (continuation, result.map(\.bytes))), unpause)
        }

        /// Ends the transfer from the consumer side. Returns what to resume and whether the
        /// engine must be told (false when the transfer had already ended).
        ///
        /// A transfer that already ended keeps what it buffered: a cancellation that lands
        /// between the answer's arrival and its reading (a client leaving then) must not turn a
        /// whole answer into an empty one — that read as a malformed answer, a failure that
        /// opened the breaker of a working provider. The consumer reads it, so its tokens are
        /// billed; a consumer that is gone frees it with the transfer.
        mutating func cancel() -> (Resumptions, notifyEngine: Bool) {
            guard self.ending == nil else { return (Resumptions(), false) }
            let error = ProxyError(.cancelled, "The upstream transfer was cancelled.")
            self.ending = .failed(error)
            self.buffer = []
            var resumptions = Resumptions()
            if let waiter = self.headWaiter {
                self.headWaiter = nil
                resumptions.head = (waiter, .failure(error))
            }
            if let waiter = self.bodyWaiter {
                self.bodyWaiter = nil
                resumptions.body = (waiter, .failure(error))
            }
            return (resumptions, true)
        }
    }
}
