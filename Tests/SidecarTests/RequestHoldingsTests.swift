//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import Sidecar
@testable import SidecarModel

/// What a request holds is given back by one release, whatever the ending, exactly once.
@Suite struct RequestHoldingsTests {
    /// A stream slot, a 100-token reservation against a 1,000-token limit and a deployment lease
    /// whose breaker opens at the first failure.
    final class Fixture: Sendable {
        let pool = CapacityPool()
        let book = QuotaBook()
        let settings: QuotaSettings
        let deployment = Deployment(id: "p/m", breaker: CircuitBreaker(policy: .init(consecutiveFailures: 1)))

        init() throws {
            let yaml = """
                providers: { p: { dialect: openai, base_url: https://p.test/v1, api_key_env: KEY } }
                models: { m: { provider: p } }
                quotas: { global: { tokens_per_minute: 1000 } }
                """
            self.settings = try SidecarConfiguration.parse(yaml: yaml, file: "test.yaml", environment: ["KEY": "k"]).quotas
        }

        func holdings() throws -> RequestHoldings {
            var holdings = RequestHoldings()
            holdings.streamSlot = try #require(self.pool.claim(limit: 10))
            holdings.quota = try self.book.reserve(QuotaLedger.Demand(tokens: 100), settings: self.settings, client: "default").get()
            #expect(self.deployment.acquire(limit: nil))
            holdings.lease = DeploymentLease(self.deployment, countsForBreaker: true, logger: testLogger, audit: AuditLog(write: { _ in }))
            return holdings
        }

        var tokensLeft: Int64 { self.book.remaining(settings: self.settings, clients: []).first { $0.key.kind == .tokensPerMinute }?.remaining ?? -1 }
        var breakerOpen: Bool { self.deployment.breaker.state(at: .now) == .open }

        func expectEverythingBack(sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(self.pool.inUse == 0, "stream slot", sourceLocation: sourceLocation)
            #expect(self.deployment.inFlight == 0, "deployment lease", sourceLocation: sourceLocation)
            #expect(self.tokensLeft == 1000, "quota reservation", sourceLocation: sourceLocation)
        }
    }

    static let endings: [(String, RequestHoldings.Ending, opensBreaker: Bool)] = [
        ("completed", .completed, false),
        ("failed mid-stream", .failed(ProxyError(.upstreamMalformed, "broken stream")), true),
        ("request refused for good", .failed(ProxyError(.invalidRequest, "bad")), false),
        ("client left", .failed(ProxyError(.cancelled, "client left")), false),
        ("drain deadline", .failed(ProxyError(.shuttingDown, "shutting down")), false),
        ("abandoned", .abandoned, false),
    ]

    @Test(arguments: Self.endings)
    func everyEndingGivesEverythingBackAndTellsTheBreakerOnlyOfFailures(name: String, ending: RequestHoldings.Ending, opensBreaker: Bool) throws {
        let fixture = try Fixture()
        let holdings = try fixture.holdings()
        #expect(fixture.pool.inUse == 1 && fixture.deployment.inFlight == 1 && fixture.tokensLeft == 900)
        holdings.release(ending, billing: nil)
        fixture.expectEverythingBack()
        #expect(fixture.breakerOpen == opensBreaker, "\(name)")
    }

    @Test func aSecondReleaseFindsNothing() throws {
        let fixture = try Fixture()
        let holdings = try fixture.holdings()
        holdings.release(.failed(ProxyError(.upstreamMalformed, "broken")), billing: nil)
        holdings.release(.completed, billing: nil)
        fixture.expectEverythingBack()
        #expect(fixture.breakerOpen, "the first outcome stands")
    }

    @Test func holdingsDroppedUnreleasedAreReleasedAsAbandoned() throws {
        let fixture = try Fixture()
        do {
            let holdings = try fixture.holdings()
            _ = holdings
        }
        fixture.expectEverythingBack()
        #expect(!fixture.breakerOpen)
    }

    @Test func takingMovesEveryHoldToTheNewOwner() throws {
        let fixture = try Fixture()
        var pipeline = try fixture.holdings()
        let relay = pipeline.take()
        pipeline.release(.failed(ProxyError(.upstreamMalformed, "broken")), billing: nil)
        #expect(fixture.pool.inUse == 1 && fixture.deployment.inFlight == 1 && fixture.tokensLeft == 900, "the old owner holds nothing")
        relay.release(.completed, billing: nil)
        fixture.expectEverythingBack()
        #expect(!fixture.breakerOpen)
    }
}
