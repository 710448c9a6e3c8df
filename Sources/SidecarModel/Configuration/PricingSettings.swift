//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Where default prices come from besides the built-in table (`pricing:`).
package struct PricingSettings: Sendable {
    package static let allowedKeys: Set<String> = ["catalog"]

    /// `pricing.catalog`: a community catalog in LiteLLM's format, read at start-up and on
    /// every reload; empty when not configured.
    package var catalog = PriceCatalog.empty

    /// Decodes `pricing:` and reads the catalog it names. A relative path is resolved against
    /// the directory of the configuration file; an empty one (`${SIDECAR_PRICE_CATALOG:-}`
    /// unset) means none.
    package static func decode(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> PricingSettings {
        var settings = PricingSettings()
        for (key, child) in reader.mapping(value, allowedKeys: Self.allowedKeys) where key == "catalog" {
            guard let path = reader.path(child), !path.isEmpty else { continue }
            do {
                settings.catalog = try PriceCatalog.load(path: path)
            } catch {
                reader.report(child, error.message)
            }
        }
        return settings
    }
}
