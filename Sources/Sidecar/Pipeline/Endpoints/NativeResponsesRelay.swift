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
/// `response.incomplete` or `response.failed`). Without provider usage, the use is estimated like
/// chat's: the prompt from the request, the output from the text delivered. A stream that
/// breaks — a provider failure event, an event that is not JSON, a dropped connection — ends with
/// the events read so far (the provider's own failure events, if it sent them) or a Responses
/// `error` event the sidecar numbers after the provider's last.
struct NativeResponsesRelay: StreamRelay {
    let route: RouteCandidate
    /// The request's estimated prompt tokens, for when the provider reports no usage.
    let promptTokens: Int
    private var reader = ProviderEventReader()
    private var final: JSONValue?
    private var delivered = TextTally()
    /// Why the stream broke, found while relaying a read.
    private var breakage: ProxyError?
    /// The events relayed with the read that broke the stream, and whether the provider itself
    /// said it failed (its events then end the client's stream).
    private var failed: (events: [UInt8], byProvider: Bool)?
    /// The provider's last `sequence_number`.
    private var sequence = -1

    init(route: RouteCandidate, promptTokens: Int) {
        self.route = route
        self.promptTokens = promptTokens
    }

    func headers(for upstream: UpstreamResponseHead) -> HTTPHeaders {
        ["Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"]
    }

    mutating func consume(_ bytes: [UInt8]) throws(ProxyError) -> [UInt8] {
        let events = try self.reader.feed(bytes)
        return try self.relayed(events)
    }

    mutating func finish() throws(ProxyError) -> [UInt8] {
        let rest = try self.relayed(self.reader.finish())
        guard self.final != nil else {
            throw ProxyError(.upstreamMalformed, "The provider's Responses stream ended without its final event.")
        }
        return rest
    }

    /// The events of the read that broke the stream, then — unless the provider sent its own
    /// failure events — a Responses `error` event.
    func failure(_ error: ProxyError) -> [UInt8] {
        var output = self.failed?.events ?? []
        guard self.failed?.byProvider != true else { return output }
        let event: JSONObject = [
            "type": "error", "code": .string(error.openAIBody.code ?? error.openAIBody.type), "message": .string(error.message),
            "param": .null, "sequence_number": .int(self.sequence + 1),
        ]
        output.append(contentsOf: "event: error\n".utf8)
        SSEEncoder.appendEvent(event.serialized(), to: &output)
        return output
    }

    /// The events relayed; throws when one says the provider failed (which counts against it
    /// like a chat stream's error event) or is not JSON.
    private mutating func relayed(_ events: [SSEEvent]) throws(ProxyError) -> [UInt8] {
        let output = self.relay(events)
        guard let breakage = self.breakage else { return output }
        self.failed = (output, breakage.upstreamFailure != nil)
        throw breakage
    }

    var billing: Billing? {
        let usage = Usage(responses: self.final?["usage"])
        return Billing(route: self.route, providerUsage: usage) {
            self.delivered.estimatedTokens
        } promptEstimate: {
            self.promptTokens
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
            guard let payload = try? JSONValue.parse(event.data) else {
                // A `[DONE]` some OpenAI-compatible servers end with is passed on; anything else breaks the stream.
                if event.isDoneMarker {
                    output.append(contentsOf: SSEEncoder.doneEvent)
                    continue
                }
                self.breakage = ProxyError(.upstreamMalformed, "The provider's Responses stream carried an event that is not JSON.")
                break
            }
            if let number = payload["sequence_number"]?.intValue { self.sequence = max(self.sequence, number) }
            if let type = event.event ?? payload["type"]?.stringValue, Self.isPlainType(type) {
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
            let failure = UpstreamFailure(kind: .serverError, upstreamStatus: nil, message: message, code: error?["code"]?.stringValue)
            self.breakage = self.route.provider.proxyError(failure)
        default:
            break
        }
    }

    private static func isPlainType(_ type: String) -> Bool {
        !type.isEmpty && type.utf8.count <= 128
            && type.utf8.allSatisfy { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) }
    }

    /// A whole native answer: relayed as sent, billed from its `usage`, else estimated from
    /// `promptTokens` and its output text.
    static func decode(_ bytes: [UInt8], route: RouteCandidate, promptTokens: Int, context: inout RequestContext) throws(ProxyError) -> [UInt8] {
        let response: JSONValue
        do {
            response = try JSONValue.parse(bytes)
        } catch {
            throw ProxyError(.upstreamMalformed, "The provider's response is not valid JSON.")
        }
        context.billing = Billing(route: route, providerUsage: Usage(responses: response["usage"])) {
            var output = TextTally()
            for item in response["output"]?.arrayValue ?? [] {
                for part in item["content"]?.arrayValue ?? [] { output.add(part["text"]?.stringValue ?? "") }
                for part in item["summary"]?.arrayValue ?? [] { output.add(part["text"]?.stringValue ?? "") }
                output.add(item["arguments"]?.stringValue ?? "")
            }
            return output.estimatedTokens
        } promptEstimate: {
            promptTokens
        }
        context.answer = RequestContext.AnswerSummary(
            responseModel: response["model"]?.stringValue,
            responseID: response["id"]?.stringValue,
            finishReasons: response["status"]?.stringValue.map { [$0] } ?? []
        )
        return bytes
    }
}
