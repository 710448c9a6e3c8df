//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import Logging
import SidecarModel
import Translate

/// Writes diagnostic log lines to standard error as JSON objects
/// (`{"timestamp","level","label","message",...metadata}`), one per line, for log pipelines
/// that parse JSON. Standard output is reserved for usage lines.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: JSONObject = [
            "timestamp": .string(UsageRecord.timestamp(Date())),
            "level": .string(event.level.rawValue),
            "label": .string(self.label),
            "message": .string(event.message.description),
        ]
        let merged = self.metadata.merging(self.metadataProvider?.get() ?? [:]) { $1 }.merging(event.metadata ?? [:]) { $1 }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            object[key] = .string(value.description)
        }
        var line = object.serialized()
        line.append(UInt8(ascii: "\n"))
        StandardError.write(String(decoding: line, as: UTF8.self))
    }
}
