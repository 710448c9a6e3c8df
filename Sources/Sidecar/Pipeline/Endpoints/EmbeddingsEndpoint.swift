//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import SidecarModel
import Translate

/// `POST /v1/embeddings`: routed by model, encoded in the deployment's dialect, answered whole.
struct EmbeddingsEndpoint: Endpoint {
    let operation = "embeddings"

    func parse(_ request: ServerRequest, body: ByteBuffer, context: inout RequestContext) throws(ProxyError) -> EmbeddingsRequest {
        let embeddings: EmbeddingsRequest
        do {
            embeddings = try EmbeddingsRequest(parsing: body.readableBytesView)
        } catch {
            throw ProxyError(error)
        }
        try NamePolicy.model.checked(embeddings.model)
        context.requestedModel = embeddings.model
        return embeddings
    }

    func route(_ embeddings: EmbeddingsRequest, of original: ServerRequest, context: RequestContext) -> Route<EmbeddingsRequest> {
        let need = Preflight.Need(promptTokens: embeddings.estimatedInputTokens, generates: false)
        return .model(
            ModelRoute(model: embeddings.model, taskType: nil, need: need) { embeddings, target, provider throws(ProxyError) in
                do throws(TranslationError) {
                    return try provider.dialect.encodeEmbeddingsRequest(embeddings, target: target)
                } catch {
                    throw ProxyError(error)
                }
            } answer: { embeddings, route in
                .whole { bytes, context throws(ProxyError) in try Self.decode(bytes, of: embeddings, from: route, context: &context) }
            }
        )
    }

    private static func decode(
        _ bytes: [UInt8],
        of embeddings: EmbeddingsRequest,
        from route: RouteCandidate,
        context: inout RequestContext
    ) throws(ProxyError) -> [UInt8] {
        let response: EmbeddingsResponse
        do {
            response = try route.provider.dialect.decodeEmbeddingsResponse(bytes, for: embeddings)
        } catch {
            throw ProxyError(error)
        }
        context.billing = Billing(route: route, providerUsage: response.inputTokens.map { Usage(inputTokens: $0, outputTokens: 0) }) {
            0
        } promptEstimate: {
            embeddings.estimatedInputTokens
        }
        return response.serialized()
    }
}
