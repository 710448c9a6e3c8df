"""Releases that cannot be forgotten (issue 14), seen from outside: for every way a request can
end, everything it acquired is back afterwards and the breaker heard the right outcome.

Each row of `EXITS` is one exit — success (whole and streamed chat, embeddings, passthrough),
an error before the headers (provider 4xx and 5xx, every candidate failed, quota or context
window refused, a bad body, an open breaker), an error mid-stream (the provider's error event,
its connection dropped, a malformed stream), a client that hangs up (while the sidecar waits for
the first byte, mid-stream, in a retry backoff). Each row has a model — so a deployment and a
breaker — of its own on one sidecar whose breakers open at the first failed request, and after
it, read from `/metrics` on the metrics listener:

- `llm_sidecar_streams_in_flight` (the `max_streams` slot), `llm_sidecar_buffered_bytes` and
  every `llm_sidecar_deployment_requests_in_flight` (the deployment lease) are 0;
- `llm_sidecar_quota_remaining` is what it was before, less what the request's usage line says
  was spent (tokens per minute and cost per day): a reservation is never kept, and a refused or
  failed request spends nothing it did not use;
- `llm_sidecar_breaker_state` of the row's deployments is `open` when the exit is the
  deployment's failure (a 5xx, a stream the provider broke) and `closed` otherwise (success, the
  client's own error, a rate limit, a client that left);
- the request has exactly one usage line, with the row's `outcome` and status.

Rows where the request is held (at an emulator gate, in a provider's hang, in a backoff) first
show the slot, the lease and the reservation taken, so a release that never ran fails the test.
Further tests: after the table, `max_streams` streams are admitted at once; mid-stream
failures open a breaker after exactly `consecutive_failures` of them while more client hang-ups
than that never do; a client that hangs up is no outcome at all for the breaker (a half-open
probe's breaker stays half-open and its admission is free again; a hang-up between two failures
does not reset their streak); SIGTERM's drain deadline ends a stream with a `shutting_down`
error event, and its usage line is written and its spend committed.

Requests go over raw sockets (a client library would hide when and how the connection is
closed); every wait is bounded and polls for a state, never for an amount of time.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sidecar import CLIENT_KEY, ERROR_BODIES, SidecarProcess, configuration, free_port, provider_keys

SOCKET_TIMEOUT_S = 10
# How long a gauge may lag the answer or the hang-up that changed it.
SETTLE_S = 5
# A provider that never answers within the test: a request still waiting for it when the
# bounded waits above run out was not released by the client's hang-up.
NEVER_S = 30
MAX_STREAMS = 4
TOKENS_PER_MINUTE = 10_000_000
COST_PER_DAY_USD = 100
# Every row's model costs this (USD per million tokens), so each reservation and each settled
# request moves the cost quota.
PRICE = "{ input: 1, output: 2, currency: USD }"
HELLO = [{"role": "user", "content": "Hello there"}]


# -- Talking to the sidecar over a raw socket --------------------------------------------------------

class Exchange:
    """One HTTP/1.1 request on a connection of its own, read as far as the test wants, then
    closed (the client hanging up) or read to its end."""

    def __init__(self, sidecar: SidecarProcess, method: str, path: str, body: Any = None, request_id: str = "",
                 raw_body: bytes | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", sidecar.port), timeout=SOCKET_TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = raw_body if raw_body is not None else (b"" if body is None else json.dumps(body).encode())
        head = [f"{method} {path} HTTP/1.1", "Host: sidecar", f"Authorization: Bearer {CLIENT_KEY}",
                "Content-Type: application/json", f"Content-Length: {len(data)}", "Connection: close"]
        if request_id:
            head.append(f"X-Request-Id: {request_id}")
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        self.pending = b""
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""  # the decoded body read so far

    def _more(self) -> bytes:
        piece = self.sock.recv(65536)
        assert piece, f"the sidecar closed the connection; body so far: {self.body[-300:]!r}"
        return piece

    def read_head(self) -> int:
        while b"\r\n\r\n" not in self.pending:
            self.pending += self._more()
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        self.status = int(status_line.split()[1])
        return self.status

    def _chunk(self) -> bytes | None:
        """The next chunk of a chunked body; None after the last."""
        while b"\r\n" not in self.pending:
            self.pending += self._more()
        size_line, self.pending = self.pending.split(b"\r\n", 1)
        size = int(size_line.split(b";")[0], 16)
        while len(self.pending) < size + 2:
            self.pending += self._more()
        chunk, self.pending = self.pending[:size], self.pending[size + 2:]
        return chunk if size else None

    def read_until(self, marker: bytes) -> bytes:
        """The streamed body up to and including the first `marker`."""
        if not self.status:
            self.read_head()
        while marker not in self.body:
            chunk = self._chunk()
            assert chunk is not None, f"the stream ended without {marker!r}: {self.body[-300:]!r}"
            self.body += chunk
        return self.body

    def read_all(self) -> bytes:
        """The whole body (Content-Length or chunked), then the connection is closed."""
        if not self.status:
            self.read_head()
        if self.headers.get("transfer-encoding") == "chunked":
            while (chunk := self._chunk()) is not None:
                self.body += chunk
        else:
            length = int(self.headers.get("content-length", "0"))
            while len(self.pending) < length:
                self.pending += self._more()
            self.body = self.pending[:length]
        if self.status >= 400:
            ERROR_BODIES.append(self.body.decode(errors="replace"))
        self.close()
        return self.body

    def close(self) -> None:
        self.sock.close()


def chat(model: str, stream: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": HELLO, "stream": stream, **extra}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def error_code(body: bytes) -> str:
    return json.loads(body)["error"]["code"]


# -- Reading the resources from /metrics ---------------------------------------------------------------

_SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass
class Resources:
    """What requests hold, as one scrape of /metrics shows it, and when it was taken."""

    streams: float
    buffered: float
    leases: dict[str, float]  # deployment → requests in flight
    breakers: dict[str, str]  # deployment → current state
    quota: dict[str, float]  # tokens_per_minute, cost_per_day
    minute: int
    day: int

    def held(self) -> dict[str, Any]:
        """Everything not at rest: {} when no request holds anything."""
        held: dict[str, Any] = {name: value for name, value in (("streams", self.streams), ("buffered", self.buffered)) if value}
        held.update({f"lease {deployment}": count for deployment, count in self.leases.items() if count})
        return held


def resources(metrics_port: int) -> Resources:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=SOCKET_TIMEOUT_S) as response:
        text = response.read().decode()
    now = time.time()
    found = Resources(streams=-1, buffered=-1, leases={}, breakers={}, quota={}, minute=int(now // 60), day=int(now // 86_400))
    for line in text.splitlines():
        match = _SAMPLE.fullmatch(line)
        if not match or line.startswith("#"):
            continue
        name, labels, value = match.group(1), dict(_LABEL.findall(match.group(2) or "")), float(match.group(3))
        if name == "llm_sidecar_streams_in_flight":
            found.streams = value
        elif name == "llm_sidecar_buffered_bytes":
            found.buffered = value
        elif name == "llm_sidecar_deployment_requests_in_flight":
            found.leases[labels["deployment"]] = value
        elif name == "llm_sidecar_breaker_state" and value == 1:
            found.breakers[labels["deployment"]] = labels["state"]
        elif name == "llm_sidecar_quota_remaining" and labels["scope"] == "global":
            found.quota[labels["quota"]] = value
    assert found.streams >= 0 and found.buffered >= 0, "the stream and buffer gauges are always exported"
    return found


def wait_for(metrics_port: int, condition: Callable[[Resources], bool], what: str) -> Resources:
    """The first scrape for which `condition` holds, within SETTLE_S (a gauge may lag a few ms)."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        current = resources(metrics_port)
        if condition(current):
            return current
        if time.monotonic() > deadline:
            pytest.fail(f"{what}; /metrics shows held={current.held()} quota={current.quota} breakers={current.breakers}")
        time.sleep(0.01)


def at_rest(metrics_port: int) -> Resources:
    """The resources once no request holds anything, with at least 2 s left in the current
    minute and day, so the quota windows do not roll over within one row."""
    while (seconds := time.time() % 60) > 58:
        time.sleep(60 - seconds + 0.05)
    return wait_for(metrics_port, lambda now: not now.held(), "a previous request still holds resources")


def spent(lines: list[dict[str, Any]]) -> dict[str, float]:
    """Tokens and cost (USD) the usage lines say were used."""
    tokens = sum((line["gen_ai.usage.input_tokens"] or 0) + (line["gen_ai.usage.output_tokens"] or 0) for line in lines)
    cost = sum(line["cost"] or 0 for line in lines)
    assert all(line["currency"] in (None, "USD") for line in lines)
    return {"tokens_per_minute": tokens, "cost_per_day": cost}


def settled(before: Resources, used: dict[str, float]) -> Callable[[Resources], bool]:
    """Nothing held, and each quota back to what it was less what was used (a quota whose
    window rolled over since `before` only has to have nothing reserved any more)."""
    def check(now: Resources) -> bool:
        if now.held():
            return False
        for quota, amount in used.items():
            same_window = now.minute == before.minute if quota == "tokens_per_minute" else now.day == before.day
            expected = before.quota[quota] - amount
            if same_window and abs(now.quota[quota] - expected) > 1e-9 * max(1.0, abs(expected)):
                return False
        return True
    return check


def holding(before: Resources, *, stream: bool, deployment: str | None) -> Callable[[Resources], bool]:
    """A request in flight holds its stream slot, its lease and a quota reservation."""
    def check(now: Resources) -> bool:
        return (now.streams == (1 if stream else 0)
                and (deployment is None or now.leases.get(deployment) == 1)
                and now.quota["cost_per_day"] < before.quota["cost_per_day"]
                and now.quota["tokens_per_minute"] < before.quota["tokens_per_minute"])
    return check


# -- The table of exits ---------------------------------------------------------------------------------

@dataclass
class Row:
    """One request of a row: where it goes, its model (a deployment and a breaker of its own),
    its id, and the resources at rest before it."""

    sidecar: SidecarProcess
    emulator: Any
    metrics_port: int
    model: str
    request_id: str
    before: Resources


Run = Callable[[Row], None]
CHAT = "/v1/chat/completions"


def wait_for_upstream(emulator: Any) -> None:
    """Until the provider has received the request: the sidecar now waits on it."""
    deadline = time.monotonic() + SETTLE_S
    while not emulator.requests():
        assert time.monotonic() < deadline, "the sidecar sent nothing upstream"
        time.sleep(0.01)


def answered(status: int = 200, code: str | None = None, *, stream: bool = False, path: str = CHAT,
             method: str = "POST", body: Callable[[str], Any] | None = None, cycle: list[dict[str, Any]] | None = None) -> Run:
    """A request read to its end, the openai flavour answering with `cycle` (default: normally);
    `body(model)` defaults to a chat request."""
    def run(row: Row) -> None:
        if cycle:
            row.emulator.cycle("openai", cycle)
        sent = body(row.model) if body else (chat(row.model, stream=stream) if method == "POST" else None)
        exchange = Exchange(row.sidecar, method, path, sent, row.request_id)
        answer = exchange.read_all()
        assert exchange.status == status, answer[:300]
        if code:
            assert error_code(answer) == code, answer[:300]
        if status == 200 and stream:
            assert answer.endswith(b"data: [DONE]\n\n") and b'"usage":{' in answer, answer[-300:]
    return run


def broken_stream(behaviour: dict[str, Any], code: str) -> Run:
    """A stream the provider breaks after its first events: the client gets the words sent so
    far, then an OpenAI error event with `code`."""
    def run(row: Row) -> None:
        row.emulator.behaviours("openai", [behaviour])
        exchange = Exchange(row.sidecar, "POST", CHAT, chat(row.model, stream=True), row.request_id)
        body = exchange.read_all()
        assert exchange.status == 200
        events = [json.loads(line[6:]) for line in body.decode().split("\n") if line.startswith("data: {")]
        assert any(event.get("choices") for event in events), f"no words before the failure: {body[:300]!r}"
        assert events[-1]["error"]["code"] == code, body[-300:]
    return run


def hang_up_while_waiting(stream: bool = False, path: str = CHAT, body: Callable[[str], Any] | None = None,
                          leased: bool = True) -> Run:
    """The provider holds its answer back; the client hangs up once the sidecar sent the
    request upstream and holds its slot, lease and reservation (`leased`: passthrough holds none)."""
    def run(row: Row) -> None:
        row.emulator.behaviours("openai", [{"hang_before_headers_s": NEVER_S}])
        sent = body(row.model) if body else chat(row.model, stream=stream)
        exchange = Exchange(row.sidecar, "POST", path, sent, row.request_id)
        wait_for_upstream(row.emulator)
        if leased:
            wait_for(row.metrics_port, holding(row.before, stream=stream, deployment=f"openai/{row.model}"),
                     "the waiting request holds nothing")
        exchange.close()
    return run


def hang_up_mid_stream(row: Row) -> None:
    """The provider stops at a gate after its first events (and is never let go); the client
    reads the first words, then hangs up."""
    row.emulator.behaviours("openai", [{"gate": row.request_id, "gate_after_chunks": 3}])
    exchange = Exchange(row.sidecar, "POST", CHAT, chat(row.model, stream=True), row.request_id)
    exchange.read_until(b"Hello")
    wait_for(row.metrics_port, holding(row.before, stream=True, deployment=f"openai/{row.model}"),
             "the stream in flight holds nothing")
    exchange.close()


def hang_up_in_backoff(row: Row) -> None:
    """Cancellation: the provider answers 429 with a Retry-After the sidecar waits out before its
    retry (a request nobody cancels would hold everything that long); the client hangs up
    during that wait."""
    row.emulator.cycle("openai", [{"status": 429, "headers": {"retry-after": str(NEVER_S - 10)}}])
    exchange = Exchange(row.sidecar, "POST", CHAT, chat(row.model, stream=True), row.request_id)
    wait_for_upstream(row.emulator)
    wait_for(row.metrics_port, holding(row.before, stream=True, deployment=f"openai/{row.model}"),
             "the request in its backoff holds nothing")
    exchange.close()


def refused_by_the_open_breaker(row: Row) -> None:
    """A request fails and opens the breaker (consecutive_failures 1); the row's request then
    finds it open and is sent nowhere."""
    answered(502, cycle=[{"status": 500}])(Row(row.sidecar, row.emulator, row.metrics_port, row.model,
                                               row.request_id + "-opener", row.before))
    attempts = len(row.emulator.requests())
    answered(503, "circuit_open")(row)
    assert len(row.emulator.requests()) == attempts, "an open breaker sends nothing"


def all_candidates_failed(row: Row) -> None:
    row.emulator.cycle("custom", [{"status": 500}])
    row.emulator.cycle("deepseek", [{"status": 500}])
    answered(503, "all_candidates_failed")(row)


def bad_body(row: Row) -> None:
    exchange = Exchange(row.sidecar, "POST", CHAT, request_id=row.request_id,
                        raw_body=b'{"model": "' + row.model.encode() + b'", "messages": [{"role": "user", "content": "Hel')
    answer = exchange.read_all()
    assert (exchange.status, error_code(answer)) == (400, "invalid_request"), answer[:300]


@dataclass
class Exit:
    """A row: how the request ends, its usage line's outcome, status and error type, and the
    state of its model's breaker afterwards (`open`: the exit was the deployment's failure)."""

    name: str
    run: Run
    outcome: str
    status: int
    error_type: Any = None
    breaker: str | None = "closed"
    # The row's model under `models:` (default: on the openai flavour, priced) and, when it has
    # several deployments, the state of each one's breaker.
    model_yaml: str = f"    provider: openai\n    price: {PRICE}\n"
    breakers: dict[str, str] | None = None

    @property
    def model(self) -> str:
        return f"exit-{self.name}"

    def expected_breakers(self) -> dict[str, str]:
        if self.breakers is not None:
            return self.breakers
        return {f"openai/{self.model}": self.breaker} if self.breaker else {}


# Longer than the context-window row's model takes (256 tokens).
LONG_PROMPT = [{"role": "user", "content": "word " * 400}]
SERVER_ERROR_EVENT = {"stream_error": {"type": "server_error", "message": "The server had an error"}}
EXITS = [
    # Success.
    Exit("chat", answered(), "success", 200),
    Exit("streamed", answered(stream=True), "success", 200),
    Exit("embeddings", answered(path="/v1/embeddings", body=lambda model: {"model": model, "input": ["one two", "three"]}),
         "success", 200),
    Exit("passthrough", answered(path="/v1/chat/completions/chatcmpl-stored0", method="GET"), "success", 200, breaker=None),
    # An error before the headers.
    Exit("provider-400", answered(400, cycle=[{"status": 400}]), "upstream_error", 400, "upstream_error"),
    Exit("provider-429", answered(429, cycle=[{"status": 429}]), "upstream_error", 429, "upstream_error"),
    Exit("provider-500", answered(502, cycle=[{"status": 500}]), "upstream_error", 502, "upstream_error", breaker="open"),
    Exit("provider-500-streamed", answered(502, stream=True, cycle=[{"status": 500}]), "upstream_error", 502, "upstream_error",
         breaker="open"),
    Exit("all-candidates-failed", all_candidates_failed, "upstream_error", 503, "all_candidates_failed",
         model_yaml="    deployments:\n      - { provider: custom, upstream_model: all-failed-a }\n"
                    f"      - {{ provider: deepseek, upstream_model: all-failed-b }}\n    price: {PRICE}\n",
         breakers={"custom/all-failed-a": "open", "deepseek/all-failed-b": "open"}),
    Exit("quota-refused", answered(429, "quota_exceeded", body=lambda model: chat(model, max_tokens=1_000_000)),
         "rejected", 429, "quota_exceeded",
         model_yaml="    provider: openai\n    price: { input: 1, output: 1000, currency: USD }\n"),
    Exit("context-window", answered(400, "context_length_exceeded", body=lambda model: {**chat(model), "messages": LONG_PROMPT}),
         "rejected", 400, "context_length_exceeded",
         model_yaml=f"    provider: openai\n    context_window: 256\n    max_output_tokens: 16\n    price: {PRICE}\n"),
    Exit("bad-body", bad_body, "rejected", 400, "invalid_request", breaker=None),  # no model read, no deployment
    Exit("circuit-open", refused_by_the_open_breaker, "circuit_open", 503, "circuit_open", breaker="open"),
    # An error mid-stream.
    Exit("stream-error-event", broken_stream(SERVER_ERROR_EVENT, "upstream_error"), "stream_error", 200, "upstream_error",
         breaker="open"),
    Exit("stream-connection-dropped", broken_stream({"reset_after_chunks": 3}, "upstream_connection_failed"),
         "stream_error", 200, "upstream_connection_failed", breaker="open"),
    Exit("stream-malformed", broken_stream({"garbage": True}, "upstream_malformed_response"),
         "stream_error", 200, "upstream_malformed_response", breaker="open"),
    # The client hangs up.
    Exit("hang-up-waiting-streamed", hang_up_while_waiting(stream=True), "client_disconnected", 499, "cancelled"),
    Exit("hang-up-waiting", hang_up_while_waiting(), "client_disconnected", 499, "cancelled"),
    Exit("hang-up-waiting-embeddings",
         hang_up_while_waiting(path="/v1/embeddings", body=lambda model: {"model": model, "input": "one two"}),
         "client_disconnected", 499, "cancelled"),
    Exit("hang-up-waiting-passthrough",
         hang_up_while_waiting(path="/v1/debug/echo", body=lambda model: {"probe": True}, leased=False),
         "client_disconnected", 499, "cancelled", breaker=None),
    Exit("hang-up-mid-stream", hang_up_mid_stream, "client_disconnected", 200, "cancelled"),
    Exit("hang-up-in-backoff", hang_up_in_backoff, "client_disconnected", 499, "cancelled"),
]


def lifecycle_configuration(emulator: Any, metrics_port: int, breaker: str, server: str = "") -> str:
    """The row models, quotas that see every reservation, the metrics listener, `max_streams`
    MAX_STREAMS and breakers as `breaker` says (YAML flow items, e.g. `consecutive_failures: 1`)."""
    models = "".join(f"  {row.model}:\n{row.model_yaml}" for row in EXITS)
    text = configuration(emulator, extra_models=models)
    old_resilience = ("  retries: { backoff: 5ms, max_backoff: 20ms, max_wait: 1s }\n"
                      "  breaker: { consecutive_failures: 100000, minimum_calls: 100000 }\n")
    assert old_resilience in text
    # Backoffs short enough for the failing rows, and waits long enough that a Retry-After of
    # NEVER_S - 10 is waited out (not given up on) by a request nobody cancels.
    text = text.replace(old_resilience, "  retries: { backoff: 5ms, max_backoff: 20ms, max_wait: 40s, "
                                        "budget: { ratio: 1.0, minimum_per_second: 100 } }\n"
                                        f"  breaker: {{ {breaker}, minimum_calls: 100000 }}\n")
    return text + f"""
metrics:
  listen: 127.0.0.1:{metrics_port}
server:
  max_streams: {MAX_STREAMS}
{server}quotas:
  global:
    tokens_per_minute: {TOKENS_PER_MINUTE}
    cost_per_day: {{ USD: {COST_PER_DAY_USD} }}
"""


@dataclass
class Lifecycle:
    """A sidecar with the lifecycle configuration, and its metrics listener."""

    sidecar: SidecarProcess
    emulator: Any
    metrics_port: int

    def row(self, request_id: str, model: str = "exit-streamed", before: Resources | None = None) -> Row:
        """A request on `model`, measured against `before` (default: the resources once at rest)."""
        return Row(self.sidecar, self.emulator, self.metrics_port, model, request_id, before or at_rest(self.metrics_port))

    def resources(self) -> Resources:
        return resources(self.metrics_port)


@contextlib.contextmanager
def lifecycle_sidecar(emulator: Any, directory: Path, breaker: str, server: str = "",
                      quotas: str = "") -> Iterator[Lifecycle]:
    metrics_port = free_port()
    text = lifecycle_configuration(emulator, metrics_port, breaker, server).replace("quotas:\n", "quotas:\n" + quotas, 1)
    process = SidecarProcess(directory, text, provider_keys(emulator))
    try:
        yield Lifecycle(process, emulator, metrics_port)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def lifecycle(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    """One sidecar for the table: breakers open at the first failed request and stay open."""
    with lifecycle_sidecar(emulator, tmp_path_factory.mktemp("lifecycle"), "consecutive_failures: 1, open_for: 10m") as running:
        yield running


@pytest.mark.parametrize("exit", EXITS, ids=[row.name for row in EXITS])
def test_every_exit_gives_back_what_it_took(lifecycle: Lifecycle, exit: Exit) -> None:
    sidecar = lifecycle.sidecar
    row = lifecycle.row(f"lifecycle-{exit.name}", exit.model)
    assert row.before.quota.keys() == {"tokens_per_minute", "cost_per_day"}
    exit.run(row)

    line = sidecar.usage_for(row.request_id, timeout=SETTLE_S)
    assert (line["outcome"], line["http.response.status_code"]) == (exit.outcome, exit.status), line
    assert line["error.type"] == exit.error_type, line
    lines = [line for line in sidecar.usage_lines() if line["request_id"].startswith(row.request_id)]
    used = spent(lines)
    after = wait_for(lifecycle.metrics_port, settled(row.before, used),
                     f"after {exit.name}: not back at rest, or the quotas are not what they were less {used}")
    actual = {deployment: after.breakers.get(deployment) for deployment in exit.expected_breakers()}
    assert actual == exit.expected_breakers(), "the breaker heard the wrong outcome"
    if exit.outcome == "client_disconnected":
        assert len(lifecycle.emulator.requests()) == 1, "a retry was sent for a client that had left"
    assert sidecar.process.poll() is None


def test_after_every_exit_max_streams_streams_are_admitted_at_once(lifecycle: Lifecycle) -> None:
    """Runs after the table: had any exit kept its `max_streams` slot, fewer than MAX_STREAMS
    streams would be admitted now."""
    sidecar, emulator, model = lifecycle.sidecar, lifecycle.emulator, "exit-streamed"
    before = at_rest(lifecycle.metrics_port)
    emulator.behaviours("openai", [{"gate": f"slots-{index}", "gate_after_chunks": 3} for index in range(MAX_STREAMS)])
    streams = [Exchange(sidecar, "POST", CHAT, chat(model, stream=True), f"slots-{index}") for index in range(MAX_STREAMS)]
    try:
        for stream in streams:
            stream.read_until(b"Hello")
        wait_for(lifecycle.metrics_port, lambda now: now.streams == MAX_STREAMS and now.leases[f"openai/{model}"] == MAX_STREAMS,
                 f"{MAX_STREAMS} streams in flight are not all counted")
        answered(503, "too_many_streams", stream=True)(lifecycle.row("slots-extra", model, before))
    finally:
        for index in range(MAX_STREAMS):
            emulator.open_gate(f"slots-{index}")
    for stream in streams:
        assert stream.read_all().endswith(b"data: [DONE]\n\n")
    lines = [sidecar.usage_for(f"slots-{index}") for index in range(MAX_STREAMS)] + [sidecar.usage_for("slots-extra")]
    assert [line["outcome"] for line in lines] == ["success"] * MAX_STREAMS + ["rejected"]
    wait_for(lifecycle.metrics_port, settled(before, spent(lines)), "the streams did not give back what they took")


# -- The breaker hears mid-stream failures, and never a client that left -------------------------------

BREAKER_THRESHOLD = 3


def test_mid_stream_failures_open_the_breaker_and_hang_ups_never_count(emulator: Any, tmp_path: Path) -> None:
    hang_ups = [hang_up_while_waiting(stream=True), hang_up_mid_stream, hang_up_while_waiting(), hang_up_mid_stream]
    failures = [broken_stream(SERVER_ERROR_EVENT, "upstream_error"),
                broken_stream({"reset_after_chunks": 3}, "upstream_connection_failed"),
                broken_stream({"garbage": True}, "upstream_malformed_response")]
    assert len(hang_ups) > BREAKER_THRESHOLD and len(failures) == BREAKER_THRESHOLD
    deployment = "openai/exit-streamed"
    with lifecycle_sidecar(emulator, tmp_path, f"consecutive_failures: {BREAKER_THRESHOLD}, open_for: 10m") as running:
        sidecar, before = running.sidecar, at_rest(running.metrics_port)
        for index, run in enumerate(hang_ups):
            emulator.reset()
            run(running.row(f"breaker-hang-up-{index}"))
            assert sidecar.usage_for(f"breaker-hang-up-{index}")["outcome"] == "client_disconnected"
            state = wait_for(running.metrics_port, lambda now: not now.held(), "a hang-up kept what it took").breakers[deployment]
            assert state == "closed", f"{index + 1} client hang-ups counted against the deployment"
        for index, run in enumerate(failures):
            emulator.reset()
            run(running.row(f"breaker-failure-{index}"))
            assert sidecar.usage_for(f"breaker-failure-{index}")["outcome"] == "stream_error"
            expected = "open" if index + 1 == BREAKER_THRESHOLD else "closed"
            wait_for(running.metrics_port, lambda now: now.breakers[deployment] == expected,
                     f"after {index + 1} mid-stream failures the breaker is not {expected}")
        emulator.reset()
        answered(503, "circuit_open", stream=True)(running.row("breaker-rejected"))
        assert emulator.requests() == [], "an open breaker sends nothing"
        assert sidecar.usage_for("breaker-rejected")["outcome"] == "circuit_open"
        lines = [line for line in sidecar.usage_lines() if line["request_id"].startswith("breaker-")]
        assert len(lines) == len(hang_ups) + len(failures) + 1
        wait_for(running.metrics_port, settled(before, spent(lines)), "the breaker's requests did not give back what they took")


PROBE_HANG_UPS = {
    "waiting-streamed": hang_up_while_waiting(stream=True),
    "waiting": hang_up_while_waiting(),
    "mid-stream": hang_up_mid_stream,
    "in-backoff": hang_up_in_backoff,
}


@pytest.mark.parametrize("hang_up", PROBE_HANG_UPS)
def test_a_half_open_probe_whose_client_left_is_no_outcome_and_gives_its_admission_back(emulator: Any, tmp_path: Path,
                                                                                         hang_up: str) -> None:
    """A client that leaves says nothing about the deployment: the breaker stays half-open (a
    success would close it on a deployment that never answered), and the probe's admission is
    free for the next request, which closes the breaker by succeeding."""
    deployment = "openai/exit-streamed"
    with lifecycle_sidecar(emulator, tmp_path, "consecutive_failures: 1, open_for: 1s, half_open_probes: 1") as running:
        answered(502, cycle=[{"status": 500}])(running.row("probe-opener"))
        emulator.reset()
        deadline = time.monotonic() + SETTLE_S + 1
        while (state := running.resources().breakers[deployment]) != "half_open":  # once open_for passed
            assert time.monotonic() < deadline, f"the breaker is {state}, not half_open after open_for"
            time.sleep(0.02)
        PROBE_HANG_UPS[hang_up](running.row("probe-hang-up", before=running.resources()))
        assert running.sidecar.usage_for("probe-hang-up")["outcome"] == "client_disconnected"
        after = wait_for(running.metrics_port, lambda now: not now.held(), "the probe kept what it took")
        assert after.breakers[deployment] == "half_open", \
            f"a probe whose client left ({hang_up}) was recorded as an outcome: the breaker is {after.breakers[deployment]}"
        emulator.reset()
        answered()(running.row("probe-next", before=after))
        wait_for(running.metrics_port, lambda now: now.breakers[deployment] == "closed",
                 "a successful probe did not close the breaker")


@pytest.mark.parametrize("hang_up", PROBE_HANG_UPS)
def test_a_hang_up_between_two_failures_does_not_break_their_streak(emulator: Any, tmp_path: Path, hang_up: str) -> None:
    """consecutive_failures 2: a failure, a client that leaves, a failure — the breaker opens.
    Recorded as a success, the hang-up would reset the streak of a deployment that never
    answered it."""
    deployment = "openai/exit-streamed"
    with lifecycle_sidecar(emulator, tmp_path, "consecutive_failures: 2, open_for: 10m") as running:
        answered(502, cycle=[{"status": 500}])(running.row("streak-failure-0"))
        emulator.reset()
        PROBE_HANG_UPS[hang_up](running.row("streak-hang-up"))
        assert running.sidecar.usage_for("streak-hang-up")["outcome"] == "client_disconnected"
        emulator.reset()
        answered(502, cycle=[{"status": 500}])(running.row("streak-failure-1"))
        state = wait_for(running.metrics_port, lambda now: not now.held(), "a request kept what it took").breakers[deployment]
        assert state == "open", f"failure, client hang-up ({hang_up}), failure: the breaker is {state}"


# -- The drain deadline at shutdown ------------------------------------------------------------------------

def test_the_drain_deadline_ends_a_stream_with_shutting_down_and_settles_its_spend(emulator: Any, tmp_path: Path) -> None:
    state_file = tmp_path / "quotas.json"
    with lifecycle_sidecar(emulator, tmp_path / "sidecar", "consecutive_failures: 1, open_for: 10m",
                           server="  shutdown_delay: 0s\n  drain_timeout: 1s\n",
                           quotas=f"  state_file: {state_file}\n") as running:
        row = running.row("drain-stream")
        # The provider stops after its first words and is never let go: only the deadline ends it.
        emulator.behaviours("openai", [{"gate": "drain", "gate_after_chunks": 3}])
        try:
            stream = Exchange(running.sidecar, "POST", CHAT, chat(row.model, stream=True), row.request_id)
            stream.read_until(b"Hello")
            wait_for(running.metrics_port, holding(row.before, stream=True, deployment=f"openai/{row.model}"),
                     "the stream holds nothing")
            running.sidecar.process.send_signal(signal.SIGTERM)
            body = stream.read_all()
            assert running.sidecar.process.wait(timeout=SOCKET_TIMEOUT_S + 5) == 0
        finally:
            emulator.open_gate("drain")
    events = [json.loads(line[6:]) for line in body.decode().split("\n") if line.startswith("data: {")]
    assert events[-1]["error"]["code"] == "shutting_down", body[-300:]
    line = running.sidecar.usage_for(row.request_id)
    assert (line["outcome"], line["error.type"], line["http.response.status_code"]) == ("stream_error", "shutting_down", 200)
    assert line["cost"] > 0, "the words delivered are billed"
    # What the stream spent is committed; nothing of its reservation is left over.
    saved = json.loads(state_file.read_text())
    assert [window["used"] for window in saved["windows"]] == [round(line["cost"] * 10**12)]
