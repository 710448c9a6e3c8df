"""The fleet store (`store:`, docs/fleet.md): several sidecar processes sharing one real
redis-server hold one budget between them, give back what a killed pod reserved, keep working
(as configured) while the store is away, report the fleet's usage, and continue each other's
stored Responses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from redis_server import RedisServer
import sidecar
from sidecar import CLIENT_KEY, SidecarProcess, binary, configuration, provider_keys

HELLO = [{"role": "user", "content": "Hello"}]
# As in test_sidecar_costs.py: the estimate of HELLO is 8 tokens; with max_tokens 9 and the
# emulator reporting exactly 8 + 9 tokens, a request reserves exactly what it then costs.
COST = Decimal("0.000017")
EXACT_USAGE = {"usage": {"prompt_tokens": 8, "completion_tokens": 9}}
PASSWORD = "fleet-SENTINEL-redis-password"
sidecar.CLIENT_SENTINELS.append(PASSWORD)  # searched for in every output at the end of the session
StoreProbeInterval = 1.1  # StoreHealth.probeInterval, 1 s, and a margin


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", password=PASSWORD)
    yield server
    server.stop()


# A burst of 300 requests from Python threads on 2 cores keeps the debug build's event loops busy
# for longer than a production round trip to Redis takes; a store that answers more slowly than
# `timeout` counts as away, so the bursts get 1 s and the outage tests (which need the timeout
# to pass) 100 ms.
PATIENT = "  timeout: 1s\n"
QUICK = "  timeout: 100ms\n"


def fleet_configuration(emulator: Any, redis: RedisServer, quotas: str, store: str = PATIENT) -> str:
    return configuration(emulator, extra_models="""  metered:
    provider: openai
    upstream_model: gpt-4o-mini
    price: { input: 1, output: 1, currency: USD }
""") + f"""
quotas:
{quotas}
store:
  url: {redis.url}
  password_env: E2E_REDIS_PASSWORD
  key_prefix: "e2e:"
{store}"""


class Fleet:
    def __init__(self, directory: Path, emulator: Any, redis: RedisServer, quotas: str, store: str = PATIENT, size: int = 3) -> None:
        text = fleet_configuration(emulator, redis, quotas, store)
        environment = dict(provider_keys(emulator), E2E_REDIS_PASSWORD=PASSWORD)
        self.pods: list[SidecarProcess] = []
        try:
            for index in range(size):
                self.pods.append(SidecarProcess(directory / f"pod-{index}", text, environment))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for pod in self.pods:
            pod.stop()

    def usage_lines(self) -> list[dict[str, Any]]:
        return [line for pod in self.pods for line in pod.usage_lines()]


@pytest.fixture
def fleet_of(emulator: Any, redis: RedisServer, tmp_path: Path) -> Iterator[Any]:
    fleets: list[Fleet] = []

    def make(quotas: str, store: str = PATIENT, size: int = 3) -> Fleet:
        fleets.append(Fleet(tmp_path / f"fleet-{len(fleets)}", emulator, redis, quotas, store, size))
        return fleets[-1]

    yield make
    for fleet in fleets:
        fleet.stop()


def ask(pod: SidecarProcess, model: str = "metered", timeout: float = 60) -> tuple[int, str]:
    """(status, error code) of one chat request through the official SDK."""
    try:
        pod.client(timeout=timeout).chat.completions.create(model=model, messages=HELLO, max_tokens=9)
        return 200, ""
    except openai.APIStatusError as error:
        return error.status_code, str(error.code)


def burst(pods: list[SidecarProcess], per_pod: int) -> list[tuple[int, str]]:
    """`per_pod` concurrent requests to each pod, all released together."""
    total = per_pod * len(pods)
    start = threading.Barrier(total)

    def one(index: int) -> tuple[int, str]:
        pod = pods[index % len(pods)]
        client = pod.client(timeout=60)
        start.wait()
        try:
            client.chat.completions.create(model="metered", messages=HELLO, max_tokens=9)
            return 200, ""
        except openai.APIStatusError as error:
            return error.status_code, str(error.code)

    with ThreadPoolExecutor(max_workers=total) as pool:
        return list(pool.map(one, range(total)))


# -- Fleet quotas -------------------------------------------------------------------------------


@pytest.mark.parametrize("run", range(3))
def test_three_pods_and_three_hundred_requests_against_a_fleet_budget_for_ten(fleet_of, emulator, redis, run):
    fleet = fleet_of(f"  global:\n    cost_per_day: {{ USD: {COST * 10} }}\n")
    emulator.cycle("openai", [{**EXACT_USAGE, "chunk_delay_ms": 5}])

    statuses = burst(fleet.pods, 100)

    assert set(statuses) <= {(200, ""), (429, "quota_exceeded")}, set(statuses)
    assert statuses.count((200, "")) == 10
    lines = []
    for pod in fleet.pods:
        lines += pod.wait_for_usage_lines(100)
    assert len(lines) == 300
    spent = sum(Decimal(str(line["cost"])) for line in lines if line["cost"] is not None)
    assert spent <= COST * 11, f"spent {spent}"
    assert len(emulator.requests("openai")) == 10


def test_requests_per_minute_hold_across_pods(fleet_of, emulator, redis):
    fleet = fleet_of("  global:\n    requests_per_minute: 60\n")
    while time.gmtime().tm_sec > 40:  # the burst must fall in one minute window
        time.sleep(1)

    statuses = burst(fleet.pods, 50)

    assert statuses.count((200, "")) == 60
    assert statuses.count((429, "quota_exceeded")) == 90


def test_a_killed_pods_reservation_returns_after_the_ttl(fleet_of, emulator, redis):
    # A budget for one request; pod 0 holds it in a stream the provider never finishes.
    fleet = fleet_of(f"  global:\n    cost_per_day: {{ USD: {COST} }}\n", store=PATIENT + "  reservation_ttl: 10s\n", size=2)
    holder, other = fleet.pods
    emulator.behaviours("openai", [{**EXACT_USAGE, "gate": "held"}])
    before_reservation = time.monotonic()
    stream = holder.client().chat.completions.create(model="metered", messages=HELLO, max_tokens=9, stream=True)
    next(iter(stream))
    assert ask(other) == (429, "quota_exceeded")

    holder.process.send_signal(signal.SIGKILL)
    holder.process.wait(10)
    killed = time.monotonic()
    emulator.open_gate("held")
    emulator.cycle("openai", [EXACT_USAGE])
    assert ask(other) == (429, "quota_exceeded")  # still reserved: the TTL has not passed
    while ask(other) != (200, "") and time.monotonic() - killed < 30:
        time.sleep(1)
    assert time.monotonic() - before_reservation >= 10, "the reservation was released before its TTL"
    assert time.monotonic() - killed < 30, "the reservation was never released"
    assert ask(other) == (429, "quota_exceeded"), "the fleet budget was spent once, by the request after the TTL"


# -- When the store is away ---------------------------------------------------------------------


def audit_events(pod: SidecarProcess) -> list[str]:
    return [line["event"] for line in pod.audit_lines() if line["event"].startswith("store_")]


def timed(pod: SidecarProcess) -> tuple[int, str, float]:
    started = time.monotonic()
    status, code = ask(pod, timeout=30)
    return status, code, time.monotonic() - started


def test_local_policy_keeps_serving_then_adds_its_spend_to_the_fleet(fleet_of, emulator, redis):
    fleet = fleet_of(f"  global:\n    cost_per_day: {{ USD: {COST * 10} }}\n", store=QUICK)
    first, second, third = fleet.pods
    emulator.cycle("openai", [EXACT_USAGE])
    assert [ask(first)[0] for _ in range(3)] == [200] * 3

    redis.pause()  # slow, not gone: each request waits at most the 100 ms timeout, once
    try:
        during = [timed(first) for _ in range(4)]
    finally:
        redis.resume()
    assert [(status, code) for status, code, _ in during] == [(200, "")] * 4
    assert max(seconds for _, _, seconds in during) < 5, during  # bounded by the store timeout, not stuck

    time.sleep(StoreProbeInterval)  # while the store is away, one request a second tries it
    assert ask(first) == (200, "")  # the store answers again: the 4 local requests are added
    assert "store_available" in audit_events(first)
    day = int(time.time()) // 86_400
    wait_for(lambda: redis.command("GET", f"e2e:quota:global:cost_per_day:USD:{day}") == str(int(COST * 8 * 10**12)).encode())
    after = [ask(pod) for pod in (second, third, second, third, second)]
    # 3 + 4 + 1 = 8 of the 10 spent: the fleet admits 2 more, whichever pod asks.
    assert after.count((200, "")) == 2 and after.count((429, "quota_exceeded")) == 3, after
    assert audit_events(first) == ["store_unavailable", "store_available"]
    wait_for(lambda: len(fleet.usage_lines()) == 3 + 4 + 1 + 5)
    scrape = httpx.get(first.base_url + "/metrics", timeout=5).text
    assert 'llm_sidecar_store_transitions_total{to="unavailable"} 1' in scrape
    assert "llm_sidecar_store_available 1" in scrape


def test_the_store_stopped_and_restarted_under_load_loses_no_usage_line(fleet_of, emulator, redis):
    # Six clients keep asking three pods while Redis is stopped (connections refused) and started
    # again, empty: every request is answered (local ledger meanwhile), none waits beyond the
    # store's timeouts, every one has its usage line, and each pod's audit trail shows both ends.
    fleet = fleet_of("  global:\n    requests_per_minute: 100000\n", store=QUICK)
    emulator.cycle("openai", [EXACT_USAGE])
    stop = threading.Event()
    outcomes: list[tuple[int, str, float]] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        pod = fleet.pods[index % 3]
        while not stop.is_set():
            outcome = timed(pod)
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=client, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        redis.stop()
        time.sleep(1.5)
        redis.start()
        time.sleep(2.5)  # each pod's next probe (one a second) finds the store back
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    assert {(status, code) for status, code, _ in outcomes} == {(200, "")}
    assert max(seconds for _, _, seconds in outcomes) < 5, "a request waited on the store"
    wait_for(lambda: len(fleet.usage_lines()) == len(outcomes))
    for pod in fleet.pods:
        assert audit_events(pod)[:2] == ["store_unavailable", "store_available"], audit_events(pod)
        assert pod.process.poll() is None


def test_a_stopped_store_under_the_deny_policy_refuses_with_503(fleet_of, emulator, redis):
    fleet = fleet_of("  global:\n    requests_per_minute: 1000\n", store=QUICK + "  on_store_failure: deny\n", size=1)
    [pod] = fleet.pods
    emulator.cycle("openai", [EXACT_USAGE])
    assert ask(pod) == (200, "")
    redis.stop()
    response = httpx.post(pod.base_url + "/v1/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                          json={"model": "metered", "messages": HELLO, "max_tokens": 9}, timeout=30)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "quota_store_unavailable"
    assert response.headers["retry-after"] == "1"
    assert "Redis" not in response.text and PASSWORD not in response.text
    redis.start()
    deadline = time.monotonic() + 10
    while ask(pod) != (200, ""):  # one request a second probes the store
        assert time.monotonic() < deadline, "the sidecar did not come back to the store"
        time.sleep(0.2)
    assert audit_events(pod) == ["store_unavailable", "store_available"]
    assert len(pod.usage_lines()) >= 3


def test_the_allow_policy_admits_without_a_check_and_never_crashes(fleet_of, emulator, redis):
    fleet = fleet_of(f"  global:\n    cost_per_day: {{ USD: {COST * 2} }}\n", store=QUICK + "  on_store_failure: allow\n", size=1)
    [pod] = fleet.pods
    emulator.cycle("openai", [EXACT_USAGE])
    redis.pause()
    try:
        statuses = [ask(pod) for _ in range(5)]
    finally:
        redis.resume()
    assert statuses == [(200, "")] * 5  # beyond the budget of 2: admitted unchecked, as configured
    assert pod.process.poll() is None
    assert len(pod.wait_for_usage_lines(5)) == 5


# -- Fleet statistics ---------------------------------------------------------------------------


def wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def summed(lines: list[dict[str, Any]]) -> dict[str, Any]:
    costs: dict[str, Decimal] = {}
    for line in lines:
        if line["cost"] is not None:
            costs[line["currency"]] = costs.get(line["currency"], Decimal(0)) + Decimal(str(line["cost"]))
    return {
        "requests": len(lines),
        "input": sum(line.get("gen_ai.usage.input_tokens") or 0 for line in lines),
        "output": sum(line.get("gen_ai.usage.output_tokens") or 0 for line in lines),
        "costs": costs,
    }


def test_fleet_statistics_equal_the_sum_of_every_pods_usage_lines(fleet_of, emulator, redis):
    fleet = fleet_of("  global:\n    requests_per_minute: 1000\n")
    emulator.cycle("openai", [EXACT_USAGE, {"usage": {"prompt_tokens": 20, "completion_tokens": 3}}])
    emulator.cycle("dashscope", [{"usage": {"prompt_tokens": 11, "completion_tokens": 7}}])
    for index in range(12):
        pod = fleet.pods[index % 3]
        assert ask(pod, model=["metered", "qwen-plus", "demo"][index % 3])[0] == 200
    wait_for(lambda: len(fleet.usage_lines()) == 12)
    expected = summed(fleet.usage_lines())

    def fleet_stats() -> tuple[dict[str, Any], dict[str, Any]]:
        headers = {"Authorization": f"Bearer {CLIENT_KEY}"}
        stats = httpx.get(fleet.pods[1].base_url + "/api/v1/usage/stats?scope=fleet&window=1h", headers=headers, timeout=10).json()
        costs = httpx.get(fleet.pods[2].base_url + "/api/v1/usage/costs?scope=fleet", headers=headers, timeout=10).json()
        return stats, costs

    wait_for(lambda: fleet_stats()[0]["total"]["requests"] == 12)
    stats, costs = fleet_stats()
    assert stats["source"] == "fleet" and costs["source"] == "fleet"
    assert stats["total"]["tokens"]["input"] == expected["input"]
    assert stats["total"]["tokens"]["output"] == expected["output"]
    assert {currency: Decimal(str(amount)) for currency, amount in costs["total"]["costs"].items()} == expected["costs"]
    assert sorted(entry["model"] for entry in stats["by_model"]) == ["demo", "metered", "qwen-plus"]
    assert all(entry["requests"] == 4 for entry in stats["by_model"])
    own = httpx.get(fleet.pods[0].base_url + "/api/v1/usage/stats", headers={"Authorization": f"Bearer {CLIENT_KEY}"}, timeout=10).json()
    assert own["source"] == "pod" and own["total"]["requests"] == 4

    report = subprocess.run(
        [str(binary()), "usage", "report", "--store", redis.url, "--password-env", "E2E_REDIS_PASSWORD", "--key-prefix", "e2e:",
         "--by", "model", "--format", "json"],
        capture_output=True, text=True, timeout=30, env=dict(os.environ, E2E_REDIS_PASSWORD=PASSWORD), check=True)
    printed = json.loads(report.stdout)
    assert PASSWORD not in report.stdout + report.stderr
    assert printed["total"]["requests"] == 12 and "12 requests" in report.stderr
    assert printed["total"]["input_tokens"] == expected["input"] and printed["total"]["output_tokens"] == expected["output"]
    assert {currency: Decimal(str(amount)) for currency, amount in printed["total"]["cost"].items()} == expected["costs"]
    assert sorted((row["group"]["model"], row["requests"]) for row in printed["rows"]) == [("demo", 4), ("metered", 4), ("qwen-plus", 4)]


def test_fleet_scope_is_refused_without_a_store_and_names_the_parameter(emulator, tmp_path):
    pod = SidecarProcess(tmp_path, configuration(emulator), provider_keys(emulator))
    try:
        headers = {"Authorization": f"Bearer {CLIENT_KEY}"}
        answer = httpx.get(pod.base_url + "/api/v1/usage/stats?scope=fleet", headers=headers, timeout=10)
        wrong = httpx.get(pod.base_url + "/api/v1/usage/stats?scope=galaxy", headers=headers, timeout=10)
    finally:
        pod.stop()
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "scope"
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "scope"


def test_fleet_statistics_under_a_stopped_store_are_503_and_the_pod_scope_still_answers(fleet_of, emulator, redis):
    fleet = fleet_of("  global:\n    requests_per_minute: 1000\n", size=1)
    [pod] = fleet.pods
    redis.stop()
    headers = {"Authorization": f"Bearer {CLIENT_KEY}"}
    fleetwide = httpx.get(pod.base_url + "/api/v1/usage/stats?scope=fleet", headers=headers, timeout=10)
    local = httpx.get(pod.base_url + "/api/v1/usage/stats", headers=headers, timeout=10)
    assert fleetwide.status_code == 503 and fleetwide.json()["error"]["code"] == "store_unavailable"
    assert PASSWORD not in fleetwide.text
    assert local.status_code == 200


# -- Stored Responses ---------------------------------------------------------------------------


def test_a_response_stored_by_one_pod_is_continued_read_and_deleted_through_others(fleet_of, emulator, redis):
    fleet = fleet_of("  global:\n    requests_per_minute: 1000\n")
    first, second, third = (pod.client() for pod in fleet.pods)
    created = first.responses.create(model="demo", input="Remember the word teal.")

    continued = second.responses.create(model="demo", input="Which word?", previous_response_id=created.id)
    assert continued.status == "completed"
    assert third.responses.retrieve(created.id).id == created.id
    items = third.responses.input_items.list(continued.id)
    assert [item.content[0].text for item in items.data][::-1][:1] == ["Remember the word teal."]

    second.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        first.responses.retrieve(created.id)
    keys = redis.command("KEYS", "e2e:response:*")
    assert isinstance(keys, list) and len(keys) == 1  # the follow-up's
    ttl = redis.command("PTTL", keys[0].decode())
    assert isinstance(ttl, int) and 0 < ttl <= 3_600_000
