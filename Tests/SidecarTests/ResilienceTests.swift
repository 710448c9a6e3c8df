//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// The breaker, the retry budget, the backoff and the balancer, driven with explicit instants and
/// seeded randomness: no test here sleeps.
@Suite struct ResilienceTests {
    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant {
        self.start + .milliseconds(milliseconds)
    }

    // MARK: Circuit breaker

    static let policy = CircuitBreaker.Policy(
        window: .seconds(10),
        minimumCalls: 4,
        failureRate: 0.5,
        consecutiveFailures: 3,
        openDuration: .seconds(5),
        halfOpenProbes: 2
    )

    @Test func consecutiveFailuresOpenTheBreaker() {
        let breaker = CircuitBreaker(policy: Self.policy)
        #expect(breaker.record(success: false, at: self.at(0)) == nil)
        #expect(breaker.record(success: false, at: self.at(1)) == nil)
        #expect(breaker.record(success: false, at: self.at(2)) == .open)
        #expect(!breaker.allow(at: self.at(3)).allowed)
        #expect(breaker.state(at: self.at(4_999)) == .open)
    }

    @Test func aSuccessResetsTheConsecutiveCount() {
        let breaker = CircuitBreaker(policy: Self.policy)
        for (index, success) in [false, false, true, false, false].enumerated() {
            #expect(breaker.record(success: success, at: self.at(index * 10_000)) == nil)
        }
        #expect(breaker.state(at: self.at(50_000)) == .closed)
    }

    @Test func theFailureRateOpensOnlyWithEnoughCalls() {
        let breaker = CircuitBreaker(policy: Self.policy)
        // 1 failure of 2 calls is 50 % but under the minimum of 4 calls.
        #expect(breaker.record(success: true, at: self.at(0)) == nil)
        #expect(breaker.record(success: false, at: self.at(1)) == nil)
        #expect(breaker.record(success: true, at: self.at(2)) == nil)
        // 2 of 4 inside the window: open.
        #expect(breaker.record(success: false, at: self.at(3)) == .open)
    }

    @Test func outcomesOlderThanTheWindowAreForgotten() {
        let breaker = CircuitBreaker(policy: Self.policy)
        #expect(breaker.record(success: false, at: self.at(0)) == nil)
        #expect(breaker.record(success: true, at: self.at(1)) == nil)
        #expect(breaker.record(success: false, at: self.at(2)) == nil)
        // 11 s later the first three fell out of the 10 s window: 1 failure of 2 calls.
        #expect(breaker.record(success: true, at: self.at(11_000)) == nil)
        #expect(breaker.record(success: false, at: self.at(11_001)) == nil)
        #expect(breaker.state(at: self.at(11_002)) == .closed)
    }

    @Test func afterTheCoolDownProbesCloseTheBreaker() {
        let breaker = CircuitBreaker(policy: Self.policy)
        for index in 0..<3 { _ = breaker.record(success: false, at: self.at(index)) }
        #expect(breaker.state(at: self.at(5_002)) == .halfOpen)
        #expect(breaker.allow(at: self.at(5_003)).allowed)
        #expect(breaker.allow(at: self.at(5_004)).allowed)
        #expect(!breaker.allow(at: self.at(5_005)).allowed, "only two probes at once")
        #expect(breaker.record(success: true, at: self.at(5_100)) == nil)
        #expect(breaker.record(success: true, at: self.at(5_200)) == .closed)
        #expect(breaker.allow(at: self.at(5_201)).allowed)
    }

    @Test func aFailedProbeOpensTheBreakerAgain() {
        let breaker = CircuitBreaker(policy: Self.policy)
        for index in 0..<3 { _ = breaker.record(success: false, at: self.at(index)) }
        #expect(breaker.allow(at: self.at(6_000)).allowed)
        #expect(breaker.record(success: false, at: self.at(6_100)) == .open)
        #expect(breaker.state(at: self.at(11_000)) == .open)
        #expect(breaker.state(at: self.at(11_100)) == .halfOpen)
    }

    @Test func aReleasedProbeFreesItsSlot() {
        let breaker = CircuitBreaker(policy: Self.policy)
        for index in 0..<3 { _ = breaker.record(success: false, at: self.at(index)) }
        #expect(breaker.allow(at: self.at(6_000)).allowed)
        #expect(breaker.allow(at: self.at(6_000)).allowed)
        breaker.releaseProbe()
        #expect(breaker.allow(at: self.at(6_001)).allowed)
    }

    @Test func theMoveToHalfOpenIsReportedByTheFirstProbe() {
        let breaker = CircuitBreaker(policy: Self.policy)
        for index in 0..<3 { _ = breaker.record(success: false, at: self.at(index)) }
        #expect(breaker.remainingOpen(at: self.at(1_002)) == .seconds(4))
        let early = breaker.allow(at: self.at(4_000))
        #expect(!early.allowed && early.change == nil)
        #expect(breaker.state(at: self.at(5_002)) == .halfOpen, "reads as half-open past the cool-down")
        let first = breaker.allow(at: self.at(5_002))
        #expect(first.allowed && first.change == .halfOpen)
        let second = breaker.allow(at: self.at(5_003))
        #expect(second.allowed && second.change == nil, "the change is reported once")
        #expect(breaker.remainingOpen(at: self.at(5_004)) == nil)
    }

    /// Outcomes reach the breaker when the lease ends (the body ended), once per request; a
    /// client that left records nothing, and a half-open change is logged and audited.
    @Test func leasesRecordTheOutcomeWhenTheBodyEnds() {
        let recorder = LineRecorder()
        let audit = AuditLog(write: recorder.write)
        let deployment = Deployment(id: "p/m", breaker: CircuitBreaker(policy: .init(consecutiveFailures: 2, openDuration: .zero)))
        func lease() -> DeploymentLease {
            #expect(deployment.acquire(limit: nil))
            return DeploymentLease(deployment, countsForBreaker: true, logger: testLogger, audit: audit)
        }
        for _ in 0..<3 { lease().release() }
        lease().release(after: ProxyError(.cancelled, "client left"))
        lease().release(after: ProxyError(.upstreamError, "rate limited"))
        #expect(deployment.breaker.state(at: .now) == .closed)
        lease().release(after: ProxyError(.upstreamMalformed, "bad answer"))
        lease().release(after: ProxyError(.upstreamTimeout, "mid-stream silence"))
        #expect(deployment.breaker.record(success: true, at: .now) == nil, "open: late answers change nothing")
        #expect(deployment.admit(at: .now, logger: testLogger, audit: audit), "open_for 0: the first probe goes")
        lease().release(success: true)
        #expect(deployment.breaker.state(at: .now) == .closed)
        #expect(deployment.inFlight == 0)
        let states = recorder.objects.filter { $0["event"] == "breaker_changed" }.compactMap { $0["state"]?.stringValue }
        #expect(states == ["open", "half_open", "closed"])
        #expect(deployment.breakerTransitions == [.open: 1, .halfOpen: 1, .closed: 1])
    }

    @Test func lateAnswersToAnOpenBreakerChangeNothing() {
        let breaker = CircuitBreaker(policy: Self.policy)
        for index in 0..<3 { _ = breaker.record(success: false, at: self.at(index)) }
        #expect(breaker.record(success: true, at: self.at(10)) == nil)
        #expect(breaker.state(at: self.at(11)) == .open)
    }

    @Test func aLongRunOfSuccessesStillLetsTheRateOpenTheBreakerOnceTheyAge() {
        let breaker = CircuitBreaker(policy: Self.policy)
        // 100,000 successes in the first second: they count, in one bucket, until they age out.
        for _ in 0..<100_000 { _ = breaker.record(success: true, at: self.at(0)) }
        #expect(breaker.record(success: false, at: self.at(1_500)) == nil)
        #expect(breaker.record(success: false, at: self.at(1_501)) == nil)
        #expect(breaker.record(success: true, at: self.at(11_000)) == nil)
        // Only the last 10 s count: 3 failures of 4 calls (the 100,000 successes would keep it closed).
        #expect(breaker.record(success: false, at: self.at(11_001)) == .open)
    }

    // MARK: Sliding window

    @Test func theWindowCountsWhatIsInsideIt() {
        var window = SlidingWindow(length: .seconds(10), buckets: 10, origin: self.start)
        window.add(marked: 1, at: self.at(0))
        window.add(marked: 0, at: self.at(4_500))
        window.add(events: 3, marked: 2, at: self.at(9_999))
        #expect(window.tally(at: self.at(9_999)) == SlidingWindow.Tally(events: 5, marked: 3))
        // At 10 s the bucket of second 0 has left; at 15 s that of second 4 too.
        #expect(window.tally(at: self.at(10_000)) == SlidingWindow.Tally(events: 4, marked: 2))
        #expect(window.tally(at: self.at(15_000)) == SlidingWindow.Tally(events: 3, marked: 2))
        #expect(window.tally(at: self.at(30_000)) == SlidingWindow.Tally())
    }

    @Test func aBucketIsReusedWhenTheWindowComesRound() {
        var window = SlidingWindow(length: .seconds(10), buckets: 10, origin: self.start)
        window.add(marked: 1, at: self.at(2_000))
        window.add(marked: 0, at: self.at(12_000))  // same slot of the ring, ten seconds on
        #expect(window.tally(at: self.at(12_000)) == SlidingWindow.Tally(events: 1, marked: 0))
    }

    @Test func lateAndEarlyInstantsAreHandled() {
        var window = SlidingWindow(length: .seconds(10), buckets: 10, origin: self.at(5_000))
        window.add(marked: 1, at: self.at(4_500))  // before the origin: bucket -1
        window.add(marked: 0, at: self.at(20_000))
        window.add(marked: 1, at: self.at(10_000))  // a late caller: its slot already holds second 15
        #expect(window.tally(at: self.at(20_000)) == SlidingWindow.Tally(events: 1, marked: 0))
        #expect(window.tally(at: self.at(5_000)) == SlidingWindow.Tally(events: 1, marked: 1))
    }

    @Test func withoutAnOriginTheFirstInstantIsBucketZero() {
        var window = SlidingWindow(length: .seconds(1), buckets: 4)
        #expect(window.tally(at: self.at(0)) == SlidingWindow.Tally())
        window.add(marked: 1, at: self.at(100))
        window.add(marked: 0, at: self.at(349))  // same 250 ms bucket as the first add
        #expect(window.tally(at: self.at(1_099)) == SlidingWindow.Tally(events: 2, marked: 1))
        #expect(window.tally(at: self.at(1_100)) == SlidingWindow.Tally())
    }

    // MARK: Retry budget

    @Test func theBudgetHasAFloorWithoutTraffic() {
        let budget = RetryBudget(origin: self.start)
        let policy = RetryBudget.Policy(ratio: 0.2, minimumPerSecond: 0.5)
        // 0.5 per second over the 10 s window: 5 retries.
        let granted = (0..<10).count { _ in budget.acquireRetry(at: self.at(100), policy: policy) }
        #expect(granted == 5)
    }

    @Test func theBudgetGrowsWithRequestsAndRecoversAsTheWindowSlides() {
        let budget = RetryBudget(origin: self.start)
        let policy = RetryBudget.Policy(ratio: 0.2, minimumPerSecond: 0)
        for _ in 0..<50 { budget.recordRequest(at: self.at(500)) }
        #expect((0..<20).count { _ in budget.acquireRetry(at: self.at(600), policy: policy) } == 10)
        // Ten seconds on, the requests and retries of second 0 have left the window.
        #expect(!budget.acquireRetry(at: self.at(9_900), policy: policy))
        for _ in 0..<10 { budget.recordRequest(at: self.at(10_100)) }
        #expect((0..<5).count { _ in budget.acquireRetry(at: self.at(10_200), policy: policy) } == 2)
    }

    // MARK: Backoff

    @Test(arguments: [(1, 1.0, 100), (2, 1.0, 200), (3, 0.5, 200), (6, 1.0, 2_000), (40, 1.0, 2_000), (1, 0.0, 0)])
    func backoffIsExponentialWithFullJitter(retry: Int, fraction: Double, milliseconds: Int) {
        let backoff = Backoff(base: .milliseconds(100), maximum: .seconds(2))
        #expect(backoff.delay(beforeRetry: retry, random: fraction) == .milliseconds(milliseconds))
    }

    @Test func retryAfterRaisesTheWait() {
        let backoff = Backoff()
        #expect(backoff.delay(beforeRetry: 1, random: 0.5, retryAfter: .seconds(3)) == .seconds(3))
        #expect(backoff.delay(beforeRetry: 1, random: 1, retryAfter: .milliseconds(10)) == .milliseconds(100))
    }

    // MARK: Balancer

    /// A deterministic generator (SplitMix64).
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64

        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var value = self.state
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            return value ^ (value >> 31)
        }
    }

    /// Deployments `p/m0`, `p/m1`… of one model, with the given weights.
    func deployments(_ weights: [Int]) throws -> [DeploymentChoice] {
        let list = weights.enumerated().map { "      - { provider: p, upstream_model: m\($0), weight: \($1) }" }.joined(separator: "\n")
        let yaml = "providers:\n  p: { dialect: openai-compatible, base_url: https://p.test }\nmodels:\n  m:\n    deployments:\n" + list
        let configuration = try SidecarConfiguration.parse(yaml: yaml, file: "test.yaml", environment: [:])
        let snapshot = RuntimeSnapshot(configuration: configuration, network: ScriptedUpstream())
        return snapshot.deployments(of: try #require(configuration.models.resolve("m")))
    }

    @Test func priorityKeepsTheConfiguredOrder() throws {
        var random = SeededGenerator(state: 1)
        #expect(Balancer.order(try self.deployments([1, 9, 5]), by: .priority, using: &random).map(\.id) == ["p/m0", "p/m1", "p/m2"])
    }

    @Test func weightedPicksInProportionToWeight() throws {
        var random = SeededGenerator(state: 42)
        let deployments = try self.deployments([1, 3])
        let firsts = (0..<4_000).map { _ in Balancer.order(deployments, by: .weighted, using: &random)[0].id }
        let share = Double(firsts.count { $0 == "p/m1" }) / 4_000
        #expect(abs(share - 0.75) < 0.03, "m1 came first \(share) of the time, expected 0.75")
    }

    @Test func leastInFlightPrefersTheIdlest() throws {
        var random = SeededGenerator(state: 1)
        let deployments = try self.deployments([1, 1, 1])
        #expect(deployments[0].state.acquire(limit: nil))
        #expect(deployments[0].state.acquire(limit: nil))
        #expect(deployments[2].state.acquire(limit: nil))
        #expect(Balancer.order(deployments, by: .leastInFlight, using: &random).map(\.id) == ["p/m1", "p/m2", "p/m0"])
    }

    @Test func lowestLatencyMeasuresTheUnmeasuredFirst() throws {
        var random = SeededGenerator(state: 1)
        let deployments = try self.deployments([1, 1, 1])
        deployments[0].state.record(firstByte: .milliseconds(300))
        deployments[1].state.record(firstByte: .milliseconds(100))
        #expect(Balancer.order(deployments, by: .lowestLatency, using: &random).map(\.id) == ["p/m2", "p/m1", "p/m0"])
        // α = 0.3: 0.7 × 100 + 0.3 × 1000 = 370 ms, now slower than d0.
        deployments[1].state.record(firstByte: .seconds(1))
        #expect(deployments[1].state.latencyMilliseconds == 370)
        #expect(Balancer.order(deployments, by: .lowestLatency, using: &random).map(\.id) == ["p/m2", "p/m0", "p/m1"])
    }

    @Test func aConcurrencyCapFailsFastAndLeasesGiveSlotsBack() {
        let deployment = Deployment(id: "d", breaker: CircuitBreaker(policy: .init()))
        #expect(deployment.acquire(limit: 1))
        #expect(!deployment.acquire(limit: 1))
        do {
            let lease = DeploymentLease(deployment, countsForBreaker: true, logger: testLogger, audit: AuditLog(write: { _ in }))
            lease.release()
            lease.release()
        }
        #expect(deployment.inFlight == 0, "a lease releases once, however often it is asked")
        #expect(deployment.acquire(limit: 1))
    }
}
