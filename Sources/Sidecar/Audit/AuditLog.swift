//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import SidecarModel
import Synchronization
import Translate

/// Audit lines: one JSON line (`"kind":"audit"`) per security-relevant event — configuration
/// loaded, reloaded or rejected, keys changed, authentication, authorization and quota denials,
/// circuit-breaker changes — chained by hash so that an edited, deleted or reordered line is
/// detected (`llm-sidecar audit verify`).
///
/// Each line carries `seq` (one more than the previous line's) and `prev`, the SHA-256 of the
/// previous audit line's bytes. A chain starts with an `audit_started` line whose `prev` is 64
/// zeros; when the sink is a file that already holds a chain, the new process continues it.
/// Values that identify secrets are never written: keys are named by their source, tokens by
/// the first 12 hexadecimal digits of their SHA-256.
final class AuditLog: Sendable {
    static let genesis = String(repeating: "0", count: 64)

    private struct Chain {
        var sequence: Int
        var previous: String
    }

    private let chain: Mutex<Chain>
    private let write: @Sendable ([UInt8]) -> Void

    /// - Parameters:
    ///   - continuing: the last line of an existing chain in the sink, to continue it.
    ///   - write: appends one line to the sink, in call order.
    init(continuing last: [UInt8]? = nil, write: @escaping @Sendable ([UInt8]) -> Void) {
        let sequence = last.flatMap { try? JSONValue.parse($0)["seq"]?.intValue }
        self.chain = Mutex(Chain(sequence: sequence ?? -1, previous: last.map { SHA256.hex($0) } ?? Self.genesis))
        self.write = write
        self.record("audit_started", ["continues": .bool(last != nil)])
    }

    /// Writes one event with its fields (in order) after `timestamp`, `kind`, `seq` and `event`.
    func record(_ event: String, _ fields: JSONObject = [:]) {
        let timestamp = UsageRecord.timestamp(Date())
        self.chain.withLock { chain in
            var line: JSONObject = [
                "timestamp": .string(timestamp), "kind": "audit", "seq": .number(JSONNumber(chain.sequence + 1)), "event": .string(event),
            ]
            for member in fields.members { line[member.key] = member.value }
            line["prev"] = .string(chain.previous)
            let bytes = JSONValue.object(line).serialized()
            chain.sequence += 1
            chain.previous = SHA256.hex(bytes)
            self.write(bytes + [UInt8(ascii: "\n")])
        }
    }

    /// The last audit line of a file, to continue its chain; `nil` when it has none.
    static func lastLine(inFile path: String) -> [UInt8]? {
        var last: [UInt8]?
        _ = FileReader.forEachLine(path) { line in
            if AuditVerifier.isAuditLine(line) { last = Array(line) }
        }
        return last
    }
}
