//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import FoundationEssentials
package import Translate

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension UsageRecord {
    /// The record as one JSON line (ending in `\n`), `labels` with a value appended as fields.
    ///
    /// GenAI fields use the OpenTelemetry semantic-convention names (`gen_ai.usage.input_tokens`,
    /// `gen_ai.provider.name`, …); token fields are integers, `cost` a decimal number or `null`
    /// when the model has no price, durations are milliseconds.
    package func jsonLine(labels: [(name: String, value: String)] = []) -> [UInt8] {
        let usage = self.usage
        var line = JSONObjectWriter(reservingCapacity: 1024)
        line.field("timestamp", Self.timestamp(self.timestamp))
        line.field("kind", "usage")
        line.field("request_id", self.requestID)
        line.field("api", self.api)
        line.field("client", self.client)
        line.field("task_type", self.taskType)
        line.field("gen_ai.operation.name", self.operation)
        line.field("gen_ai.request.model", self.requestedModel)
        line.field("model", self.model)
        line.field("gen_ai.provider.name", self.provider)
        line.field("upstream_model", self.upstreamModel)
        line.field("gen_ai.response.model", self.responseModel)
        line.field("gen_ai.response.id", self.responseID)
        line.field("gen_ai.request.stream", self.stream)
        line.field("http.response.status_code", self.status)
        line.field("outcome", self.outcome.rawValue)
        line.field("error.type", self.errorType)
        line.field("gen_ai.usage.input_tokens", usage?.inputTokens)
        line.field("gen_ai.usage.output_tokens", usage?.outputTokens)
        line.field("gen_ai.usage.cache_read.input_tokens", usage?.cachedInputTokens)
        line.field("gen_ai.usage.cache_creation.input_tokens", usage?.cacheCreationInputTokens)
        line.field("gen_ai.usage.reasoning.output_tokens", usage?.reasoningTokens)
        line.field("usage_source", self.usageSource.rawValue)
        line.field("cost", number: self.cost.flatMap { JSONNumber(literal: $0.description) })
        line.field("currency", self.currency)
        line.field("latency_ms", number: JSONNumber(Self.rounded(self.latencyMilliseconds)))
        line.field("time_to_first_chunk_ms", number: self.timeToFirstChunkMilliseconds.map { JSONNumber(Self.rounded($0)) })
        line.field("gen_ai.response.finish_reasons", strings: self.finishReasons)
        line.field("attempts", self.attempts)
        line.field("route_role", self.routeRole)
        line.field("route", .array(self.routeDecisions.map(\.json)))
        for label in labels where !label.value.isEmpty {
            line.field(dynamicKey: label.name, label.value)
        }
        var bytes = line.finish()
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    private static func rounded(_ milliseconds: Double) -> Double {
        (milliseconds * 1000).rounded() / 1000
    }

    /// `2026-11-27T03:07:26.495Z`: UTC with milliseconds, formatted without Foundation's
    /// (comparatively slow) date formatters because it runs once per request.
    package static func timestamp(_ date: Date) -> String {
        Self.timestamp(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// The same format for Unix seconds.
    package static func timestamp(seconds: Int64) -> String {
        Self.timestamp(milliseconds: seconds * 1000)
    }

    private static func timestamp(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text: [UInt8] = []
        text.reserveCapacity(24)
        func append(_ value: Int32, digits: Int) {
            var divisor: Int32 = 1
            for _ in 1..<digits { divisor *= 10 }
            var remaining = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(remaining / divisor))
                remaining %= divisor
                divisor /= 10
            }
        }
        append(parts.tm_year + 1900, digits: 4)
        text.append(UInt8(ascii: "-"))
        append(parts.tm_mon + 1, digits: 2)
        text.append(UInt8(ascii: "-"))
        append(parts.tm_mday, digits: 2)
        text.append(UInt8(ascii: "T"))
        append(parts.tm_hour, digits: 2)
        text.append(UInt8(ascii: ":"))
        append(parts.tm_min, digits: 2)
        text.append(UInt8(ascii: ":"))
        append(parts.tm_sec, digits: 2)
        text.append(UInt8(ascii: "."))
        append(Int32(milliseconds % 1000), digits: 3)
        text.append(UInt8(ascii: "Z"))
        return String(decoding: text, as: UTF8.self)
    }
}

extension RouteDecision {
    /// `{"model","deployment","outcome","reason"}` for the usage line's `route` list.
    package var json: JSONValue {
        [
            "model": .string(self.model), "deployment": .string(self.deployment), "outcome": .string(self.outcome.rawValue),
            "reason": .optional(self.reason),
        ]
    }
}
