//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import Translate

extension ModelEntry {
    /// The price in force today for the first deployment, from whichever source: what
    /// listings (`/api/v1/models`) show. Requests are billed per deployment (see `Billing` in the runtime).
    package var price: Price? { self.resolvedPrice(on: CalendarDay(Date()))?.price }

    /// The first deployment's price on `day`, and where it comes from.
    package func resolvedPrice(on day: CalendarDay) -> ModelPricing.Resolved? {
        self.pricing.resolve(vendor: self.pricing.listingVendor, upstreamModel: self.upstreamModel ?? self.name, on: day)
    }
}
