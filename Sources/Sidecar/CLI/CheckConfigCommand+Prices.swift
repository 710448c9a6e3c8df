//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

extension CheckConfigCommand {
    /// `check-config --prices`: every deployment's price per million tokens on `day`, with where
    /// it comes from (`sidecar.yaml`, `catalog` or `built-in`) and since when.
    static func priceTable(_ configuration: SidecarConfiguration, on day: CalendarDay) -> String {
        var table = TextTable(
            headers: ["model", "deployment", "input", "cached_input", "cache_write", "output", "reasoning", "currency", "source", "since"],
            alignments: [.left, .left, .right, .right, .right, .right, .right, .left, .left, .left]
        )
        let perMillion: (Money?) -> String = { $0.map { $0.times(1_000_000).description } ?? "-" }
        for entry in configuration.models.allEntries {
            for deployment in entry.deployments {
                let upstream = deployment.upstreamModel ?? (entry.isPattern ? "(requested name)" : entry.name)
                let vendor = configuration.providers[deployment.provider].flatMap(\.dialect.kind.priceVendor)
                let resolved = entry.pricing.resolve(vendor: vendor, upstreamModel: upstream, on: day)
                let price = resolved?.price
                table.append([
                    entry.name, "\(deployment.provider)/\(upstream)", perMillion(price?.input), perMillion(price?.cachedInput),
                    perMillion(price?.cacheWrite), perMillion(price?.output), perMillion(price?.reasoning), price?.currency.rawValue ?? "-",
                    resolved?.origin.rawValue ?? "none (cost null)", resolved?.effective?.description ?? "-",
                ])
            }
        }
        return table.rendered()
    }
}
