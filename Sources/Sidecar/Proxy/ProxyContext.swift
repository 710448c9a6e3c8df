//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Translate

/// What every proxied request needs: the current runtime, the usage sink and a logger.
struct ProxyContext: Sendable {
    let store: RuntimeStore
    let usage: any UsageSink
    let logger: Logger

    /// Which API a request came in on.
    enum API: String, Sendable {
        /// The OpenAI-compatible `/v1/*` API.
        case openAI = "openai"
        /// The original service API, `/api/v1/*`.
        case service
    }

    /// The client's `X-Request-Id` when it sent a sane one, else a fresh random id.
    static func requestID(for request: Request) -> String {
        if let sent = request.headers[.requestID], !sent.isEmpty, sent.count <= 128, sent.allSatisfy({ $0.isASCII && !$0.isWhitespace }) {
            return sent
        }
        return "req_" + String(UInt64.random(in: .min ... .max), radix: 16) + String(UInt32.random(in: .min ... .max), radix: 16)
    }

    /// Reads the whole request body, refusing more than `server.max_request_body` with 413.
    static func collectBody(of request: Request, limit: Int) async throws(ProxyError) -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ProxyError(.requestTooLarge, "The request body exceeds the limit of \(limit) bytes.")
        } catch {
            throw ProxyError(.invalidRequest, "The request body could not be read.")
        }
    }

    /// Sends `bytes` as the response body, then records the finished request.
    func respond(status: HTTPResponse.Status, headers: HTTPFields, bytes: [UInt8], record: UsageRecord, clock: RequestClock) -> Response {
        var finished = record
        finished.status = Int(status.code)
        let usage = self.usage
        let body = ResponseBody(contentLength: bytes.count) { [finished] writer in
            var record = finished
            defer {
                record.latencyMilliseconds = clock.elapsedMilliseconds
                if record.timeToFirstChunkMilliseconds == nil { record.timeToFirstChunkMilliseconds = record.latencyMilliseconds }
                usage.record(record)
            }
            do {
                try await writer.write(ByteBuffer(bytes: bytes))
                try await writer.finish(nil)
            } catch {
                record.outcome = .clientDisconnected
                throw error
            }
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// Answers `error` in the OpenAI envelope (plus `success: false` on the service API) and records it.
    func respond(error: ProxyError, api: API, record: UsageRecord, clock: RequestClock) -> Response {
        var record = record
        record.errorType = error.shortDescription
        if record.outcome == .success { record.outcome = error.code == .upstreamError || error.isRetryable ? .upstreamError : .rejected }
        var body = error.openAIBody.json
        if api == .service {
            body["success"] = false
            body["content"] = nil
            body["provider"] = .optional(record.provider)
        }
        var headers = Self.headers(requestID: record.requestID, contentType: "application/json")
        if let retryAfter = error.retryAfter { headers[.retryAfter] = retryAfter }
        return self.respond(status: HTTPResponse.Status(code: error.status), headers: headers, bytes: body.serialized(), record: record, clock: clock)
    }

    /// Response headers: content type, request id, and the request's cost when it has one.
    static func headers(requestID: String, contentType: String, cost: Billing.Cost? = nil) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.requestID] = requestID
        if let cost {
            headers[.sidecarCost] = "\(cost.amount)"
            headers[.sidecarCurrency] = cost.currency
        }
        return headers
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
    static let sidecarCost = Self("X-Sidecar-Cost")!
    static let sidecarCurrency = Self("X-Sidecar-Currency")!
    static let taskType = Self("X-Task-Type")!
}
