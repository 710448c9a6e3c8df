"""Cost control through the official openai SDK: quotas that hold under 100 concurrent
requests and across a restart, one usage line for a disconnected stream, the same cost streamed
or not, and the usage statistics API."""

from __future__ import annotations

import json
import signal
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import openai
import pytest

from sidecar import SidecarProcess, configuration, provider_keys

HELLO = [{"role": "user", "content": "Hello"}]
# The sidecar's estimate of HELLO: 3 (reply priming) + 3 (message) + ⌈5 characters ÷ 4⌉ = 8
# tokens. With max_tokens 9 and the emulator told to report exactly 8 + 9 tokens, a request's
# reserved worst case equals its actual cost: $1 per million × 17 = $0.000017.
COST = Decimal("0.000017")
EXACT_USAGE = {"usage": {"prompt_tokens": 8, "completion_tokens": 9}}


def quota_configuration(emulator: Any, budget: Decimal, state_file: Path | None = None) -> str:
    state = f"\n  state_file: {state_file}" if state_file else ""
    return configuration(emulator, extra_models="""  metered:
    provider: openai
    upstream_model: gpt-4o-mini
    price: { input: 1, output: 1, currency: USD }
""") + f"""
quotas:
  time_zone: "+08:00"{state}
  global:
    cost_per_day: {{ USD: {budget} }}
"""


def ask(client: openai.OpenAI) -> int:
    try:
        client.chat.completions.create(model="metered", messages=HELLO, max_tokens=9)
        return 200
    except openai.APIStatusError as error:
        assert error.status_code != 429 or error.code == "quota_exceeded", error.message
        return error.status_code


@pytest.mark.parametrize("run", range(3))
def test_a_hundred_concurrent_requests_against_a_budget_for_ten(emulator, tmp_path, run):
    sidecar = SidecarProcess(tmp_path, quota_configuration(emulator, COST * 10), provider_keys(emulator))
    try:
        emulator.cycle("openai", [{**EXACT_USAGE, "chunk_delay_ms": 5}])
        start = threading.Barrier(100)

        def one(_: int) -> int:
            # A client (and connection) per thread, as 100 application workers would have: one
            # httpx client shared by 100 threads now and then fails on its own with EBADF.
            client = sidecar.client(timeout=60)
            start.wait()
            return ask(client)

        with ThreadPoolExecutor(max_workers=100) as pool:
            statuses = list(pool.map(one, range(100)))
        admitted = statuses.count(200)
        assert set(statuses) <= {200, 429}
        assert 10 <= admitted <= 11, f"{admitted} requests admitted against a budget for 10"
        lines = sidecar.wait_for_usage_lines(100)
        assert len(lines) == 100
        spent = sum(Decimal(str(line["cost"])) for line in lines if line["cost"] is not None)
        assert spent <= COST * 11, f"spent {spent}"
        assert len(emulator.requests("openai")) == admitted, "refused requests never reach the provider"
    finally:
        sidecar.stop()


def test_spend_survives_a_restart(emulator, tmp_path):
    state = tmp_path / "quotas.json"
    config = quota_configuration(emulator, COST * 3, state_file=state)
    emulator.cycle("openai", [EXACT_USAGE])
    sidecar = SidecarProcess(tmp_path, config, provider_keys(emulator))
    assert [ask(sidecar.client()) for _ in range(2)] == [200, 200]
    assert sidecar.stop() == 0
    saved = json.loads(state.read_text())
    assert [window["used"] for window in saved["windows"]] == [int(COST * 2 * 10**12)]

    restarted = SidecarProcess(tmp_path, config, provider_keys(emulator))
    try:
        assert [ask(restarted.client()) for _ in range(2)] == [200, 429], "the day's spend was remembered"
        costs = json.loads(urllib.request.urlopen(restarted.base_url + "/api/v1/usage/costs").read())
        assert costs["total"]["requests"] == 4, "statistics include the usage file of the first run"
        assert Decimal(str(costs["total"]["costs"]["USD"])) == COST * 3
    finally:
        restarted.stop()


def test_a_client_that_leaves_mid_stream_gets_one_usage_line_with_what_it_received(sidecar, emulator):
    emulator.behaviours("openai", [{"chunk_delay_ms": 50}])
    raw = sidecar.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "tell me a rather long story please"}], stream=True)
    request_id = raw.headers["x-request-id"]
    stream = raw.parse()
    received = [next(iter(stream)) for _ in range(3)]
    stream.close()
    assert len(received) == 3
    line = sidecar.usage_for(request_id, timeout=10)
    assert line["outcome"] == "client_disconnected"
    assert line["usage_source"] == "estimated"
    assert 0 < line["gen_ai.usage.output_tokens"] < 12, "billed for what was delivered, not the whole answer"
    assert line["cost"] is not None and line["cost"] > 0


@pytest.mark.parametrize(("model", "flavour", "usage"), [
    ("deepseek-reasoner", "deepseek", {"prompt_tokens": 100, "cached_tokens": 40, "completion_tokens": 50, "reasoning_tokens": 20}),
    ("claude-test", "anthropic", {"prompt_tokens": 100, "cached_tokens": 40, "cache_creation_tokens": 10, "completion_tokens": 50}),
    ("gemini-test", "gemini", {"prompt_tokens": 100, "cached_tokens": 40, "completion_tokens": 50, "reasoning_tokens": 20}),
    ("qwen-plus", "dashscope", {"prompt_tokens": 100, "cached_tokens": 40, "completion_tokens": 50}),
    ("gpt-4o-mini", "openai", {"prompt_tokens": 100, "cached_tokens": 40, "completion_tokens": 50, "reasoning_tokens": 20}),
])
def test_the_same_request_costs_the_same_streamed_or_not(sidecar, emulator, model, flavour, usage):
    emulator.behaviours(flavour, [{"usage": usage}, {"usage": usage}])
    client = sidecar.client()
    whole = client.chat.completions.with_raw_response.create(model=model, messages=HELLO)
    streamed = client.chat.completions.with_raw_response.create(model=model, messages=HELLO, stream=True,
                                                                 stream_options={"include_usage": True})
    chunks = list(streamed.parse())
    final = chunks[-1].usage.model_dump()
    assert Decimal(str(final["cost"])) == Decimal(whole.headers["x-sidecar-cost"])
    assert final["currency"] == whole.headers["x-sidecar-currency"]
    lines = [sidecar.usage_for(whole.headers["x-request-id"]), sidecar.usage_for(streamed.headers["x-request-id"])]
    assert lines[0]["cost"] == lines[1]["cost"] and lines[0]["usage_source"] == lines[1]["usage_source"] == "provider"
    for field in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens"):
        assert lines[0][field] == lines[1][field], field


def test_usage_statistics_add_up_to_the_usage_lines(emulator, tmp_path):
    sidecar = SidecarProcess(tmp_path, configuration(emulator), provider_keys(emulator))
    try:
        client = sidecar.client()
        for model in ("gpt-4o-mini", "gpt-4o-mini", "deepseek-chat", "qwen-plus"):
            client.chat.completions.create(model=model, messages=HELLO)
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="nope", messages=HELLO)
        lines = sidecar.wait_for_usage_lines(5)
        stats = json.loads(urllib.request.urlopen(sidecar.base_url + "/api/v1/usage/stats?window=1h").read())
        assert stats["window"] == "1h" and stats["total"]["requests"] == 5 and stats["total"]["errors"] == 1
        by_model = {entry["model"]: entry for entry in stats["by_model"]}
        assert by_model["gpt-4o-mini"]["requests"] == 2
        assert by_model["gpt-4o-mini"]["tokens"]["input"] == sum(
            line["gen_ai.usage.input_tokens"] for line in lines if line["model"] == "gpt-4o-mini")
        assert by_model["deepseek-chat"]["latency_ms"]["p50"] > 0
        assert {entry["provider"] for entry in stats["by_provider"]} == {"openai", "deepseek", "dashscope", "none"}
        costs = json.loads(urllib.request.urlopen(sidecar.base_url + "/api/v1/usage/costs?group_by=model").read())
        assert "by_provider" not in costs
        for currency in ("USD", "CNY"):
            expected = sum(Decimal(str(line["cost"])) for line in lines if line.get("currency") == currency)
            assert Decimal(str(costs["total"]["costs"][currency])) == expected
        status = urllib.request.urlopen(urllib.request.Request(sidecar.base_url + "/api/v1/usage/stats?window=week"))
    except urllib.error.HTTPError as error:
        assert error.code == 400 and json.loads(error.read())["error"]["param"] == "window"
    else:
        pytest.fail(f"an unknown window must be refused, got {status.status}")
    finally:
        sidecar.stop()
