//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

extension ModelEntry {
    /// What `model` costs on `day` when `deployment` serves it: its vendor's price for the
    /// upstream model it is asked for.
    func price(of model: ResolvedModel, on deployment: DeploymentChoice, day: CalendarDay) -> Price? {
        self.pricing.resolve(
            vendor: deployment.provider.configuration.dialect.kind.priceVendor,
            upstreamModel: model.target(on: deployment.configuration).model,
            on: day
        )?.price
    }
}
