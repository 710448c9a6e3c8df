//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel
import Translate

/// Relays a Responses stream from a provider that speaks Responses, event by event as the
/// provider wrote it (scrubbed of provider keys, whole events at a time), reading the usage,
/// model and id the sidecar bills and logs from its final event (`response.completed`,
/// `response.incomplete` or `response.failed`).
struct NativeResponsesRelay: StreamRelay {
    let route: RouteCandidate
    private var parser = SSEParser()
    private var final: JSONValue?
    private var delivered = TextTally()
    /// Provider bytes read so far, capped at ``Pipeline/maximumResponseBytes``.
    private var received = 0
    /// The provider's failure (`error` or `response.failed` event), relayed by ``failure(_:)``.
    private var failed: (events: [UInt8], failure: UpstreamFailure)?

    init(route: RouteCandidate) {
        self.route = route
    }

    func headers(for upstream: UpstreamResponseHead) -> HTTPHeaders {
        ["Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"]
    }

    mutating func consume(_ bytes: [UInt8]) throws(ProxyError) -> [UInt8] {
        self.received += bytes.count
        guard self.received <= Pipeline.maximumResponseBytes else {
            throw ProxyError(.upstreamResponseTooLarge, "The provider's stream exceeded \(Pipeline.maximumResponseBytes >> 20) MiB.")
        }
        let events: [SSEEvent]
        do {
            events = try self.parser.feed(bytes)
        } catch {
            throw ProxyError(error)
        }
        return try self.relayed(events)
    }

    mutating func finish() throws(ProxyError) -> [UInt8] {
        let rest = try self.relayed(self.parser.finish())
        guard self.final != nil else {
            throw ProxyError(.upstreamMalformed, "The provider's Responses stream ended without its final event.")
        }
        return rest
    }

    /// The provider's own `error` or `response.failed` events when it failed, else nothing.
    func failure(_ error: ProxyError) -> [UInt8] { self.failed?.events ?? [] }

    /// The events relayed; throws when one says the provider failed, which counts against it
    /// like a chat stream's error event.
    private mutating func relayed(_ events: [SSEEvent]) throws(ProxyError) -> [UInt8] {
        let output = self.relay(events)
        guard let failure = self.failed?.failure else { return output }
        self.failed = (output, failure)
        throw self.route.provider.proxyError(failure)
    }

    var billing: Billing? {
        let usage = Usage(responses: self.final?["usage"])
        return Billing(route: self.route, providerUsage: usage) {
            self.delivered.estimatedTokens
        } promptEstimate: {
            0
        }
    }

    func summarize(into context: inout RequestContext) {
        context.answer = RequestContext.AnswerSummary(
            responseModel: self.final?["model"]?.stringValue,
            responseID: self.final?["id"]?.stringValue,
            finishReasons: self.final?["status"]?.stringValue.map { [$0] } ?? []
        )
    }

    /// The events re-framed as the provider sent them, scrubbed; the final one remembered. An
    /// `event:` name is written only when it is a plain event type (letters, digits, `.`, `_`),
    /// and each `data:` line on its own, so a provider cannot frame events the client would
    /// read differently.
    private mutating func relay(_ events: [SSEEvent]) -> [UInt8] {
        var output: [UInt8] = []
        for event in events {
            let payload = try? JSONValue.parse(event.data)
            if let type = event.event ?? payload?["type"]?.stringValue, Self.isPlainType(type) {
                self.observe(type, payload)
                output.append(contentsOf: "event: \(type)\n".utf8)
            }
            for line in event.data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                output.append(contentsOf: "data: ".utf8)
                output.append(contentsOf: line)
                output.append(UInt8(ascii: "\n"))
            }
            output.append(UInt8(ascii: "\n"))
        }
        return output.isEmpty ? output : self.route.provider.scrubber.scrub(output, mode: .answer)
    }

    private mutating func observe(_ type: String, _ payload: JSONValue?) {
        switch type {
        case "response.output_text.delta", "response.function_call_arguments.delta", "response.reasoning_summary_text.delta":
            if let delta = payload?["delta"]?.stringValue { self.delivered.add(delta) }
        case "response.completed", "response.incomplete":
            self.final = payload?["response"]
        case "response.failed", "error":
            self.final = payload?["response"] ?? self.final
            let error = payload?["response"]?["error"] ?? payload
            let message = error?["message"]?.stringValue ?? "The provider's Responses stream failed."
            self.failed = ([], UpstreamFailure(kind: .serverError, upstreamStatus: nil, message: message, code: error?["code"]?.stringValue))
        default:
            break
        }
    }

    private static func isPlainType(_ type: String) -> Bool {
        !type.isEmpty && type.utf8.count <= 128
            && type.utf8.allSatisfy { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) }
    }

    /// A whole native answer: relayed as sent, billed from its `usage`.
    static func decode(_ bytes: [UInt8], route: RouteCandidate, context: inout RequestContext) throws(ProxyError) -> [UInt8] {
        let response: JSONValue
        do {
            response = try JSONValue.parse(bytes)
        } catch {
            throw ProxyError(.upstreamMalformed, "The provider's response is not valid JSON.")
        }
        context.billing = Billing(route: route, providerUsage: Usage(responses: response["usage"])) {
            0
        } promptEstimate: {
            0
        }
        context.answer = RequestContext.AnswerSummary(
            responseModel: response["model"]?.stringValue,
            responseID: response["id"]?.stringValue,
            finishReasons: response["status"]?.stringValue.map { [$0] } ?? []
        )
        return bytes
    }
}
