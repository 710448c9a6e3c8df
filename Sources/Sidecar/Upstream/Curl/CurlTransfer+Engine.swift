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

/// The engine-thread half of a transfer: libcurl's callbacks and the hand-over to the consumer.
extension CurlTransfer {
    /// libcurl delivered body bytes. Returns how many were taken, or `CURL_WRITEFUNC_PAUSE`
    /// when the consumer is more than ``highWaterMark`` bytes behind.
    func engineReceiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        let backlog = self.enginePendingData.count + self.engineConsumerBacklog
        if backlog > 0, backlog + bytes.count > Self.highWaterMark {
            // Flush even with no new data: the consumer may have drained its backlog already,
            // and the hand-over is where the engine learns that and unpauses.
            self.enginePaused = true
            self.engineMarkDirty()
            return Int(ccurl_writefunc_pause)
        }
        self.enginePendingData.append(contentsOf: bytes)
        self.engineReceivedBody = true
        self.engineDeadline = self.request.idleTimeout.map { .now + $0 }
        self.engineMarkDirty()
        return bytes.count
    }

    /// libcurl delivered one header line (status line, `Name: value`, or the blank line ending
    /// the block). Interim (1xx) blocks are skipped; proxy `CONNECT` answers are suppressed by
    /// `CURLOPT_SUPPRESS_CONNECT_HEADERS`.
    func engineReceiveHeaderLine(_ bytes: UnsafeRawBufferPointer) -> Int {
        let line = HeaderLine(bytes)
        if let status = line.statusCode {
            self.engineParsedStatus = status
            self.engineHeaderBlock.removeAll(keepingCapacity: true)
        } else if line.isEmpty {
            if self.engineParsedStatus >= 200, self.enginePendingHead == nil {
                self.enginePendingHead = UpstreamResponseHead(status: self.engineParsedStatus, rawBlock: self.engineHeaderBlock)
                self.engineMarkDirty()
            }
        } else {
            self.engineHeaderBlock.append(contentsOf: line.bytes)
            self.engineHeaderBlock.append(UInt8(ascii: "\n"))
        }
        return bytes.count
    }

    /// The transfer ended (`CURLMSG_DONE`).
    func engineComplete(_ result: CURLcode, errorMessage: String) {
        if result == CURLE_OK {
            self.enginePendingCompletion = true
        } else {
            let message = errorMessage.isEmpty ? String(cString: curl_easy_strerror(result)) : errorMessage
            self.enginePendingError = CurlError(code: result.rawValue, message: message).proxyError
        }
        self.engineMarkDirty()
    }

    /// The first-byte or idle deadline passed: the failure to report, or `nil` while in time.
    func engineDeadlineFailure(at now: ContinuousClock.Instant) -> ProxyError? {
        guard let deadline = self.engineDeadline, now >= deadline else { return nil }
        if self.engineReceivedBody, let idle = self.request.idleTimeout {
            return ProxyError(.upstreamTimeout, "The provider sent nothing for \(idle) in the middle of its answer.")
        }
        let limit = self.request.firstByteTimeout.map { "\($0)" } ?? "the allowed time"
        return ProxyError(.upstreamTimeout, "The provider did not start answering within \(limit).")
    }

    /// Ends the transfer at once with `error` (it could not start, or the engine is stopping).
    func engineFail(_ error: ProxyError) {
        self.enginePendingError = error
        _ = self.engineFlush()
    }

    /// Hands everything gathered since the last hand-over to the consumer.
    /// - Returns: whether the transfer should be unpaused now.
    func engineFlush() -> Bool {
        self.engineIsDirty = false
        var head: UpstreamResponseHead?
        if !self.engineHeadDelivered, let pending = self.enginePendingHead {
            head = pending
            self.engineHeadDelivered = true
        }
        let data = self.enginePendingData
        self.enginePendingData = []
        let (resumptions, backlog, unpause) = self.state.withLock {
            $0.deliver(
                head: head,
                data: data,
                error: self.enginePendingError,
                completed: self.enginePendingCompletion,
                paused: self.enginePaused
            )
        }
        resumptions.perform()
        self.engineConsumerBacklog = backlog
        return unpause
    }

    private func engineMarkDirty() {
        guard !self.engineIsDirty, let loop = self.engineLoop else { return }
        self.engineIsDirty = true
        loop.dirty.append(self)
    }
}

/// One raw header line from libcurl, parsed without Foundation: `HTTP/1.1 200 OK`,
/// `Name: value`, or the empty line ending a header block (line endings stripped).
private struct HeaderLine {
    let bytes: UnsafeRawBufferPointer.SubSequence

    init(_ raw: UnsafeRawBufferPointer) {
        var end = raw.endIndex
        while end > raw.startIndex, raw[end - 1] == UInt8(ascii: "\n") || raw[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        self.bytes = raw[raw.startIndex..<end]
    }

    var isEmpty: Bool { self.bytes.isEmpty }

    /// The status of a status line (`HTTP/2 429` → 429).
    var statusCode: Int? {
        guard self.bytes.starts(with: "HTTP/".utf8), let space = self.bytes.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        var status = 0
        for byte in self.bytes[(space + 1)...].prefix(3) {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            status = status * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return status
    }
}
