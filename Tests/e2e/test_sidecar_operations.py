"""Operating the sidecar as a Kubernetes sidecar: graceful shutdown on SIGTERM, hot reload of
the configuration (including the symlink swap of a mounted ConfigMap), probes and /metrics."""

from __future__ import annotations

import json
import re
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest

from sidecar import SidecarProcess, configuration, free_port, provider_keys

HELLO = [{"role": "user", "content": "Hello there"}]


def operations_configuration(emulator: Any, metrics_port: int, *, default_model: str = "gpt-4o-mini",
                             shutdown_delay: str = "500ms", drain_timeout: str = "10s") -> str:
    return configuration(emulator) + f"""
metrics:
  listen: 127.0.0.1:{metrics_port}
server:
  shutdown_delay: {shutdown_delay}
  drain_timeout: {drain_timeout}
routes:
  default: {{ primary: [{default_model}] }}
"""


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read()
            return response.status, json.loads(body) if body.startswith(b"{") else body.decode()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_until_not_ready(port: int) -> tuple[int, Any]:
    """Polls /readyz until it answers 503 (the signal is handled asynchronously), for up to 2 s."""
    deadline = time.monotonic() + 2
    while True:
        status, body = get(f"http://127.0.0.1:{port}/readyz")
        if status != 200 or time.monotonic() > deadline:
            return status, body
        time.sleep(0.01)


class StreamReader(threading.Thread):
    """Reads one streamed completion; records its request id, text, and how it ended."""

    def __init__(self, client: openai.OpenAI, model: str = "gpt-4o-mini") -> None:
        super().__init__(daemon=True)
        self.client, self.model = client, model
        self.started = threading.Event()
        self.request_id = ""
        self.text = ""
        self.error: openai.APIError | None = None
        self.finished_at = 0.0

    def run(self) -> None:
        raw = self.client.chat.completions.with_raw_response.create(model=self.model, messages=HELLO, stream=True)
        self.request_id = raw.headers["x-request-id"]
        try:
            for chunk in raw.parse():
                self.text += "".join(choice.delta.content or "" for choice in chunk.choices)
                self.started.set()
        except openai.APIError as error:
            self.error = error
        finally:
            self.finished_at = time.monotonic()
            self.started.set()


@pytest.fixture
def metrics_port() -> int:
    return free_port()


def launch(emulator: Any, tmp_path: Path, metrics_port: int, **options: str) -> SidecarProcess:
    return SidecarProcess(tmp_path, operations_configuration(emulator, metrics_port, **options), provider_keys(emulator))


def test_sigterm_lets_twenty_streams_finish_after_readiness_turned_false(emulator, tmp_path, metrics_port):
    sidecar = launch(emulator, tmp_path, metrics_port)
    emulator.behaviours("openai", [{"chunk_delay_ms": 120}] * 20)
    assert get(f"http://127.0.0.1:{metrics_port}/readyz")[0] == 200
    readers = [StreamReader(sidecar.client(timeout=30)) for _ in range(20)]
    for reader in readers:
        reader.start()
    for reader in readers:
        assert reader.started.wait(10)
    sidecar.process.send_signal(signal.SIGTERM)
    status, body = wait_until_not_ready(metrics_port)
    not_ready_at = time.monotonic()
    assert status == 503 and body["draining"] is True and "draining: shutting down" in body["reasons"]
    for reader in readers:
        reader.join(30)
    assert sidecar.process.wait(timeout=30) == 0
    assert all(reader.error is None for reader in readers)
    assert all(reader.text == "Hello from the openai emulator. You said: Hello there" for reader in readers)
    assert all(reader.finished_at > not_ready_at for reader in readers), "readiness turned false before the streams ended"
    lines = sidecar.usage_lines()
    assert sorted(line["request_id"] for line in lines) == sorted(reader.request_id for reader in readers)
    assert {line["outcome"] for line in lines} == {"success"}


def test_the_drain_deadline_ends_streams_with_an_error_and_refuses_new_connections(emulator, tmp_path, metrics_port):
    sidecar = launch(emulator, tmp_path, metrics_port, shutdown_delay="300ms", drain_timeout="1s")
    emulator.behaviours("openai", [{"chunk_delay_ms": 500}] * 3)
    readers = [StreamReader(sidecar.client(timeout=30)) for _ in range(3)]
    for reader in readers:
        reader.start()
        assert reader.started.wait(10)
    sidecar.process.send_signal(signal.SIGTERM)
    time.sleep(0.6)
    with pytest.raises(openai.APIConnectionError):
        sidecar.client().chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    for reader in readers:
        reader.join(15)
    assert sidecar.process.wait(timeout=15) == 0
    for reader in readers:
        assert reader.error is not None and "shutting down" in reader.error.message
        assert reader.text and not reader.text.endswith("Hello there"), "cut mid-answer"
    lines = {line["request_id"]: line for line in sidecar.usage_lines()}
    for reader in readers:
        line = lines[reader.request_id]
        assert (line["outcome"], line["error.type"]) == ("stream_error", "shutting_down")
        assert line["gen_ai.usage.output_tokens"] > 0, "the words sent are still billed (estimated)"


def test_a_configmap_swap_reroutes_new_requests_and_spares_streams_in_flight(emulator, tmp_path, metrics_port):
    sidecar = launch(emulator, tmp_path, metrics_port)
    try:
        fingerprint = get(f"http://127.0.0.1:{metrics_port}/readyz")[1]["configuration"]
        emulator.behaviours("openai", [{"chunk_delay_ms": 150}])
        in_flight = StreamReader(sidecar.client(timeout=30), model="auto")
        in_flight.start()
        assert in_flight.started.wait(10)

        sidecar.replace_config(operations_configuration(emulator, metrics_port, default_model="deepseek-chat"))
        deadline = time.monotonic() + 5
        while get(f"http://127.0.0.1:{metrics_port}/readyz")[1]["configuration"] == fingerprint:
            assert time.monotonic() < deadline, "the swapped configuration was not picked up"
            time.sleep(0.1)
        raw = sidecar.client().chat.completions.with_raw_response.create(model="auto", messages=HELLO)
        assert "deployment=deepseek/deepseek-chat" in raw.headers["x-sidecar-route"]
        in_flight.join(20)
        assert in_flight.error is None and in_flight.text == "Hello from the openai emulator. You said: Hello there"

        applied = get(f"http://127.0.0.1:{metrics_port}/readyz")[1]["configuration"]
        sidecar.replace_config("models: [unclosed")
        time.sleep(2.5)
        assert get(f"http://127.0.0.1:{metrics_port}/readyz")[1]["configuration"] == applied
        raw = sidecar.client().chat.completions.with_raw_response.create(model="auto", messages=HELLO)
        assert "deployment=deepseek/deepseek-chat" in raw.headers["x-sidecar-route"], "an invalid file changes nothing"
        assert "configuration reload rejected" in sidecar.stderr()

        sidecar.process.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        metrics = scrape(metrics_port)
        assert metrics[('llm_sidecar_config_reloads_total', (("result", "applied"),))] == 1
        assert metrics[('llm_sidecar_config_reloads_total', (("result", "rejected"),))] >= 2, "the poll and SIGHUP both rejected it"
    finally:
        sidecar.stop()


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics as {(name, sorted labels): value}."""
    status, text = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert match, f"not a Prometheus sample: {line!r}"
        labels = tuple(sorted(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(2) or "")))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def series(samples: dict, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(value for (metric, pairs), value in samples.items() if metric == name and wanted <= set(pairs))


def test_metrics_count_a_known_traffic_mix(emulator, tmp_path, metrics_port):
    sidecar = launch(emulator, tmp_path, metrics_port)
    try:
        client = sidecar.client()
        for _ in range(2):
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        for _ in client.chat.completions.create(model="deepseek-chat", messages=HELLO, stream=True,
                                                stream_options={"include_usage": True}):
            pass
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="no-such-model", messages=HELLO)
        emulator.cycle("openai", [{"status": 500}])
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        time.sleep(0.3)
        lines = sidecar.usage_lines()
        assert len(lines) == 5
        samples = scrape(metrics_port)
        assert samples == scrape(sidecar.port) | {key: value for key, value in samples.items() if key[0].startswith("process_")}, \
            "both listeners serve the same metrics"

        requests = "llm_sidecar_requests_total"
        assert series(samples, requests, model="gpt-4o-mini", provider="openai", status="200", outcome="success") == 2
        assert series(samples, requests, model="deepseek-chat", provider="deepseek", status="200", outcome="success") == 1
        assert series(samples, requests, model="none", status="404", outcome="rejected") == 1
        assert series(samples, requests, model="gpt-4o-mini", status="502", outcome="upstream_error") == 1
        assert series(samples, requests) == 5
        assert series(samples, "llm_sidecar_retries_total", model="gpt-4o-mini") == 2
        assert series(samples, "llm_sidecar_upstream_failures_total", reason="upstream_error") == 3

        for model in ("gpt-4o-mini", "deepseek-chat"):
            served = [line for line in lines if line["model"] == model and line["outcome"] == "success"]
            for kind, field in (("input", "gen_ai.usage.input_tokens"), ("output", "gen_ai.usage.output_tokens")):
                assert series(samples, "llm_sidecar_tokens_total", model=model, type=kind) == sum(line[field] for line in served)
            cost = series(samples, "llm_sidecar_cost_total", model=model)
            assert cost == pytest.approx(sum(line["cost"] for line in served), rel=1e-9)
        assert series(samples, "gen_ai_client_operation_duration_seconds_count") == 5
        assert series(samples, "gen_ai_client_token_usage_count", gen_ai_token_type="input") == 3
        assert series(samples, "gen_ai_server_time_to_first_token_seconds_count", gen_ai_request_model="deepseek-chat") == 1
        assert series(samples, "llm_sidecar_streams_in_flight") == 0
        assert series(samples, "llm_sidecar_breaker_state", state="closed") >= 2
        assert series(samples, "llm_sidecar_ready") == 1
        assert series(samples, "process_resident_memory_bytes") > 1 << 20
        text = get(f"http://127.0.0.1:{metrics_port}/metrics")[1]
        assert emulator.key("openai") not in text and "Hello there" not in text
    finally:
        sidecar.stop()


def exchange_raw(port: int, request: bytes, until: bytes) -> bytes:
    """Sends `request` on one connection and reads until the bytes read end with `until` (5 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        received = b""
        while not received.endswith(until):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_head_like_get_without_a_body(sidecar, path):
    """Load balancers probe with HEAD: the same status and headers as GET, and not one byte of
    body: the GET that follows on the same connection is read right after the HEAD's head."""
    port = int(sidecar.base_url.rsplit(":", 1)[1])
    get_answer = exchange_raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(), b"}")
    get_head, get_body = get_answer.split(b"\r\n\r\n", 1)
    requests = f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\nGET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answers = exchange_raw(port, requests.encode(), b"}")
    head_head, rest = answers.split(b"\r\n\r\n", 1)
    assert head_head.split(b"\r\n")[0] == get_head.split(b"\r\n")[0] == b"HTTP/1.1 200 OK"
    assert re.search(rb"(?i)\r\ncontent-length: (\d+)", head_head).group(1) == str(len(get_body)).encode()
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n"), f"bytes after the HEAD's head: {rest[:80]!r}"
    assert rest.split(b"\r\n\r\n", 1)[1] == get_body
