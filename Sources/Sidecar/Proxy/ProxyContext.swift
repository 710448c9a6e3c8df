//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import NIOCore
import NIOHTTP1
import SidecarModel
import Translate

/// What every proxied request needs: the current runtime, the usage sink (which also feeds the
/// metrics), the server's lifecycle and a logger.
struct ProxyContext: Sendable {
    let store: RuntimeStore
    let usage: any UsageSink
    let logger: Logger
    /// Shared by every request, so retries stay a bounded share of all traffic.
    let retryBudget: RetryBudget
    let lifecycle: ServerLifecycle
    let metrics: SidecarMetrics
    let statistics: UsageStatistics
    /// Committed spend and reservations, shared by every request and kept across reloads.
    let quotas: QuotaBook
    let audit: AuditLog
    /// Streams admitted and not yet ended (`server.max_streams`).
    let streamSlots: CapacityPool
    /// Request bodies and provider answers held in memory (`server.max_buffered_bytes`); the
    /// HTTP server reserves request bodies in the same pool.
    let bufferedBytes: CapacityPool

    init(
        store: RuntimeStore,
        usage: any UsageSink,
        logger: Logger,
        lifecycle: ServerLifecycle = ServerLifecycle(),
        quotas: QuotaBook = QuotaBook(),
        statistics: UsageStatistics = UsageStatistics(),
        audit: AuditLog = AuditLog(write: { _ in })
    ) {
        let streamSlots = CapacityPool()
        let bufferedBytes = CapacityPool()
        let metrics = SidecarMetrics(streams: streamSlots, bufferedBytes: bufferedBytes)
        self.streamSlots = streamSlots
        self.bufferedBytes = bufferedBytes
        self.store = store
        self.usage = AccountingUsageSink(metrics: metrics, statistics: statistics, store: store, next: usage)
        self.logger = logger
        self.retryBudget = RetryBudget()
        self.lifecycle = lifecycle
        self.metrics = metrics
        self.statistics = statistics
        self.quotas = quotas
        self.audit = audit
    }

    /// The dispatcher for a request made under `snapshot`.
    func dispatcher(for snapshot: RuntimeSnapshot) -> Dispatcher {
        Dispatcher(resilience: snapshot.configuration.resilience, budget: self.retryBudget, logger: self.logger, audit: self.audit)
    }

    /// Which API a request came in on.
    enum API: String, Sendable {
        /// The OpenAI-compatible `/v1/*` API.
        case openAI = "openai"
        /// The original service API, `/api/v1/*`.
        case service
    }

    /// The client's `X-Request-Id` when it sent a sane one, else a fresh random id
    /// (`req_` and 24 hexadecimal digits).
    static func requestID(for request: ServerRequest) -> String {
        if let sent = request.header("X-Request-Id"), !sent.isEmpty, sent.utf8.count <= 128,
            sent.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        {
            return sent
        }
        return String(unsafeUninitializedCapacity: 28) { buffer in
            let digits = Array("0123456789abcdef".utf8)
            for (index, byte) in "req_".utf8.enumerated() { buffer[index] = byte }
            var random = (UInt64.random(in: .min ... .max), UInt64.random(in: .min ... .max))
            for index in 4..<28 {
                buffer[index] = digits[Int(random.0 & 0xF)]
                random = (random.0 >> 4 | random.1 << 60, random.1 >> 4)
            }
            return 28
        }
    }

    /// The caller of `request` (see ``ClientIdentity``), recorded on `record`; 401 when its
    /// token is missing or wrong, which is also audited.
    func authenticate(_ request: ServerRequest, snapshot: RuntimeSnapshot, record: inout UsageRecord) throws(ProxyError) -> ClientIdentity {
        do {
            let client = try ClientIdentity.authenticate(request, clients: snapshot.configuration.clients)
            record.client = client.name
            return client
        } catch {
            let token = ClientIdentity.bearerToken(request)
            var fields: JSONObject = ["reason": .string(token == nil ? "missing_token" : "invalid_token"), "path": .string(request.path)]
            if let token { fields["token_sha256_prefix"] = .string(String(SHA256.hex(token.utf8).prefix(12))) }
            self.audit.record("auth_denied", fields)
            throw error
        }
    }

    /// `plan` limited to what `client` may use (see ``ClientIdentity/authorize(_:requestedModel:record:)``);
    /// a refusal is audited.
    func authorize(_ plan: RoutePlan, for client: ClientIdentity, requestedModel: String, record: inout UsageRecord) throws(ProxyError) -> RoutePlan {
        do {
            return try client.authorize(plan, requestedModel: requestedModel, record: &record)
        } catch {
            self.audit.record(
                "access_denied",
                [
                    "client": .string(client.name), "model": .string(requestedModel), "task_type": .optional(plan.taskType),
                    "param": .optional(error.param),
                ]
            )
            throw error
        }
    }

    /// A slot for a stream, held until its relay ended (released by ``ChatStream``, or when
    /// dropped on an error before it started).
    /// - Throws: 503 `too_many_streams` when `server.max_streams` streams are already admitted.
    func admitStream(snapshot: RuntimeSnapshot) throws(ProxyError) -> CapacityClaim {
        let limit = snapshot.configuration.server.maxStreams
        guard let slot = self.streamSlots.claim(limit: limit) else {
            var error = ProxyError(.tooManyStreams, "The sidecar is relaying its maximum of \(limit) streams; retry shortly.")
            error.retryAfter = .seconds(1)
            throw error
        }
        return slot
    }

    /// An empty share of `server.max_buffered_bytes` for collecting an answer.
    func bufferBudget(snapshot: RuntimeSnapshot) -> BufferBudget {
        BufferBudget(pool: self.bufferedBytes, limit: snapshot.configuration.server.maxBufferedBytes)
    }

    /// The request body, or the error it was refused with (413 over `server.max_request_body`,
    /// 503 over `server.max_buffered_bytes`).
    func body(of request: ServerRequest) throws(ProxyError) -> ByteBuffer {
        if let refusal = request.bodyRefusal { throw refusal }
        return request.body
    }

    /// Answers with a complete body and records the request.
    ///
    /// The server writes the body with the head in one system call. The usage line is written
    /// now: the answer is complete and paid for, whether or not the client is still there. No
    /// provider key leaves in the body (``SecretScrubber/Mode/answer``: some providers echo
    /// request headers in debug fields).
    func respond(status: HTTPResponseStatus, headers: HTTPHeaders, bytes: [UInt8], record: UsageRecord, clock: RequestClock) -> ServerResponse {
        let bytes = self.store.current.scrubber.scrub(bytes, mode: .answer)
        var record = record
        record.status = Int(status.code)
        record.latencyMilliseconds = clock.elapsedMilliseconds
        record.timeToFirstChunkMilliseconds = record.latencyMilliseconds
        self.usage.record(record)
        return ServerResponse(status: status, headers: headers, body: .bytes(ByteBuffer(bytes: bytes)))
    }

    /// Answers `error` in the OpenAI envelope (plus `success: false` on the service API) and
    /// records it. Every field is scrubbed of keys and key-shaped values, whatever its origin.
    func respond(error: ProxyError, api: API, record: UsageRecord, clock: RequestClock) -> ServerResponse {
        let error = self.store.current.scrubber.scrub(error.code == .cancelled && self.lifecycle.isCutOff ? ServerLifecycle.shuttingDown : error)
        var record = record
        record.errorType = error.shortDescription
        if record.outcome == .success { record.outcome = Self.outcome(of: error) }
        var body = error.openAIBody.json
        if api == .service {
            body["success"] = false
            body["content"] = nil
            body["provider"] = .optional(record.provider)
        }
        var headers = Self.headers(requestID: record.requestID, contentType: "application/json")
        if let retryAfter = error.retryAfterHeader { headers.add(name: "Retry-After", value: retryAfter) }
        return self.respond(
            status: HTTPResponseStatus(statusCode: error.status),
            headers: headers,
            bytes: body.serialized(),
            record: record,
            clock: clock
        )
    }

    private static func outcome(of error: ProxyError) -> UsageRecord.Outcome {
        switch error.code {
        case .cancelled: .clientDisconnected
        case .circuitOpen: .circuitOpen
        case .shuttingDown, .upstreamError, .allCandidatesFailed, .upstreamUnreachable, .upstreamTimeout, .upstreamConnectionFailed,
            .upstreamMalformed, .upstreamResponseTooLarge:
            .upstreamError
        default: .rejected
        }
    }

    /// Response headers: content type, request id, the route taken (`X-Sidecar-Route`), and the
    /// request's cost when it has one.
    static func headers(requestID: String, contentType: String, cost: Billing.Cost? = nil, route: RouteCandidate? = nil) -> HTTPHeaders {
        var headers: HTTPHeaders = ["Content-Type": contentType, "X-Request-Id": requestID]
        if let route { headers.add(name: "X-Sidecar-Route", value: route.headerValue) }
        if let cost {
            headers.add(name: "X-Sidecar-Cost", value: "\(cost.amount)")
            headers.add(name: "X-Sidecar-Currency", value: cost.currency)
        }
        return headers
    }
}
