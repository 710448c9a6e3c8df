//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// How one model is priced: its own prices from `sidecar.yaml`, else the default price of
/// whichever deployment served — the community catalog's, then the built-in table's.
///
/// Defaults are per deployment because one model may be served by vendors that charge
/// differently: `deepseek-v3` from DeepSeek in USD and from DashScope in CNY. A source with no
/// price in force at the request's time defers to the next one.
package struct ModelPricing: Sendable {
    /// Where a price came from.
    package enum Origin: String, Sendable, Hashable {
        /// `models.<name>.price` in `sidecar.yaml`.
        case configured = "sidecar.yaml"
        /// `pricing.catalog`.
        case catalog
        /// ``BuiltInPrices``.
        case builtIn = "built-in"
    }

    /// A price in force and where it came from.
    package struct Resolved: Sendable, Hashable {
        package var price: Price
        package var effective: CalendarDay?
        package var origin: Origin
    }

    /// `models.<name>.price`: wins over every default.
    package var configured: PriceSchedule?
    /// The catalog and the built-in table, shared by every model of a configuration.
    package var catalog = PriceCatalog.empty
    /// The vendor of the first deployment, for listings (`/api/v1/models`).
    package var listingVendor: PriceVendor?

    /// The price for a request sent to `upstreamModel` through a provider of `vendor` on `day`.
    package func resolve(vendor: PriceVendor?, upstreamModel: String, on day: CalendarDay) -> Resolved? {
        if let entry = self.configured?.entry(on: day) {
            return Resolved(price: entry.price, effective: entry.effective, origin: .configured)
        }
        guard let vendor else { return nil }
        if let price = self.catalog.entry(vendor, model: upstreamModel)?.price {
            return Resolved(price: price, effective: nil, origin: .catalog)
        }
        if let entry = BuiltInPrices.schedules["\(vendor.rawValue)/\(upstreamModel)"]?.entry(on: day) {
            return Resolved(price: entry.price, effective: entry.effective, origin: .builtIn)
        }
        return nil
    }
}
