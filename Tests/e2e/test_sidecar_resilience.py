"""Fault injection through the official openai SDK: retries, timeouts, failover, circuit
breakers, load balancing and the retry budget, each against its own sidecar process (breakers
and the retry budget are per process) and the emulator's fault behaviours."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from sidecar import SidecarProcess, provider_keys

HELLO = [{"role": "user", "content": "Hello"}]


def resilience_configuration(emulator: Any) -> str:
    return f"""
providers:
  openai:
    dialect: openai
    base_url: {emulator.base_url("openai")}
    api_key_env: E2E_OPENAI_KEY
    first_byte_timeout: 700ms
    idle_timeout: 700ms
  custom:
    dialect: openai-compatible
    base_url: {emulator.base_url("custom")}
  deepseek:
    dialect: deepseek
    base_url: {emulator.base_url("deepseek")}
    api_key_env: E2E_DEEPSEEK_KEY
models:
  solo:
    provider: openai
    upstream_model: gpt-4o-mini
  primary:
    provider: openai
    upstream_model: gpt-4o
    fallbacks: [backup]
  backup:
    provider: deepseek
    upstream_model: deepseek-chat
  ha:
    deployments:
      - {{ provider: custom, upstream_model: ha-llama }}
      - {{ provider: openai, upstream_model: gpt-4o-mini }}
  pooled:
    balance: weighted
    deployments:
      - {{ provider: custom, upstream_model: pool-llama }}
      - {{ provider: openai, upstream_model: gpt-4o-mini }}
routes:
  code_generation: {{ primary: [primary], fallback: [backup] }}
  translation: {{ primary: [backup] }}
  default: {{ primary: [solo] }}
resilience:
  retries:
    max_attempts: 3
    backoff: 10ms
    max_backoff: 50ms
    max_wait: 3s
    budget: {{ ratio: 0.2, minimum_per_second: 1 }}
  breaker:
    consecutive_failures: 3
    minimum_calls: 10
    failure_rate: 0.5
    open_for: 1500ms
    half_open_probes: 1
"""


@pytest.fixture
def start(emulator: Any, tmp_path: Path) -> Iterator[Callable[[], SidecarProcess]]:
    started: list[SidecarProcess] = []

    def launch() -> SidecarProcess:
        process = SidecarProcess(tmp_path / f"sidecar{len(started)}", resilience_configuration(emulator), provider_keys(emulator))
        started.append(process)
        return process

    yield launch
    for process in started:
        process.stop()


def chat(client: openai.OpenAI, model: str, **options: Any) -> Any:
    """A raw chat completion: the parsed answer is `.parse()`, headers are `.headers`."""
    return client.chat.completions.with_raw_response.create(model=model, messages=HELLO, **options)


def test_retry_after_is_honoured_then_the_retry_succeeds(emulator: Any, start: Callable[[], SidecarProcess]) -> None:
    sidecar = start()
    emulator.behaviours("openai", [{"status": 429, "headers": {"retry-after": "1"}}])
    raw = chat(sidecar.client(), "solo")
    assert raw.parse().choices[0].message.content.startswith("Hello from the openai emulator")
    calls = emulator.requests("openai")
    assert len(calls) == 2
    assert calls[1]["received_at"] - calls[0]["received_at"] >= 0.95, "Retry-After: 1 was not waited out"
    line = sidecar.usage_for(raw.headers["x-request-id"])
    assert line["attempts"] == 2
    assert [step["outcome"] for step in line["route"]] == ["failed", "served"]


def test_a_failing_primary_falls_back_and_the_header_says_why(emulator: Any, start: Callable[[], SidecarProcess]) -> None:
    sidecar = start()
    emulator.cycle("openai", [{"status": 500}])
    raw = chat(sidecar.client(), "primary")
    assert raw.parse().choices[0].message.content.startswith("Hello from the deepseek emulator")
    route = raw.headers["x-sidecar-route"]
    assert route.startswith("model=backup; deployment=deepseek/deepseek-chat; role=fallback; after=openai/gpt-4o:upstream_error")
    assert len(emulator.requests("openai")) == 3, "max_attempts: 3 on the primary before falling back"
    line = sidecar.usage_for(raw.headers["x-request-id"])
    assert (line["model"], line["gen_ai.provider.name"], line["route_role"]) == ("backup", "deepseek", "fallback")


def test_a_hang_before_headers_times_out_then_the_fallback_answers(emulator: Any, start: Callable[[], SidecarProcess]) -> None:
    sidecar = start()
    emulator.cycle("openai", [{"hang_before_headers_s": 5}])
    raw = chat(sidecar.client(timeout=20), "primary")
    assert raw.parse().choices[0].message.content.startswith("Hello from the deepseek emulator")
    line = sidecar.usage_for(raw.headers["x-request-id"])
    assert [step["reason"] for step in line["route"] if step["outcome"] == "failed"] == ["upstream_timeout"] * 3
    assert line["latency_ms"] < 4000, "each attempt gave up after first_byte_timeout (700ms), not the provider's 5 s hang"


def test_a_hang_mid_stream_ends_the_stream_with_an_error(emulator: Any, start: Callable[[], SidecarProcess]) -> None:
    sidecar = start()
    emulator.behaviours("openai", [{"hang_after_chunks": 3, "hang_s": 5}])
    received: list[str] = []
    raw = sidecar.client(timeout=20).chat.completions.with_raw_response.create(model="solo", messages=HELLO, stream=True)
    with pytest.raises(openai.APIError) as failure:
        for chunk in raw.parse():
            received.extend(choice.delta.content or "" for choice in chunk.choices)
    assert "Hello" in "".join(received), "the words sent before the hang reached the client"
    assert failure.value.message == "The provider sent nothing for 0.7 seconds in the middle of its answer."
    line = sidecar.usage_for(raw.headers["x-request-id"])
    assert (line["outcome"], line["error.type"]) == ("stream_error", "upstream_timeout")
    assert len(emulator.requests("openai")) == 1, "a stream that has started is never retried"


def test_a_dead_deployment_opens_its_breaker_then_a_probe_closes_it(emulator: Any, start: Callable[[], SidecarProcess]) -> None:
    sidecar = start()
    client = sidecar.client()
    emulator.cycle("custom", [{"status": 500}])
    # Each request tries custom, then fails over to openai (a retry would come after it); the
    # third consecutive failure opens custom's breaker.
    for _ in range(3):
        assert chat(client, "ha").headers["x-sidecar-route"].startswith("model=ha; deployment=openai/gpt-4o-mini")
    assert len(emulator.requests("custom")) == 3
    for _ in range(5):
        route = chat(client, "ha").headers["x-sidecar-route"]
        assert "custom/ha-llama:breaker_open" in route
    assert len(emulator.requests("custom")) == 3, "an open breaker sends nothing to the dead deployment"

    emulator.cycle("custom", [])
    time.sleep(1.6)
    probe = chat(client, "ha")
    assert probe.headers["x-sidecar-route"] == "model=ha; deployment=custom/ha-llama; role=requested"
    assert chat(client, "ha").headers["x-sidecar-route"].startswith("model=ha; deployment=custom/ha-llama")
    assert len(emulator.requests("custom")) == 5


def test_a_half_failing_deployment_beside_a_healthy_one_stays_invisible(emulator: Any, start: Callable[[], SidecarProcess]) -> None:
    sidecar = start()
    client = sidecar.client()
    emulator.cycle("custom", [{"status": 500}, {}])

    def one(_: int) -> bool:
        try:
            return chat(client, "pooled").parse().choices[0].message.content is not None
        except openai.APIError:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(100)))
    assert sum(results) >= 95, f"only {sum(results)} of 100 requests succeeded"
    assert emulator.requests("custom"), "the weighted balancer used the flaky deployment too"


def test_a_429_storm_stays_within_the_retry_budget(emulator: Any, start: Callable[[], SidecarProcess]) -> None:
    sidecar = start()
    client = sidecar.client()
    emulator.cycle("openai", [{"status": 429}])

    def one(_: int) -> int:
        try:
            chat(client, "solo")
            return 200
        except openai.APIStatusError as error:
            return error.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one, range(40)))
    assert statuses == [429] * 40
    attempts = len(emulator.requests("openai"))
    # Without a budget: 40 × 3 = 120 attempts. With ratio 0.2 and 1/s over the 10 s window:
    # at most 40 + 0.2 × 40 + 10 = 58.
    assert 40 < attempts <= 58, f"{attempts} upstream attempts for 40 requests"


@pytest.mark.parametrize(("model", "options", "served_by"), [
    ("auto", {"extra_body": {"task_type": "code_generation"}}, "openai/gpt-4o"),
    ("auto", {"extra_headers": {"X-Task-Type": "translation"}}, "deepseek/deepseek-chat"),
    ("auto:translation", {}, "deepseek/deepseek-chat"),
    ("auto", {"extra_body": {"task_type": "unheard_of"}}, "openai/gpt-4o-mini"),
])
def test_task_types_route_to_their_primary(start: Callable[[], SidecarProcess], model: str, options: dict[str, Any],
                                           served_by: str) -> None:
    sidecar = start()
    raw = chat(sidecar.client(), model, **options)
    assert f"deployment={served_by}; role=primary" in raw.headers["x-sidecar-route"]
    line = sidecar.usage_for(raw.headers["x-request-id"])
    assert line["route_role"] == "primary"
    assert line["task_type"] in {"code_generation", "translation", "default"}


# -- Breaker semantics (issue 13, defect 10): requests, not attempts; fail fast; outcomes at body end


def breaker_events(sidecar: SidecarProcess, expected: int = 0) -> list[str]:
    """The audited breaker changes, once there are `expected` of them (lines are written in batches)."""
    deadline = time.monotonic() + 5
    while True:
        events = [line["state"] for line in sidecar.audit_lines() if line.get("event") == "breaker_changed"]
        if len(events) >= expected or time.monotonic() > deadline:
            return events
        time.sleep(0.02)


def test_a_single_deployment_failing_every_other_attempt_keeps_serving(emulator: Any, tmp_path: Path) -> None:
    # A budget that allows one retry per request, so only the breaker is under test.
    text = resilience_configuration(emulator).replace("budget: { ratio: 0.2, minimum_per_second: 1 }",
                                                      "budget: { ratio: 1.0, minimum_per_second: 10 }")
    assert "ratio: 1.0" in text
    sidecar = SidecarProcess(tmp_path / "flaky", text, provider_keys(emulator))
    try:
        emulator.cycle("openai", [{"status": 500}, {}])
        client = sidecar.client()
        served = 0
        for _ in range(80):
            try:
                served += chat(client, "solo").parse().choices[0].message.content is not None
            except openai.APIError:
                pass
        assert served >= 76, f"only {served} of 80 requests succeeded on their retry"
        assert len(emulator.requests("openai")) >= 150, "every request had one failed attempt"
        time.sleep(0.1)
        assert breaker_events(sidecar) == [], "each request succeeded, so the breaker never opened"
    finally:
        sidecar.stop()


def test_a_dead_single_deployment_fails_fast_then_a_probe_closes_it(emulator: Any, start: Callable[[], SidecarProcess]) -> None:
    sidecar = start()
    client = sidecar.client()
    emulator.cycle("openai", [{"status": 500}])
    for _ in range(3):  # consecutive_failures: 3 failed requests (3 attempts each)
        with pytest.raises(openai.InternalServerError):
            chat(client, "solo")
    sent = len(emulator.requests("openai"))
    with pytest.raises(openai.APIStatusError) as rejected:
        chat(client, "solo")
    assert rejected.value.status_code == 503
    assert rejected.value.code == "circuit_open"
    assert 1 <= int(rejected.value.response.headers["retry-after"]) <= 2
    assert len(emulator.requests("openai")) == sent, "an open breaker sends nothing"
    line = sidecar.usage_for(rejected.value.response.headers["x-request-id"])
    assert (line["outcome"], line["error.type"], line["http.response.status_code"]) == ("circuit_open", "circuit_open", 503)

    emulator.cycle("openai", [])
    time.sleep(1.6)
    assert chat(client, "solo").parse().choices[0].message.content
    assert breaker_events(sidecar, 3) == ["open", "half_open", "closed"]
    series = 'llm_sidecar_breaker_transitions_total{deployment="openai/gpt-4o-mini",state="half_open"} '
    values = [float(line.removeprefix(series)) for line in httpx.get(sidecar.base_url + "/metrics").text.splitlines()
              if line.startswith(series)]
    assert values == [1.0], "the move to half-open is counted"


def test_failures_after_the_first_byte_reach_the_breaker(emulator: Any, start: Callable[[], SidecarProcess]) -> None:
    sidecar = start()
    client = sidecar.client()
    emulator.cycle("openai", [{"reset_after_chunks": 2}])
    for _ in range(3):
        with pytest.raises(openai.APIError):
            for _chunk in client.chat.completions.create(model="solo", messages=HELLO, stream=True):
                pass
    assert breaker_events(sidecar, 1) == ["open"], "three streams broken midway are three failures"
    with pytest.raises(openai.APIStatusError) as rejected:
        chat(client, "solo")
    assert rejected.value.code == "circuit_open"
