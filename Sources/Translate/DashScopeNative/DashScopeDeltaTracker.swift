//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Turns the messages of one streamed choice into deltas, whether DashScope sends deltas (what
/// `incremental_output: true` asks for) or the full text so far (what it does without it, and
/// what a model that ignores the flag would do).
///
/// The two are told apart by the stream itself: in a full-text stream every event extends the
/// previous one in every field (reasoning, content, each tool call's arguments). One event that
/// happens to start with the text before it proves nothing (`"ha"` then `"haha"`), so such
/// events are held back until the stream settles it: full text is assumed once the held chain
/// has grown twice (an event equal to its predecessor counts as no evidence), or when the final
/// event extends it; any event that does not extend its predecessor proves deltas, and the held
/// events are released as deltas. Nothing is lost or duplicated either way; the cost is that
/// ambiguous events wait for the next one.
struct DashScopeDeltaTracker {
    enum Mode: Equatable {
        case undetermined
        case incremental
        case cumulative
    }

    typealias Message = DashScopeNativeResponseDecoder.Message

    private(set) var mode = Mode.undetermined
    /// What the deltas handed out so far add up to, per field.
    private var emitted: [String: String] = [:]
    /// Events withheld until the mode is known.
    private var held: [Message] = []
    /// How many of the held events grew on their predecessor (rather than repeating it).
    private var heldGrowth = 0

    /// The deltas to emit for `message` (none while it is held, several when held events are
    /// released). `isFinal` marks the event carrying the finish reason.
    mutating func deltas(for message: Message, isFinal: Bool) -> [Message] {
        switch self.mode {
        case .incremental:
            return [message]
        case .cumulative:
            return [self.difference(to: message)]
        case .undetermined:
            break
        }
        let base = self.held.last.map(Self.fields(of:)) ?? self.emitted
        switch Self.compare(Self.fields(of: message), to: base) {
        case .unrelated where self.held.isEmpty:
            for (key, value) in Self.fields(of: message) { self.emitted[key, default: ""] += value }
            return [message]
        case .unrelated, .contradicts:
            self.mode = .incremental
            defer { self.held = [] }
            return self.held + [message]
        case .extends(let grew):
            let growth = self.heldGrowth + (grew ? 1 : 0)
            guard isFinal || growth >= 2 else {
                self.held.append(message)
                self.heldGrowth = growth
                return []
            }
            self.mode = .cumulative
            self.held = []
            return [self.difference(to: message)]
        }
    }

    private enum Relation {
        /// No field had earlier text to compare with.
        case unrelated
        /// Some field does not start with its earlier text: these are deltas.
        case contradicts
        /// Every field with earlier text starts with it; `grew` when some field is longer.
        case extends(grew: Bool)
    }

    private static func compare(_ fields: [String: String], to base: [String: String]) -> Relation {
        var compared = false
        var grew = false
        for key in Set(fields.keys).union(base.keys) {
            let old = (base[key] ?? "").unicodeScalars
            let new = (fields[key] ?? "").unicodeScalars
            guard !old.isEmpty else {
                if !new.isEmpty { grew = true }
                continue
            }
            compared = true
            guard new.starts(with: old) else { return .contradicts }
            if new.count > old.count { grew = true }
        }
        return compared ? .extends(grew: grew) : .unrelated
    }

    /// The part of each field of a full-text `message` not yet emitted (after the longest common
    /// prefix, should the provider ever rewrite earlier text).
    private mutating func difference(to message: Message) -> Message {
        func delta(_ key: String, _ text: String) -> String {
            let old = Array((self.emitted[key] ?? "").unicodeScalars)
            let new = Array(text.unicodeScalars)
            var common = 0
            while common < old.count, common < new.count, old[common] == new[common] { common += 1 }
            self.emitted[key] = text
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: new[common...])
            return String(scalars)
        }
        var result = Message()
        result.reasoning = delta("reasoning", message.reasoning)
        result.content = delta("content", message.content)
        result.calls = message.calls.map { call in
            var call = call
            call.arguments = delta("arguments.\(call.index)", call.arguments)
            return call
        }
        return result
    }

    private static func fields(of message: Message) -> [String: String] {
        var fields = ["reasoning": message.reasoning, "content": message.content]
        for call in message.calls { fields["arguments.\(call.index)"] = call.arguments }
        return fields
    }
}
