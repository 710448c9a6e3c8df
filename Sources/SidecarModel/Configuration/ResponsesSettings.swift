//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// `responses:`: how the Responses API keeps conversation state for requests it translates.
/// Read at start-up (a reload does not resize the store).
package struct ResponsesSettings: Sendable, Hashable {
    /// `store.max_entries`: the most responses kept (default 1,000; 1 to 1,000,000).
    package var maximumEntries = 1_000
    /// `store.max_bytes`: the most bytes of responses and their input kept (default 64 MiB;
    /// 1 KiB to 4 GiB). A response larger than this is not kept.
    package var maximumBytes = 64 << 20
    /// `store.ttl`: how long a response is kept (default 1h; at least 1s).
    package var timeToLive: Duration = .seconds(3_600)

    package init() {}

    package static let keys: Set<String> = ["store"]
    package static let storeKeys: Set<String> = ["max_entries", "max_bytes", "ttl"]

    /// Decodes `responses:`; problems are reported with their line and field.
    package static func decode(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> ResponsesSettings {
        var settings = ResponsesSettings()
        for (_, store) in reader.mapping(value, allowedKeys: Self.keys) {
            for (key, child) in reader.mapping(store, allowedKeys: Self.storeKeys) {
                switch key {
                case "max_entries": settings.maximumEntries = reader.int(child, in: 1...1_000_000) ?? settings.maximumEntries
                case "max_bytes":
                    guard let bytes = reader.byteSize(child) else { continue }
                    guard (1024...(4 << 30)).contains(bytes) else {
                        reader.report(child, "must be from 1KiB to 4GiB")
                        continue
                    }
                    settings.maximumBytes = bytes
                default:
                    guard let ttl = reader.duration(child) else { continue }
                    guard ttl >= .seconds(1) else {
                        reader.report(child, "must be at least 1s")
                        continue
                    }
                    settings.timeToLive = ttl
                }
            }
        }
        return settings
    }
}
