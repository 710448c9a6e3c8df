//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Removes secrets from text a provider sent back (error messages), before it reaches a client
/// or a log: the configured keys themselves, and anything shaped like a key — `sk-…` (OpenAI,
/// DeepSeek, DashScope, Anthropic), `AIza…` (Google), and the value after `Bearer` — each
/// replaced by `[redacted]`.
enum SecretScrubber {
    nonisolated(unsafe) private static let keyShapes = [
        /sk-[A-Za-z0-9_\-]{12,}/,
        /AIza[0-9A-Za-z_\-]{20,}/,
        /(?i:bearer)\s+[A-Za-z0-9_\-\.=]{12,}/,
    ]

    static func scrub(_ text: String, secrets: [Secret]) -> String {
        var text = text
        for secret in secrets where !secret.value.isEmpty && text.contains(secret.value) {
            text = text.replacing(secret.value, with: "[redacted]")
        }
        for shape in Self.keyShapes {
            text = text.replacing(shape, with: "[redacted]")
        }
        return text
    }
}
