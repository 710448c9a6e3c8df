//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

/// Checks an audit chain: every audit line's `seq` is one more than the previous line's and
/// its `prev` is the SHA-256 of the previous line's bytes. Other lines (usage lines, logs) are
/// skipped, so a mixed stream such as `kubectl logs` output can be verified.
struct AuditVerifier {
    /// The first problem: the 1-based line number in the input and what is wrong there.
    struct Break: Error, Equatable, CustomStringConvertible {
        var line: Int
        var reason: String
        var description: String { "line \(self.line): \(self.reason)" }
    }

    /// What a verified input held.
    struct Summary: Equatable {
        var auditLines = 0
        /// Chains started (`audit_started` with a zero `prev`): one per process start.
        var chains = 0
    }

    private var summary = Summary()
    private var previous: (hash: String, sequence: Int, line: Int)?

    static func isAuditLine(_ line: ArraySlice<UInt8>) -> Bool {
        line.first == UInt8(ascii: "{") && line.count > 20 && line.starts(with: #"{"timestamp":"#.utf8) && Self.contains(line, #""kind":"audit""#)
    }

    /// Feeds the next input line (numbered from 1).
    mutating func check(_ line: ArraySlice<UInt8>, number: Int) throws(Break) {
        guard Self.isAuditLine(line) else { return }
        guard let object = try? JSONValue.parse(Array(line)), let sequence = object["seq"]?.intValue,
            let prev = object["prev"]?.stringValue, let event = object["event"]?.stringValue
        else { throw Break(line: number, reason: "not a well-formed audit line") }
        self.summary.auditLines += 1
        if prev == AuditLog.genesis, event == "audit_started" {
            self.summary.chains += 1
        } else if let previous = self.previous {
            guard sequence == previous.sequence + 1 else {
                let what = sequence > previous.sequence + 1 ? "a line before it is missing or out of order" : "it is out of order or repeated"
                throw Break(line: number, reason: "seq \(sequence) follows seq \(previous.sequence) (line \(previous.line)): \(what)")
            }
            guard prev == previous.hash else {
                throw Break(line: number, reason: "line \(previous.line) was edited: its hash does not match this line's prev")
            }
        } else {
            throw Break(line: number, reason: "the chain does not start with audit_started: earlier lines are missing")
        }
        self.previous = (SHA256.hex(line), sequence, number)
    }

    /// Verifies every line of a file.
    static func verify(file path: String) throws(Break) -> Summary {
        var verifier = AuditVerifier()
        var number = 0
        var failure: Break?
        let opened = FileReader.forEachLine(path) { line in
            number += 1
            guard failure == nil else { return }
            do throws(Break) { try verifier.check(line, number: number) } catch { failure = error }
        }
        guard opened else { throw Break(line: 0, reason: "cannot read \(path)") }
        if let failure { throw failure }
        return verifier.summary
    }

    private static func contains(_ line: ArraySlice<UInt8>, _ needle: String) -> Bool {
        let bytes = Array(needle.utf8)
        guard line.count >= bytes.count else { return false }
        var index = line.startIndex
        while index <= line.endIndex - bytes.count {
            if line[index..<index + bytes.count].elementsEqual(bytes) { return true }
            index += 1
        }
        return false
    }
}
