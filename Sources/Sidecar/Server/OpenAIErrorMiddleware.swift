//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import HTTPTypes
import Hummingbird
import Translate

/// Renders every error that escapes a route — unknown paths, wrong methods, framework errors —
/// in the OpenAI error envelope, which is what OpenAI SDKs parse.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let code: ProxyError.Code =
                switch error.status {
                case .notFound: .notFound
                case .contentTooLarge: .requestTooLarge
                case .internalServerError: .internal
                default: .invalidRequest
                }
            var proxyError = ProxyError(code, error.body ?? Self.message(for: error.status, request: request))
            proxyError.status = Int(error.status.code)
            return ModelsRoutes.json(proxyError.openAIBody.json, status: error.status)
        } catch {
            let proxyError = ProxyError(.internal, "The sidecar failed to handle the request.")
            return ModelsRoutes.json(proxyError.openAIBody.json, status: .internalServerError)
        }
    }

    private static func message(for status: HTTPResponse.Status, request: Request) -> String {
        switch status {
        case .notFound: "The sidecar does not serve \(request.method) \(request.uri.path)."
        case .methodNotAllowed: "\(request.method) is not allowed on \(request.uri.path)."
        default: status.reasonPhrase
        }
    }
}
