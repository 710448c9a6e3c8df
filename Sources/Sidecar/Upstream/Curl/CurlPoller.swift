//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CCurl
import Glibc

/// The engine thread's `epoll` set: the sockets libcurl asks it to watch (its socket interface,
/// `curl_multi_socket_action`), an `eventfd` other threads write to wake it, and libcurl's timer.
///
/// `curl_multi_poll` rebuilt a `poll` set of every socket on every wake-up. Here a socket is
/// registered when libcurl first asks for it and changed only when the interest changes. A
/// connection libcurl keeps for reuse stays registered while idle (libcurl says `REMOVE` after
/// every transfer and asks again for the next one — two `epoll_ctl` per request otherwise): its
/// registration goes when it reports an event nobody waits for, or when libcurl closes it. That
/// is safe only for sockets whose closing the poller sees, so only sockets opened through
/// ``open(family:type:protocol:)`` (libcurl's `CURLOPT_OPENSOCKETFUNCTION`) are kept; any other
/// descriptor libcurl watches (a resolver's pipe) is unregistered as soon as libcurl lets go.
///
/// Used only by the engine thread, except ``wake(descriptor:)``.
final class CurlPoller {
    /// Ready descriptors taken per `epoll_wait`.
    static let batchCapacity = 256

    struct Ready {
        var descriptor: Int32
        /// `CURL_CSELECT_IN`, `_OUT` and `_ERR` bits for `curl_multi_socket_action`.
        var curlEvents: Int32
    }

    let descriptor: Int32
    /// Written by ``wake(descriptor:)``; read by the engine when it reports readable.
    let wakeDescriptor: Int32
    /// When libcurl wants `curl_multi_socket_action(CURL_SOCKET_TIMEOUT)`; `nil`: no timer.
    var timerDeadline: ContinuousClock.Instant?
    /// The `epoll` events libcurl asked for, per socket it watches.
    private var wanted: [Int32: UInt32] = [:]
    /// The `epoll` events registered, per socket; may outlive ``wanted`` for owned sockets.
    private var registered: [Int32: UInt32] = [:]
    /// Sockets opened by ``open(family:type:protocol:)`` and not yet closed.
    private var owned: Set<Int32> = []
    private var readyDescriptors = [Int32](repeating: 0, count: CurlPoller.batchCapacity)
    private var readyEvents = [UInt32](repeating: 0, count: CurlPoller.batchCapacity)

    init?() {
        let descriptor = ccurl_poller_create()
        guard descriptor >= 0 else { return nil }
        let wakeDescriptor = ccurl_eventfd_create()
        guard wakeDescriptor >= 0, ccurl_poller_control(descriptor, ccurl_epoll_add, wakeDescriptor, ccurl_epoll_in) == 0 else {
            Glibc.close(descriptor)
            if wakeDescriptor >= 0 { Glibc.close(wakeDescriptor) }
            return nil
        }
        self.descriptor = descriptor
        self.wakeDescriptor = wakeDescriptor
    }

    deinit {
        Glibc.close(self.wakeDescriptor)
        Glibc.close(self.descriptor)
    }

    /// Wakes the engine from any thread: one 8-byte `write` to the `eventfd`.
    static func wake(descriptor: Int32) {
        var one: UInt64 = 1
        _ = write(descriptor, &one, 8)
    }

    /// libcurl's `CURLMOPT_SOCKETFUNCTION`: watch `socket` for `what` (`CURL_POLL_…`).
    func watch(_ socket: Int32, what: Int32) {
        guard what != CURL_POLL_REMOVE else {
            self.wanted[socket] = nil
            if !self.owned.contains(socket) { self.unregister(socket) }
            return
        }
        var events: UInt32 = 0
        if what & CURL_POLL_IN != 0 { events |= ccurl_epoll_in }
        if what & CURL_POLL_OUT != 0 { events |= ccurl_epoll_out }
        self.wanted[socket] = events
        self.register(socket, events: events)
    }

    /// libcurl's `CURLOPT_OPENSOCKETFUNCTION`: a new socket, close-on-exec.
    func open(family: Int32, type: Int32, protocol: Int32) -> Int32 {
        let socket = Glibc.socket(family, type | Int32(SOCK_CLOEXEC.rawValue), `protocol`)
        if socket >= 0 { self.owned.insert(socket) }
        return socket
    }

    /// libcurl's `CURLOPT_CLOSESOCKETFUNCTION`: forgets `socket`, then closes it (which also takes
    /// it out of the `epoll` set).
    func close(socket: Int32) -> Int32 {
        self.owned.remove(socket)
        self.wanted[socket] = nil
        self.registered[socket] = nil
        return Glibc.close(socket)
    }

    /// Sleeps until a watched socket is ready, the engine is woken, or `timeout` (milliseconds,
    /// 0: do not sleep) passes. Returns the sockets libcurl waits for; drains the wake-up and
    /// unregisters idle sockets that reported an event.
    func wait(timeout milliseconds: Int32) -> [Ready] {
        let count = self.readyDescriptors.withUnsafeMutableBufferPointer { descriptors in
            self.readyEvents.withUnsafeMutableBufferPointer { events in
                ccurl_poller_wait(self.descriptor, descriptors.baseAddress, events.baseAddress, Int32(Self.batchCapacity), milliseconds)
            }
        }
        var ready: [Ready] = []
        for index in 0..<max(0, Int(count)) {
            let descriptor = self.readyDescriptors[index]
            let events = self.readyEvents[index]
            if descriptor == self.wakeDescriptor {
                var value: UInt64 = 0
                _ = read(descriptor, &value, 8)
            } else if self.wanted[descriptor] != nil {
                ready.append(Ready(descriptor: descriptor, curlEvents: Self.curlEvents(events)))
            } else {
                self.unregister(descriptor)
            }
        }
        return ready
    }

    /// Milliseconds until libcurl's timer, at most `limit`; 0 when it is due.
    func millisecondsUntilTimer(limit: Int32, now: ContinuousClock.Instant) -> Int32 {
        guard let deadline = self.timerDeadline else { return limit }
        guard deadline > now else { return 0 }
        let (seconds, attoseconds) = (deadline - now).components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(min(Int64(limit), milliseconds))
    }

    private func register(_ socket: Int32, events: UInt32) {
        let current = self.registered[socket]
        guard current != events else { return }
        // Out of step with the kernel (a descriptor number reused behind the poller's back) shows
        // as EEXIST or ENOENT: the other operation then succeeds.
        let (first, second) = current == nil ? (ccurl_epoll_add, ccurl_epoll_modify) : (ccurl_epoll_modify, ccurl_epoll_add)
        if ccurl_poller_control(self.descriptor, first, socket, events) == 0
            || ccurl_poller_control(self.descriptor, second, socket, events) == 0
        {
            self.registered[socket] = events
        }
    }

    private func unregister(_ socket: Int32) {
        guard self.registered.removeValue(forKey: socket) != nil else { return }
        _ = ccurl_poller_control(self.descriptor, ccurl_epoll_delete, socket, 0)
    }

    private static func curlEvents(_ events: UInt32) -> Int32 {
        var bits: Int32 = 0
        if events & ccurl_epoll_in != 0 { bits |= CURL_CSELECT_IN }
        if events & ccurl_epoll_out != 0 { bits |= CURL_CSELECT_OUT }
        if events & ccurl_epoll_error_or_hangup != 0 { bits |= CURL_CSELECT_ERR | CURL_CSELECT_IN }
        return bits
    }
}
