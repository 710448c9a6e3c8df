//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CCurl
import Translate

/// A libcurl easy handle and its error buffer, reused across transfers by the engine thread.
struct CurlEasyHandle {
    let handle: UnsafeMutableRawPointer
    /// `CURLOPT_ERRORBUFFER` storage (`CURL_ERROR_SIZE` bytes), owned with the handle.
    let errorBuffer: UnsafeMutablePointer<CChar>

    /// A new handle with the options every transfer shares already set.
    /// - Parameter sockets: the engine's ``CurlPoller``, which opens and closes the handle's sockets.
    init?(sockets: UnsafeMutableRawPointer) {
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        do {
            try self.setSharedOptions()
            try self.check(ccurl_easy_setopt_socket_callbacks(handle, sockets, curlOpenSocketCallback, curlCloseSocketCallback))
        } catch {
            self.destroy()
            return nil
        }
    }

    /// The message curl wrote for the last failure, if any.
    var errorMessage: String {
        String(cString: self.errorBuffer)
    }

    /// Readies the handle for another transfer. Options are not reset — ``configure(for:userdata:)``
    /// sets every per-transfer option each time — which spares libcurl re-initialising the handle.
    func prepareForReuse() {
        self.errorBuffer[0] = 0
    }

    func destroy() {
        curl_easy_cleanup(self.handle)
        self.errorBuffer.deallocate()
    }
}

extension CurlEasyHandle {
    /// The options every transfer shares, set once per handle.
    private func setSharedOptions() throws(CurlError) {
        try self.set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(self.errorBuffer))
        try self.set(CURLOPT_NOSIGNAL, 1)
        try self.set(CURLOPT_WRITEFUNCTION, callback: curlWriteCallback)
        try self.set(CURLOPT_HEADERFUNCTION, callback: curlHeaderCallback)
        try self.set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
        try self.set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        try self.set(CURLOPT_TCP_NODELAY, 1)
        try self.set(CURLOPT_TCP_KEEPALIVE, 1)
        try self.set(CURLOPT_ACCEPT_ENCODING, "")
        // The sidecar normalised the path already (`RequestPath`): libcurl must not resolve dot
        // segments again, which would turn a path the sidecar checked into another one.
        try self.set(CURLOPT_PATH_AS_IS, 1)
    }

    /// Sets every per-transfer option, overriding what the previous transfer set. `userdata` is
    /// the transfer's opaque pointer; the engine keeps the transfer alive until after
    /// `curl_multi_remove_handle`.
    func configure(for transfer: CurlTransfer, userdata: UnsafeMutableRawPointer) throws(CurlError) {
        let request = transfer.request
        try self.set(CURLOPT_URL, request.url)
        // Over TLS, wait to learn whether an open connection can multiplex (HTTP/2) before opening
        // another. Plain-HTTP connections never multiplex: waiting would queue transfers behind
        // one another on the same connection.
        try self.set(CURLOPT_PIPEWAIT, request.url.hasPrefix("https://") ? 1 : 0)
        try self.set(CURLOPT_PRIVATE, pointer: userdata)
        try self.set(CURLOPT_WRITEDATA, pointer: userdata)
        try self.set(CURLOPT_HEADERDATA, pointer: userdata)
        try self.set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout))
        try self.set(CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout))
        // NULL restores the default: the proxy environment variables apply.
        try self.check(ccurl_easy_setopt_string(self.handle, CURLOPT_PROXY, request.proxy))
        try self.check(ccurl_easy_setopt_string(self.handle, CURLOPT_CAINFO, request.caFile ?? Self.defaultCAFile))
        try self.setMethodAndBody(request)
        try self.set(CURLOPT_HTTPHEADER, list: transfer.engineHeaderList)
    }

    /// The CA bundle libcurl was built to trust (Debian: `/etc/ssl/certs/ca-certificates.crt`),
    /// restored for transfers without a provider `ca_file` since handles are reused.
    private static let defaultCAFile: String? = {
        guard let handle = curl_easy_init() else { return nil }
        defer { curl_easy_cleanup(handle) }
        var path: UnsafeMutableRawPointer?
        guard ccurl_easy_getinfo_pointer(handle, CURLINFO_CAINFO, &path) == CURLE_OK, let path else { return nil }
        return String(cString: path.assumingMemoryBound(to: CChar.self))
    }()

    private func setMethodAndBody(_ request: UpstreamRequest) throws(CurlError) {
        try self.check(ccurl_easy_setopt_string(self.handle, CURLOPT_CUSTOMREQUEST, nil))
        try self.set(CURLOPT_NOBODY, request.method == "HEAD" ? 1 : 0)
        switch request.method {
        case "HEAD":
            return  // CURLOPT_NOBODY made it a HEAD; CURLOPT_HTTPGET would undo that and wait for a body
        case "GET" where request.body.isEmpty:
            try self.set(CURLOPT_HTTPGET, 1)
            return
        case "POST":
            try self.set(CURLOPT_POST, 1)
        default:
            if request.body.isEmpty {
                try self.set(CURLOPT_HTTPGET, 1)
                try self.set(CURLOPT_CUSTOMREQUEST, request.method)
                return
            }
            try self.set(CURLOPT_POST, 1)
            try self.set(CURLOPT_CUSTOMREQUEST, request.method)
        }
        try self.check(ccurl_easy_setopt_off_t(self.handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
        // COPYPOSTFIELDS copies the bytes, so the body's storage need not outlive this call.
        let code = request.body.withUnsafeBytes { bytes in
            ccurl_easy_setopt_pointer(self.handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
        }
        try self.check(code)
    }

    /// Builds the `curl_slist` of request headers; the caller frees it with `curl_slist_free_all`.
    static func headerList(for request: UpstreamRequest) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        for header in request.headers {
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        // An empty `Expect:` stops curl from waiting for `100 Continue` on large bodies.
        return curl_slist_append(list, "Expect:")
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    private func set(_ option: CURLoption, _ value: Int) throws(CurlError) {
        try self.check(ccurl_easy_setopt_long(self.handle, option, value))
    }

    private func set(_ option: CURLoption, _ value: String) throws(CurlError) {
        try self.check(ccurl_easy_setopt_string(self.handle, option, value))
    }

    private func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(CurlError) {
        try self.check(ccurl_easy_setopt_pointer(self.handle, option, pointer))
    }

    private func set(_ option: CURLoption, list: UnsafeMutablePointer<curl_slist>?) throws(CurlError) {
        try self.check(ccurl_easy_setopt_slist(self.handle, option, list))
    }

    private func set(_ option: CURLoption, callback: ccurl_data_callback) throws(CurlError) {
        try self.check(ccurl_easy_setopt_data_callback(self.handle, option, callback))
    }

    private func check(_ code: CURLcode) throws(CurlError) {
        guard code == CURLE_OK else { throw CurlError(code: code.rawValue, message: String(cString: curl_easy_strerror(code))) }
    }
}

/// `CURLOPT_WRITEFUNCTION`: a non-capturing trampoline into the transfer named by `userdata`.
private let curlWriteCallback: ccurl_data_callback = { buffer, size, count, userdata in
    guard let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.engineReceiveBody(UnsafeRawBufferPointer(start: buffer, count: size * count))
}

/// `CURLOPT_HEADERFUNCTION`: one call per header line.
private let curlHeaderCallback: ccurl_data_callback = { buffer, size, count, userdata in
    guard let userdata else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.engineReceiveHeaderLine(UnsafeRawBufferPointer(start: buffer, count: size * count))
}

/// `CURLOPT_OPENSOCKETFUNCTION`: the poller opens the socket, so it knows when it is closed.
private let curlOpenSocketCallback: curl_opensocket_callback = { poller, _, address in
    guard let poller, let address else { return -1 }
    return Unmanaged<CurlPoller>.fromOpaque(poller).takeUnretainedValue()
        .open(family: address.pointee.family, type: address.pointee.socktype, protocol: address.pointee.protocol)
}

/// `CURLOPT_CLOSESOCKETFUNCTION`: the poller forgets the socket, then closes it.
private let curlCloseSocketCallback: curl_closesocket_callback = { poller, socket in
    guard let poller else { return -1 }
    return Unmanaged<CurlPoller>.fromOpaque(poller).takeUnretainedValue().close(socket: socket)
}
