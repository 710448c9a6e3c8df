//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Translate

extension UsageRecord {
    /// The record as one JSON line (ending in `\n`).
    ///
    /// GenAI fields use the OpenTelemetry semantic-convention names (`gen_ai.usage.input_tokens`,
    /// `gen_ai.provider.name`, …); token fields are integers, `cost` a decimal number or `null`
    /// when the model has no price, durations are milliseconds.
    func jsonLine() -> [UInt8] {
        let usage = self.usage
        let object: JSONObject = [
            "timestamp": .string(Self.timestampFormat.format(self.timestamp)),
            "kind": "usage",
            "request_id": .string(self.requestID),
            "api": .string(self.api),
            "client": .string(self.client),
            "task_type": .optional(self.taskType),
            "gen_ai.operation.name": .string(self.operation),
            "gen_ai.request.model": .optional(self.requestedModel),
            "model": .optional(self.model),
            "gen_ai.provider.name": .optional(self.provider),
            "upstream_model": .optional(self.upstreamModel),
            "gen_ai.response.model": .optional(self.responseModel),
            "gen_ai.response.id": .optional(self.responseID),
            "gen_ai.request.stream": .bool(self.stream),
            "http.response.status_code": .int(self.status),
            "outcome": .string(self.outcome.rawValue),
            "error.type": .optional(self.errorType),
            "gen_ai.usage.input_tokens": usage.map { .int($0.inputTokens) } ?? .null,
            "gen_ai.usage.output_tokens": usage.map { .int($0.outputTokens) } ?? .null,
            "gen_ai.usage.cache_read.input_tokens": usage.map { .int($0.cachedInputTokens) } ?? .null,
            "gen_ai.usage.cache_creation.input_tokens": usage.map { .int($0.cacheCreationInputTokens) } ?? .null,
            "gen_ai.usage.reasoning.output_tokens": usage.map { .int($0.reasoningTokens) } ?? .null,
            "usage_source": .string(self.usageSource.rawValue),
            "cost": self.cost.map(Self.decimalJSON) ?? .null,
            "currency": .optional(self.currency),
            "latency_ms": .number(JSONNumber(Self.rounded(self.latencyMilliseconds))),
            "time_to_first_chunk_ms": self.timeToFirstChunkMilliseconds.map { .number(JSONNumber(Self.rounded($0))) } ?? .null,
            "gen_ai.response.finish_reasons": .array(self.finishReasons.map(JSONValue.string)),
            "attempts": .int(self.attempts),
        ]
        var line = object.serialized()
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// A cost as a JSON number with at most 10 decimal places (far below a cent).
    static func decimalJSON(_ value: Decimal) -> JSONValue {
        var value = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 10, .plain)
        return JSONNumber(literal: "\(rounded)").map(JSONValue.number) ?? .null
    }

    private static func rounded(_ milliseconds: Double) -> Double {
        (milliseconds * 1000).rounded() / 1000
    }

    private static let timestampFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
