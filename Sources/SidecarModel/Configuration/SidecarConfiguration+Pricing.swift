//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials

extension SidecarConfiguration {
    /// Gives every model the catalog and its first deployment's vendor, fills missing
    /// `context_window` and `max_output_tokens` from the catalog, and adds one warning naming
    /// the models no source prices today.
    package mutating func resolvePricing(on day: CalendarDay = CalendarDay(Date())) {
        let providers = self.providers
        let catalog = self.pricing.catalog
        self.models.updateEntries { entry in
            entry.pricing.catalog = catalog
            entry.pricing.listingVendor = providers[entry.provider].flatMap(\.dialect.kind.priceVendor)
            guard let vendor = entry.pricing.listingVendor, let limits = catalog.entry(vendor, model: entry.upstreamModel ?? entry.name) else {
                return
            }
            entry.contextWindow = entry.contextWindow ?? limits.contextWindow
            entry.maxOutputTokens = entry.maxOutputTokens ?? limits.maxOutputTokens
        }
        if let warning = self.unpricedModelsWarning(on: day) { self.warnings.append(warning) }
    }

    /// One line naming every model that no source prices on `day` (with the deployments that
    /// lack a price when only some do): their usage lines will say `"cost": null`.
    package func unpricedModelsWarning(on day: CalendarDay) -> String? {
        var unpriced: [String] = []
        for entry in self.models.allEntries {
            let vendors = entry.deployments.map { self.providers[$0.provider].flatMap(\.dialect.kind.priceVendor) }
            if entry.isPattern {
                guard entry.pricing.configured?.entry(on: day) == nil else { continue }
                let known = vendors.contains { $0 != nil }
                unpriced.append(known ? "\(entry.name) (except names the catalog or built-in table knows)" : entry.name)
                continue
            }
            let missing = zip(entry.deployments, vendors).filter { deployment, vendor in
                entry.pricing.resolve(vendor: vendor, upstreamModel: deployment.upstreamModel ?? entry.name, on: day) == nil
            }
            if missing.count == entry.deployments.count {
                unpriced.append(entry.name)
            } else if !missing.isEmpty {
                unpriced.append(
                    "\(entry.name) (on \(missing.map { "\($0.0.provider)/\($0.0.upstreamModel ?? entry.name)" }.joined(separator: ", ")))"
                )
            }
        }
        guard !unpriced.isEmpty else { return nil }
        let subject = unpriced.count == 1 ? "model" : "\(unpriced.count) models"
        return "no price for \(subject) \(unpriced.joined(separator: ", ")): cost is reported as null; "
            + "set models.<name>.price or pricing.catalog"
    }
}
