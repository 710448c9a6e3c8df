//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

extension RequestContext {
    /// The request's usage line: what the context knows when the request ended.
    func usageRecord() -> UsageRecord {
        var record = UsageRecord(requestID: self.id, api: self.api.rawValue, operation: self.operation)
        record.timestamp = self.arrived
        record.client = self.client.name
        record.taskType = self.taskType
        record.requestedModel = self.requestedModel
        record.stream = self.streaming
        self.describeDestination(into: &record)
        record.routeDecisions = self.decisions
        record.attempts = self.attempts
        record.responseModel = self.answer.responseModel
        record.responseID = self.answer.responseID
        record.finishReasons = self.answer.finishReasons
        if let billing = self.billing {
            record.usage = billing.usage
            record.usageSource = billing.source
            record.cost = billing.cost?.amount
            record.currency = billing.cost?.currency
        }
        record.status = self.status
        record.outcome = self.outcome
        record.errorType = self.errorType
        record.latencyMilliseconds = self.clock.elapsedMilliseconds
        record.timeToFirstChunkMilliseconds = self.firstChunkMilliseconds ?? (self.relayed ? nil : record.latencyMilliseconds)
        return record
    }

    private func describeDestination(into record: inout UsageRecord) {
        switch self.destination {
        case .none:
            break
        case .served(let route):
            record.model = route.model.name
            record.modelEntry = route.model.entry.name
            record.provider = route.provider.name
            record.upstreamModel = route.upstreamModel
            record.routeRole = route.role.rawValue
        case .unserved(let step, let deployment):
            record.model = step.model.name
            record.modelEntry = step.model.entry.name
            guard let deployment = deployment ?? step.deployments.first else { return }
            record.provider = deployment.provider.name
            record.upstreamModel = step.model.target(on: deployment.configuration).model
        case .provider(let name):
            record.provider = name
        }
    }
}
