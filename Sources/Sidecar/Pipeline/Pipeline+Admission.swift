//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel
import Translate

extension Pipeline {
    /// The caller of `request` (see ``ClientIdentity``); 401 when its token is missing or wrong,
    /// which is also audited.
    func authenticate(_ request: ServerRequest, snapshot: RuntimeSnapshot) throws(ProxyError) -> ClientIdentity {
        do {
            return try ClientIdentity.authenticate(request, clients: snapshot.configuration.clients)
        } catch {
            let token = ClientIdentity.presentedToken(request)
            var fields: JSONObject = ["reason": .string(token == nil ? "missing_token" : "invalid_token"), "path": .string(request.path)]
            if let token { fields["token_sha256_prefix"] = .string(String(SHA256.hex(token.utf8).prefix(12))) }
            self.services.audit.record("auth_denied", fields)
            throw error
        }
    }

    /// `answer` for the request's client — a route the sidecar answers itself (models, usage) —
    /// or 401 when clients are configured and its token is missing or wrong.
    func authenticated(_ request: ServerRequest, _ answer: (ClientIdentity) async -> ServerResponse) async -> ServerResponse {
        let client: ClientIdentity
        do {
            client = try self.authenticate(request, snapshot: self.services.store.current)
        } catch {
            return .json(error.openAIBody.json, status: HTTPResponseStatus(statusCode: error.status))
        }
        return await answer(client)
    }

    /// `plan` limited to what the client may use (see
    /// ``ClientIdentity/authorize(_:requestedModel:decisions:)``); a refusal is audited.
    func authorize(_ plan: RoutePlan, context: inout RequestContext) throws(ProxyError) -> RoutePlan {
        let requested = context.requestedModel ?? ""
        do {
            return try context.client.authorize(plan, requestedModel: requested, decisions: &context.decisions)
        } catch {
            self.services.audit.record(
                "access_denied",
                [
                    "client": .string(context.client.name), "model": .string(requested), "task_type": .optional(plan.taskType),
                    "param": .optional(error.param),
                ]
            )
            throw error
        }
    }

    /// Refuses a request that cannot be limited to models (passthrough) to a client that is
    /// limited to some (403, audited).
    func authorizeUnrouted(_ request: ServerRequest, context: RequestContext) throws(ProxyError) {
        let client = context.client
        guard !(client.settings?.allowsEveryModel ?? true) else { return }
        self.services.audit.record("access_denied", ["client": .string(client.name), "path": .string(request.path)])
        throw ProxyError(.notAllowed, "Client '\(client.name)' is limited to some models, so it may not use \(request.path).")
    }

    /// A slot for a stream, claimed before anything is sent and held until its relay ended.
    /// - Throws: 503 `too_many_streams` when `server.max_streams` streams are already admitted.
    func admitStream(snapshot: RuntimeSnapshot) throws(ProxyError) -> CapacityClaim {
        let limit = snapshot.configuration.server.maxStreams
        guard let slot = self.services.streamSlots.claim(limit: limit) else {
            var error = ProxyError(.tooManyStreams, "The sidecar is relaying its maximum of \(limit) streams; retry shortly.")
            error.retryAfter = .seconds(1)
            throw error
        }
        return slot
    }

    /// The client's `X-Request-Id` when it sent a sane one, else a fresh random id
    /// (`req_` and 24 hexadecimal digits).
    static func requestID(for request: ServerRequest) -> String {
        if let sent = request.header("X-Request-Id"), !sent.isEmpty, sent.utf8.count <= 128,
            sent.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        {
            return sent
        }
        return FastRandom.identifier("req_", digits: 24)
    }
}
