//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import COpenSSL
import NIOCore

/// TLS on one connection to the store (`rediss://`): OpenSSL's `SSL` driven through two memory
/// BIOs, so the bytes still travel on the channel's event loop and nothing blocks.
///
/// Ciphertext read from the socket goes into the read BIO; `SSL_read` takes plaintext out and
/// passes it on (to ``RESPDecoder``). Plaintext written (by ``RedisChannelHandler``) goes through
/// `SSL_write`; what OpenSSL puts in the write BIO is written to the socket. The handshake starts
/// when the connection is up and must be done by `deadline` (the connection's, so `connect_timeout`
/// bounds TCP and TLS together); ``handshake(of:)`` is how ``RedisConnection`` waits for it, and
/// writes made before it is done wait, in order. Closing sends `close_notify` (`SSL_shutdown`) first.
///
/// The server's certificate must chain to the trusted certificates of ``TLSClientContext`` and be
/// for `host`: `SSL_set1_host` for a name (sent as SNI too), `X509_VERIFY_PARAM_set1_ip_asc` for
/// an IPv4 or IPv6 address. Any failure — a certificate that cannot be verified, a server that
/// does not speak TLS, no handshake by the deadline — fails the handshake and is fired as a
/// ``TLSFailure`` whose description names OpenSSL's reason, and the channel is closed. The reasons
/// come from OpenSSL's verification and error strings, never from data on the connection, so they
/// never hold the password. Confined to the channel's event loop.
final class TLSClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case handshaking
        case open
        case closed
    }

    /// The largest plaintext read at once: one TLS record's worth, 16 KiB.
    private static let readSize = 16 << 10

    /// The `SSL *`; it owns the two BIOs. Unsafe: a C pointer, freed with this handler.
    private let ssl: OpaquePointer
    /// Ciphertext from the socket, for OpenSSL to read.
    private let network: OpaquePointer
    /// Ciphertext from OpenSSL, for the socket.
    private let output: OpaquePointer
    private let deadline: NIODeadline
    private var state = State.idle
    /// Completed when the handshake is done or has failed; made when the handler is added.
    private var handshakeDone: EventLoopPromise<Void>?
    private var handshakeTimer: Scheduled<Void>?
    /// Writes that arrived before the handshake was done, in order.
    private var waiting = CircularBuffer<(data: ByteBuffer, promise: EventLoopPromise<Void>?)>()

    /// - Throws: ``TLSFailure`` when OpenSSL cannot set up the connection (out of memory, or a
    ///   host it cannot check a certificate against).
    init(context: TLSClientContext, host: String, deadline: NIODeadline) throws(TLSFailure) {
        self.deadline = deadline
        ERR_clear_error()
        guard let ssl = SSL_new(context.context), let network = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            throw TLSFailure("cannot set up a connection: \(TLSClientContext.reason())")
        }
        SSL_set_bio(ssl, network, output)
        (self.ssl, self.network, self.output) = (ssl, network, output)
        SSL_set_connect_state(ssl)
        // An address is checked against the certificate's IP entries and sent without SNI (RFC 6066
        // allows only names there); anything else is a name.
        if X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1 {
            ERR_clear_error()
            guard sidecar_SSL_set_tlsext_host_name(ssl, host) == 1, SSL_set1_host(ssl, host) == 1 else {
                throw TLSFailure("cannot check a certificate against '\(host)': \(TLSClientContext.reason())")
            }
        }
    }

    /// Succeeds once the TLS handshake on `channel` is done (at once without a ``TLSClientHandler``),
    /// fails with its ``TLSFailure``. Call on the channel's event loop.
    static func handshake(of channel: any Channel) -> EventLoopFuture<Void> {
        let handler = try? channel.pipeline.syncOperations.handler(type: TLSClientHandler.self)
        return handler?.handshakeDone?.futureResult ?? channel.eventLoop.makeSucceededVoidFuture()
    }

    deinit {
        SSL_free(self.ssl)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.handshakeDone = context.eventLoop.makePromise()
        self.handshakeTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: self.deadline) {
            self.fail("no handshake within the connect timeout (does the store serve TLS on this port?)", context: context)
        }
        if context.channel.isActive { self.handshake(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.handshakeTimer?.cancel()
        self.handshakeDone?.fail(TLSFailure("the connection closed"))
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        self.handshake(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Self.unwrapInboundIn(data)
        guard self.state == .handshaking || self.state == .open else { return }
        let written = bytes.withUnsafeReadableBytes { BIO_write(self.network, $0.baseAddress, Int32($0.count)) }
        guard written == bytes.readableBytes else { return self.fail("cannot buffer what the store sent", context: context) }
        if self.state == .handshaking {
            self.handshake(context: context)
        } else {
            self.readPlaintext(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if self.state == .handshaking {
            // Named before the handlers behind learn that the connection is gone.
            self.fail("the connection closed during the handshake (does the store serve TLS on this port?)", context: context)
        }
        self.state = .closed
        self.failWaiting(TLSFailure("the connection closed"))
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let bytes = Self.unwrapOutboundIn(data)
        switch self.state {
        case .idle, .handshaking: self.waiting.append((bytes, promise))
        case .open: self.encrypt(bytes, promise: promise, context: context)
        case .closed: promise?.fail(TLSFailure("the connection closed"))
        }
    }

    func flush(context: ChannelHandlerContext) {
        // Before the handshake is done the writes wait; they are flushed when it is.
        if self.state == .open { context.flush() }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all else { return context.close(mode: mode, promise: promise) }
        if self.state == .open {
            ERR_clear_error()
            // close_notify, without waiting for the server's: the connection is done either way.
            _ = SSL_shutdown(self.ssl)
            self.sendOutput(promise: nil, context: context)
            context.flush()
        }
        self.state = .closed
        self.failWaiting(TLSFailure("the connection closed"))
        context.close(mode: mode, promise: promise)
    }
}

extension TLSClientHandler {
    /// Runs the handshake as far as the bytes received allow; when it is done, writes what waited
    /// and reads what the server sent along with its last handshake message.
    private func handshake(context: ChannelHandlerContext) {
        guard self.state == .idle || self.state == .handshaking else { return }
        self.state = .handshaking
        ERR_clear_error()
        let result = SSL_do_handshake(self.ssl)
        self.sendOutput(promise: nil, context: context)
        context.flush()
        guard result == 1 else {
            let error = SSL_get_error(self.ssl, result)
            if error == SSL_ERROR_WANT_READ { return }
            return self.fail(self.handshakeFailure(error), context: context)
        }
        self.state = .open
        self.handshakeTimer?.cancel()
        self.handshakeDone?.succeed()
        while self.state == .open, let next = self.waiting.popFirst() {
            self.encrypt(next.data, promise: next.promise, context: context)
        }
        context.flush()
        self.readPlaintext(context: context)
    }

    /// Why the handshake failed, in words: the certificate's verification result when that is what
    /// failed, else OpenSSL's reason.
    private func handshakeFailure(_ error: Int32) -> String {
        let verification = SSL_get_verify_result(self.ssl)
        if verification != Int(X509_V_OK) {
            let reason = X509_verify_cert_error_string(verification).map { String(cString: $0) } ?? "error \(verification)"
            ERR_clear_error()
            return "the certificate of the store could not be verified: \(reason)"
        }
        if error == SSL_ERROR_SYSCALL || error == SSL_ERROR_ZERO_RETURN {
            ERR_clear_error()
            return "the handshake ended early"
        }
        return "the handshake failed: \(TLSClientContext.reason()) (does the store serve TLS on this port?)"
    }

    /// Passes on all the plaintext OpenSSL can decrypt from the bytes received so far.
    private func readPlaintext(context: ChannelHandlerContext) {
        while self.state == .open {
            var plaintext = context.channel.allocator.buffer(capacity: Self.readSize)
            var result: Int32 = 0
            ERR_clear_error()
            plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.readSize) { bytes in
                result = SSL_read(self.ssl, bytes.baseAddress, Int32(bytes.count))
                return Int(max(result, 0))
            }
            guard result <= 0 else {
                context.fireChannelRead(Self.wrapInboundOut(plaintext))
                continue
            }
            // Whatever OpenSSL answers the server with (a TLS 1.3 key update) goes out.
            self.sendOutput(promise: nil, context: context)
            context.flush()
            switch SSL_get_error(self.ssl, result) {
            case SSL_ERROR_WANT_READ: return
            case SSL_ERROR_ZERO_RETURN: return self.fail("the store closed the TLS session", context: context)
            default: return self.fail("cannot decrypt what the store sent: \(TLSClientContext.reason())", context: context)
            }
        }
    }

    /// Encrypts `bytes` and writes the ciphertext, completing `promise` with that write.
    private func encrypt(_ bytes: ByteBuffer, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        guard bytes.readableBytes > 0 else { return self.sendOutput(promise: promise, context: context) }
        ERR_clear_error()
        let result = bytes.withUnsafeReadableBytes { SSL_write(self.ssl, $0.baseAddress, Int32($0.count)) }
        guard result > 0 else {
            let failure = "cannot encrypt for the store: \(TLSClientContext.reason())"
            promise?.fail(TLSFailure(failure))
            return self.fail(failure, context: context)
        }
        self.sendOutput(promise: promise, context: context)
    }

    /// Writes (without flushing) everything OpenSSL put in the write BIO; `promise` completes with
    /// that write, or at once when there is nothing to write.
    private func sendOutput(promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        let pending = BIO_ctrl_pending(self.output)
        guard pending > 0 else {
            promise?.succeed()
            return
        }
        var ciphertext = context.channel.allocator.buffer(capacity: pending)
        ciphertext.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { bytes in
            Int(max(0, BIO_read(self.output, bytes.baseAddress, Int32(pending))))
        }
        context.write(Self.wrapOutboundOut(ciphertext), promise: promise)
    }

    /// Fails the handshake (when not done) with `message`, fires it to the handlers behind (the
    /// first failure is the one they report), fails the writes waiting with it, and closes.
    private func fail(_ message: String, context: ChannelHandlerContext) {
        guard self.state != .closed else { return }
        self.state = .closed
        let error = TLSFailure(message)
        self.handshakeTimer?.cancel()
        self.handshakeDone?.fail(error)
        context.fireErrorCaught(error)
        self.failWaiting(error)
        context.close(promise: nil)
    }

    private func failWaiting(_ error: TLSFailure) {
        while let next = self.waiting.popFirst() { next.promise?.fail(error) }
    }
}

@available(*, unavailable)
extension TLSClientHandler: Sendable {}

/// Why TLS to the store failed; its description ("TLS: the certificate of the store could not be
/// verified: …") goes into the ``RedisError`` the caller sees.
struct TLSFailure: Error, Sendable, CustomStringConvertible {
    var reason: String
    var description: String { "TLS: \(self.reason)" }

    init(_ reason: String) {
        self.reason = reason
    }
}
