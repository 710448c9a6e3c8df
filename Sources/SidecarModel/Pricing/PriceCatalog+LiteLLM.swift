//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

extension PriceCatalog {
    /// Reads LiteLLM's `model_prices_and_context_window.json` from `path`.
    ///
    /// The full file (3.4 MB, 4,878 models) loads in about 35 ms in a release build on the 2-core
    /// development VM, at start-up and on every configuration reload. Its JSON tree (about 10 MB)
    /// is freed and handed back to the operating system at once; the catalog keeps only the
    /// sidecar's vendors (about 400 models).
    package static func load(path: String) throws(PriceCatalogError) -> PriceCatalog {
        var catalog = try PriceCatalog(litellmJSON: Self.read(path))
        MemoryTrim.releaseFreeMemory()
        catalog.path = path
        return catalog
    }

    /// The largest catalog read: 64 MiB (LiteLLM's is 3.4 MB). A larger file, or one that is not
    /// a regular file (a FIFO, `/dev/zero`), is a configuration problem.
    package static let maximumFileBytes = 64 << 20

    private static func read(_ path: String) throws(PriceCatalogError) -> [UInt8] {
        do {
            try InputFile.checkRegularFile(path, limit: Self.maximumFileBytes)
            return try InputFile(path: path).readAll()
        } catch {
            throw PriceCatalogError(.unreadable, error.description)
        }
    }

    /// Parses LiteLLM's format: one object whose keys are `model` or `provider/model` and whose
    /// values carry per-token USD prices (`input_cost_per_token`, `output_cost_per_token`,
    /// `cache_read_input_token_cost`, `cache_creation_input_token_cost`,
    /// `output_cost_per_reasoning_token`), `max_input_tokens`, `max_output_tokens` and
    /// `litellm_provider`. Entries of other providers, and fields the sidecar does not bill
    /// (per-image, per-second, tiered "above 200k tokens" prices), are ignored.
    package init(litellmJSON bytes: some Collection<UInt8>) throws(PriceCatalogError) {
        let root: JSONValue
        do {
            root = try JSONValue.parse(bytes)
        } catch {
            throw PriceCatalogError(.invalidJSON, "not valid JSON: \(error)")
        }
        guard let models = root.objectValue else {
            throw PriceCatalogError(.invalidJSON, "must be a JSON object of models, not \(root.typeName)")
        }
        self.init()
        for member in models {
            guard member.key != "sample_spec", let fields = member.value.objectValue, let provider = fields["litellm_provider"]?.stringValue else {
                continue  // `sample_spec` documents the fields
            }
            self.modelsRead += 1
            guard let vendor = PriceVendor(litellmProvider: provider) else { continue }
            var model = Substring(member.key)
            let prefixed = model.hasPrefix(provider + "/") || model.hasPrefix(vendor.rawValue + "/")
            if prefixed { model = model[model.index(after: model.firstIndex(of: "/")!)...] }  // `prefixed` implies a "/"
            self.add(Self.entry(fields), vendor: vendor, model: String(model), prefixed: prefixed)
        }
    }

    private static func entry(_ fields: JSONObject) -> Entry {
        let isEmbedding = fields["mode"]?.stringValue == "embedding"
        var price: Price?
        if let input = Self.perToken(fields["input_cost_per_token"]),
            let output = Self.perToken(fields["output_cost_per_token"]) ?? (isEmbedding ? Money(picos: 0) : nil)
        {
            price = Price(
                input: input,
                cachedInput: Self.perToken(fields["cache_read_input_token_cost"]),
                cacheWrite: Self.perToken(fields["cache_creation_input_token_cost"]),
                output: output,
                reasoning: Self.perToken(fields["output_cost_per_reasoning_token"]),
                currency: .usd
            )
        }
        return Entry(
            price: price,
            contextWindow: fields["max_input_tokens"]?.intValue.flatMap { PriceCatalog.Entry.tokenLimits.contains($0) ? $0 : nil },
            maxOutputTokens: fields["max_output_tokens"]?.intValue.flatMap { PriceCatalog.Entry.tokenLimits.contains($0) ? $0 : nil }
        )
    }

    /// A per-token USD price as exact money: the catalog's numbers are binary floats
    /// (`1.1e-07`, sometimes `3.0000000000000004e-07`), so the value goes through its shortest
    /// decimal representation and is rounded to a whole picodollar per token (6 decimals per
    /// million tokens): `2.5e-06` → 2.5 per million, `1.1e-07` → 0.11 per million.
    package static func perToken(_ value: JSONValue?) -> Money? {
        guard case .number(let number)? = value, let double = Double(number.literal), double.isFinite, double >= 0 else { return nil }
        return Money(roundingDecimal: "\(double)")
    }
}

/// Why a catalog file cannot be used.
package struct PriceCatalogError: Error, Sendable, CustomStringConvertible {
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        package static let unreadable = Code("unreadable")
        package static let invalidJSON = Code("invalid_json")

        package var description: String { self.name }
    }

    package var code: Code
    package var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { self.message }
}
