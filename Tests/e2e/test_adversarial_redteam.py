"""Adversarial: what got through the edge and key hardening. Token counts a client or a provider
chooses (`max_tokens`, `n`, reported usage) must neither crash the quota arithmetic nor wrap it
into a credit; passthrough forwards only the methods of a REST API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from test_adversarial_edge import Canary, Connection, ask, edge_configuration, error_of

from sidecar import SidecarProcess, configuration, provider_keys

# A model with a context window (as every model in the shipped sidecar.yaml has), one at a steep
# price (1 USD a token), and a cost quota smaller than any real request's worst case.
EXTRA_MODELS = ('  windowed:\n    provider: demo\n    context_window: 8192\n'
                '  steep:\n    provider: openai\n    price: { input: 1, output: 1000000 }\n')
COST_QUOTA = "quotas:\n  global:\n    cost_per_day: { USD: 0.001 }\n"
LARGEST_OUTPUT = 2**32  # ChatRequest.maximumOutputTokens


@pytest.fixture
def quota_sidecar(emulator: Any, tmp_path) -> Iterator[SidecarProcess]:
    process = SidecarProcess(tmp_path, configuration(emulator, extra_models=EXTRA_MODELS) + COST_QUOTA, provider_keys(emulator))
    yield process
    process.stop()


def exchange(sidecar: SidecarProcess, body: Any, target: str = "/v1/chat/completions", method: str = "POST"):
    connection = Connection(sidecar.port)
    try:
        return connection.exchange(method, target, body)
    finally:
        connection.close()


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
@pytest.mark.parametrize("value", [9223372036854775807, LARGEST_OUTPUT + 1, 8.9e18, -1, -9223372036854775807])
def test_an_output_limit_out_of_range_is_400_naming_the_field(quota_sidecar, field, value):
    for model in ["windowed", "gpt-4o-mini"]:  # with a context window; under the cost quota
        status, _, body, _ = exchange(quota_sidecar, ask(model, **{field: value}))
        assert quota_sidecar.process.poll() is None, "the sidecar died"
        assert status == 400 and error_of(body)["param"] == field


@pytest.mark.parametrize("budget", [9223372036854775807, -9223372036854775807, LARGEST_OUTPUT + 1])
def test_a_thinking_budget_out_of_range_is_400_naming_it(emulator, tmp_path, budget):
    bare = "  claude-bare:\n    provider: anthropic\n    upstream_model: claude-sonnet-4-20250514\n"  # no max_output_tokens
    process = SidecarProcess(tmp_path, configuration(emulator, extra_models=bare), provider_keys(emulator))
    try:
        status, _, body, _ = exchange(process, ask("claude-bare", thinking={"type": "enabled", "budget_tokens": budget}))
        assert process.process.poll() is None, "the sidecar died"
        assert status == 400 and error_of(body)["param"] == "thinking.budget_tokens"
    finally:
        process.stop()


@pytest.mark.parametrize("value", [0, -1, 129, 9223372036854775807])
def test_n_out_of_range_is_400_naming_n(quota_sidecar, value):
    status, _, body, _ = exchange(quota_sidecar, ask("windowed", n=value))
    assert status == 400 and error_of(body)["param"] == "n"


@pytest.mark.parametrize("n", [1, 128])
def test_a_worst_case_too_large_to_count_is_refused_by_the_cost_quota_not_credited(quota_sidecar, n):
    status, _, body, _ = exchange(quota_sidecar, ask("steep", max_tokens=LARGEST_OUTPUT, n=n))
    assert quota_sidecar.process.poll() is None, "the sidecar died"
    assert status == 429 and error_of(body)["code"] == "quota_exceeded"
    # Nothing was booked as a credit: an ordinary request is still over the quota.
    status, _, body, _ = exchange(quota_sidecar, ask("gpt-4o-mini"))
    assert status == 429 and error_of(body)["code"] == "quota_exceeded"


def test_n_choices_are_reserved_n_times(emulator, tmp_path):
    quota = "quotas:\n  global:\n    tokens_per_minute: 1000\n"
    process = SidecarProcess(tmp_path, configuration(emulator) + quota, provider_keys(emulator))
    try:
        status, _, _, _ = exchange(process, ask("gpt-4o-mini", max_tokens=300))
        assert status == 200
        status, _, body, _ = exchange(process, ask("gpt-4o-mini", max_tokens=300, n=8))  # 2,400 tokens at most
        assert status == 429 and error_of(body)["code"] == "quota_exceeded"
    finally:
        process.stop()


def test_a_provider_reporting_absurd_usage_cannot_crash_or_credit_the_cost_quota(quota_sidecar, emulator):
    emulator.behaviours("openai", [{"usage": {"prompt_tokens": 10**18, "completion_tokens": 10**18}}])
    status, _, _, _ = exchange(quota_sidecar, ask("gpt-4o-mini", max_tokens=1))
    assert status == 200
    for _ in range(3):
        status, _, body, _ = exchange(quota_sidecar, ask("gpt-4o-mini", max_tokens=1))
        assert status == 429 and error_of(body)["code"] == "quota_exceeded"
    assert quota_sidecar.process.poll() is None
    costs = json.loads(exchange(quota_sidecar, None, "/api/v1/usage/costs", "GET")[2])
    assert all(float(amount) >= 0 for amount in costs["total"]["costs"].values())


class AnyMethodCanary(Canary):
    """The edge tests' canary, recording every method (the standard handler answers 501 to a
    method it has no `do_` function for, without a trace)."""

    def __init__(self) -> None:
        super().__init__()
        handler = self.server.RequestHandlerClass
        for method in ["TRACE", "CONNECT", "OPTIONS", "PUT", "PATCH", "HEAD"]:
            setattr(handler, f"do_{method}", handler.do_GET)


@pytest.fixture(scope="module")
def any_method_canary() -> Iterator[AnyMethodCanary]:
    server = AnyMethodCanary()
    yield server
    server.close()


@pytest.fixture(scope="module")
def passthrough(emulator: Any, any_method_canary: AnyMethodCanary, tmp_path_factory) -> Iterator[SidecarProcess]:
    process = SidecarProcess(tmp_path_factory.mktemp("redteam-passthrough"), edge_configuration(emulator, any_method_canary),
                             provider_keys(emulator))
    yield process
    process.stop()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "OPTIONS"])
def test_passthrough_forwards_only_rest_methods(passthrough, any_method_canary, method):
    any_method_canary.targets.clear()
    connection = Connection(passthrough.port)
    try:
        status, headers, body, _ = connection.exchange(method, "/v1/files")
        assert status == 405
        if method == "CONNECT":  # an answer to CONNECT has no framing: the connection ends with it
            assert headers["connection"] == "close"
        else:
            assert error_of(body)["code"] == "method_not_allowed"
    finally:
        connection.close()
    assert any_method_canary.targets == []
    connection = Connection(passthrough.port)
    try:
        for allowed in ["GET", "PUT", "PATCH", "DELETE"]:
            assert connection.exchange(allowed, "/v1/files")[0] == 200
    finally:
        connection.close()
    assert any_method_canary.targets == ["/v1/files"] * 4
