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
Further tests: SIGTERM's drain deadline ends a stream with `shutting_down` and still writes its
usage line and settles its spend; mid-stream failures open a breaker after exactly
`consecutive_failures` of them while client hang-ups never count; a half-open probe whose client
left gives its admission back; and after every exit, `max_streams` streams are admitted at once.

Requests go over raw sockets (a client library would hide when and how the connection is
closed); every wait is bounded and polls for a state, never for an amount of time.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
    """The request whose id the row is given, the part of the sidecar it runs against, and what
    must be seen once it ended."""

    sidecar: SidecarProcess
    emulator: Any
    metrics_port: int
    request_id: str
    before: Resources


@dataclass
class Exit:
    name: str
    run: Callable[[Row], None]
    outcome: str
    status: int
    error_type: str | None = None
    # Deployments (provider/upstream_model) of the row's model: their breaker state afterwards.
    breakers: dict[str, str] = field(default_factory=dict)
    # YAML of the row's model under `models:`; default: on the openai flavour, priced.
    model_yaml: str = ""

    @property
    def model(self) -> str:
        return f"exit-{self.name}"

    @property
    def deployment(self) -> str:
        return f"openai/{self.model}"


def wait_for_upstream(emulator: Any, flavour: str, count: int = 1) -> None:
    """Until the provider has received `count` requests: the sidecar is now waiting on it."""
    deadline = time.monotonic() + SETTLE_S
    while len(emulator.requests(flavour)) < count:
        assert time.monotonic() < deadline, f"the sidecar sent {len(emulator.requests(flavour))} of {count} requests"
        time.sleep(0.01)


def complete(model: str, path: str = "/v1/chat/completions", body: Any = None, method: str = "POST",
             **expected: Any) -> Callable[[Row], None]:
    """A request read to its end; `status` (default 200) and `code` checked."""
    def run(row: Row) -> None:
        exchange = Exchange(row.sidecar, method, path, body if body is not None else ({} if method == "POST" else None),
                            row.request_id)
        answer = exchange.read_all()
        assert exchange.status == expected.get("status", 200), answer[:300]
        if "code" in expected:
            assert error_code(answer) == expected["code"], answer[:300]
    return run


def with_behaviours(flavours: dict[str, list[dict[str, Any]]], then: Callable[[Row], None], cycle: bool = False) -> Callable[[Row], None]:
    def run(row: Row) -> None:
        for flavour, behaviours in flavours.items():
            (row.emulator.cycle if cycle else row.emulator.behaviours)(flavour, behaviours)
        then(row)
    return run


def streamed_to_the_end(model: str) -> Callable[[Row], None]:
    def run(row: Row) -> None:
        exchange = Exchange(row.sidecar, "POST", "/v1/chat/completions", chat(model, stream=True), row.request_id)
        body = exchange.read_all()
        assert exchange.status == 200 and body.endswith(b"data: [DONE]\n\n"), body[-300:]
        assert b'"usage":{' in body
    return run


def broken_stream(model: str, behaviour: dict[str, Any], code: str) -> Callable[[Row], None]:
    """A stream the provider breaks after its first events: the client sees the words sent so
    far, then an OpenAI error event with `code`."""
    def run(row: Row) -> None:
        row.emulator.behaviours("openai", [behaviour])
        exchange = Exchange(row.sidecar, "POST", "/v1/chat/completions", chat(model, stream=True), row.request_id)
        body = exchange.read_all()
        assert exchange.status == 200
        events = [json.loads(line[6:]) for line in body.decode().split("\n") if line.startswith("data: {")]
        assert any(event.get("choices") for event in events), f"no words before the failure: {body[:300]!r}"
        assert events[-1]["error"]["code"] == code, body[-300:]
    return run


def hang_up_while_waiting(model: str, stream: bool = False, path: str = "/v1/chat/completions",
                          body: dict[str, Any] | None = None) -> Callable[[Row], None]:
    """The provider holds its answer back; the client hangs up once the sidecar sent the
    request upstream and holds its slot, lease and reservation (passthrough holds none)."""
    def run(row: Row) -> None:
        row.emulator.behaviours("openai", [{"hang_before_headers_s": NEVER_S}])
        exchange = Exchange(row.sidecar, "POST", path, body or chat(model, stream=stream), row.request_id)
        wait_for_upstream(row.emulator, "openai")
        if model:
            wait_for(row.metrics_port, holding(row.before, stream=stream, deployment=f"openai/{model}"),
                     "the waiting request holds nothing")
        exchange.close()
    return run


def hang_up_mid_stream(model: str) -> Callable[[Row], None]:
    """The provider stops at a gate after its first events (and is never let go); the client
    reads the first words, then hangs up."""
    def run(row: Row) -> None:
        row.emulator.behaviours("openai", [{"gate": row.request_id, "gate_after_chunks": 3}])
        exchange = Exchange(row.sidecar, "POST", "/v1/chat/completions", chat(model, stream=True), row.request_id)
        exchange.read_until(b"Hello")
        wait_for(row.metrics_port, holding(row.before, stream=True, deployment=f"openai/{model}"),
                 "the stream in flight holds nothing")
        exchange.close()
    return run


def hang_up_in_backoff(model: str) -> Callable[[Row], None]:
    """The provider answers 429 with a Retry-After the sidecar waits out before its retry; the
    client hangs up during that wait. The retry must never be sent."""
    def run(row: Row) -> None:
        row.emulator.cycle("openai", [{"status": 429, "headers": {"retry-after": str(NEVER_S - 10)}}])
        exchange = Exchange(row.sidecar, "POST", "/v1/chat/completions", chat(model, stream=True), row.request_id)
        wait_for_upstream(row.emulator, "openai")
        wait_for(row.metrics_port, holding(row.before, stream=True, deployment=f"openai/{model}"),
                 "the request in its backoff holds nothing")
        exchange.close()
    return run


def breaker_opened_first(model: str) -> Callable[[Row], None]:
    """One request fails (opening the breaker: consecutive_failures 1), then the row's request
    finds the breaker open."""
    def run(row: Row) -> None:
        row.emulator.cycle("openai", [{"status": 500}])
        complete(model, body=chat(model), status=502)(Row(row.sidecar, row.emulator, row.metrics_port,
                                                          row.request_id + "-opener", row.before))
        attempts = len(row.emulator.requests("openai"))
        exchange = Exchange(row.sidecar, "POST", "/v1/chat/completions", chat(model), row.request_id)
        answer = exchange.read_all()
        assert (exchange.status, error_code(answer)) == (503, "circuit_open")
        assert len(row.emulator.requests("openai")) == attempts, "an open breaker sends nothing"
    return run


def all_failed(model: str) -> Callable[[Row], None]:
    def run(row: Row) -> None:
        row.emulator.cycle("custom", [{"status": 500}])
        row.emulator.cycle("deepseek", [{"status": 500}])
        complete(model, body=chat(model), status=503, code="all_candidates_failed")(row)
    return run


def _exits() -> list[Exit]:
    def m(name: str) -> str:
        return f"exit-{name}"

    failed = "open"
    return [
        # Success.
        Exit("chat", complete(m("chat"), body=chat(m("chat"))), "success", 200, breakers={"openai/exit-chat": "closed"}),
        Exit("streamed", streamed_to_the_end(m("streamed")), "success", 200, breakers={"openai/exit-streamed": "closed"}),
        Exit("embeddings", complete(m("embeddings"), "/v1/embeddings", {"model": m("embeddings"), "input": ["one two", "three"]}),
             "success", 200, breakers={"openai/exit-embeddings": "closed"}),
        Exit("passthrough", complete("", "/v1/chat/completions/chatcmpl-stored0", method="GET"), "success", 200),
        # An error before the headers.
        Exit("provider-400", with_behaviours({"openai": [{"status": 400}]}, complete(m("provider-400"), body=chat(m("provider-400")), status=400)),
             "upstream_error", 400, breakers={"openai/exit-provider-400": "closed"}),
        Exit("provider-429", with_behaviours({"openai": [{"status": 429}]}, complete(m("provider-429"), body=chat(m("provider-429")), status=429), cycle=True),
             "upstream_error", 429, breakers={"openai/exit-provider-429": "closed"}),
        Exit("provider-500", with_behaviours({"openai": [{"status": 500}]}, complete(m("provider-500"), body=chat(m("provider-500")), status=502), cycle=True),
             "upstream_error", 502, breakers={"openai/exit-provider-500": failed}),
        Exit("provider-500-streamed", with_behaviours({"openai": [{"status": 500}]},
                                                      complete(m("provider-500-streamed"), body=chat(m("provider-500-streamed"), stream=True), status=502), cycle=True),
             "upstream_error", 502, breakers={"openai/exit-provider-500-streamed": failed}),
        Exit("all-candidates-failed", all_failed(m("all-candidates-failed")), "upstream_error", 503, "all_candidates_failed",
             breakers={"custom/all-failed-a": failed, "deepseek/all-failed-b": failed},
             model_yaml="    deployments:\n      - { provider: custom, upstream_model: all-failed-a }\n"
                        "      - { provider: deepseek, upstream_model: all-failed-b }\n"),
        Exit("quota-refused", complete(m("quota-refused"), body=chat(m("quota-refused"), max_tokens=1_000_000), status=429, code="quota_exceeded"),
             "rejected", 429, "quota_exceeded", breakers={"openai/exit-quota-refused": "closed"},
             model_yaml="    provider: openai\n    price: { input: 1, output: 1000, currency: USD }\n"),
        Exit("context-window", complete(m("context-window"), body=chat(m("context-window"), messages=[{"role": "user", "content": "word " * 400}]),
                                        status=400, code="context_length_exceeded"),
             "rejected", 400, "context_length_exceeded", breakers={"openai/exit-context-window": "closed"},
             model_yaml=f"    provider: openai\n    context_window: 256\n    max_output_tokens: 16\n    price: {PRICE}\n"),
        Exit("bad-body", lambda row: _bad_body(row), "rejected", 400),
        Exit("circuit-open", breaker_opened_first(m("circuit-open")), "circuit_open", 503, "circuit_open",
             breakers={"openai/exit-circuit-open": failed}),
        # An error mid-stream.
        Exit("stream-error-event", broken_stream(m("stream-error-event"), {"stream_error": {"type": "server_error", "message": "The server had an error"}}, "upstream_error"),
             "stream_error", 200, breakers={"openai/exit-stream-error-event": failed}),
        Exit("stream-connection-dropped", broken_stream(m("stream-connection-dropped"), {"reset_after_chunks": 3}, "upstream_connection_failed"),
             "stream_error", 200, "upstream_connection_failed", breakers={"openai/exit-stream-connection-dropped": failed}),
        Exit("stream-malformed", broken_stream(m("stream-malformed"), {"garbage": True}, "upstream_malformed_response"),
             "stream_error", 200, "upstream_malformed_response", breakers={"openai/exit-stream-malformed": failed}),
        # The client hangs up.
        Exit("hang-up-waiting-streamed", hang_up_while_waiting(m("hang-up-waiting-streamed"), stream=True),
             "client_disconnected", 499, breakers={"openai/exit-hang-up-waiting-streamed": "closed"}),
        Exit("hang-up-waiting", hang_up_while_waiting(m("hang-up-waiting"), stream=False),
             "client_disconnected", 499, breakers={"openai/exit-hang-up-waiting": "closed"}),
        Exit("hang-up-waiting-embeddings", hang_up_while_waiting(m("hang-up-waiting-embeddings"), path="/v1/embeddings",
                                                                 body={"model": m("hang-up-waiting-embeddings"), "input": "one two"}),
             "client_disconnected", 499, breakers={"openai/exit-hang-up-waiting-embeddings": "closed"}),
        Exit("hang-up-waiting-passthrough", hang_up_while_waiting("", stream=False, path="/v1/debug/echo", body={"probe": True}),
             "client_disconnected", 499),
        Exit("hang-up-mid-stream", hang_up_mid_stream(m("hang-up-mid-stream")), "client_disconnected", 200,
             breakers={"openai/exit-hang-up-mid-stream": "closed"}),
        # Cancellation: the client hangs up while the request waits in a retry backoff.
        Exit("hang-up-in-backoff", hang_up_in_backoff(m("hang-up-in-backoff")), "client_disconnected", 499,
             breakers={"openai/exit-hang-up-in-backoff": "closed"}),
    ]


def _bad_body(row: Row) -> None:
    exchange = Exchange(row.sidecar, "POST", "/v1/chat/completions", request_id=row.request_id,
                        raw_body=b'{"model": "exit-bad-body", "messages": [{"role": "user", "content": "Hel')
    answer = exchange.read_all()
    assert (exchange.status, error_code(answer)) == (400, "invalid_request"), answer[:300]


EXITS = _exits()


def lifecycle_configuration(emulator: Any, metrics_port: int, breaker: str, server: str = "", extra: str = "") -> str:
    models = "".join(f"  {row.model}:\n" + (row.model_yaml or f"    provider: openai\n    price: {PRICE}\n") for row in EXITS)
    text = configuration(emulator, extra_models=models + extra)
    old_resilience = ("  retries: { backoff: 5ms, max_backoff: 20ms, max_wait: 1s }\n"
                      "  breaker: { consecutive_failures: 100000, minimum_calls: 100000 }\n")
    assert old_resilience in text
    # Backoffs short enough for the failing rows, waits long enough that a Retry-After of
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
    sidecar: SidecarProcess
    metrics_port: int


@pytest.fixture(scope="module")
def lifecycle(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    """One sidecar for the table: breakers open at the first failed request and stay open."""
    metrics_port = free_port()
    text = lifecycle_configuration(emulator, metrics_port, "consecutive_failures: 1, open_for: 10m")
    process = SidecarProcess(tmp_path_factory.mktemp("lifecycle"), text, provider_keys(emulator))
    yield Lifecycle(process, metrics_port)
    process.stop()


@pytest.mark.parametrize("exit", EXITS, ids=[row.name for row in EXITS])
def test_every_exit_gives_back_what_it_took(lifecycle: Lifecycle, emulator: Any, exit: Exit) -> None:
    sidecar, port = lifecycle.sidecar, lifecycle.metrics_port
    before = at_rest(port)
    assert before.quota.keys() == {"tokens_per_minute", "cost_per_day"}
    request_id = f"lifecycle-{exit.name}"
    exit.run(Row(sidecar, emulator, port, request_id, before))

    line = sidecar.usage_for(request_id, timeout=SETTLE_S)
    assert (line["outcome"], line["http.response.status_code"]) == (exit.outcome, exit.status), line
    if exit.error_type:
        assert line["error.type"] == exit.error_type, line
    lines = [line for line in sidecar.usage_lines() if line["request_id"].startswith(request_id)]
    used = spent(lines)
    after = wait_for(port, settled(before, used),
                     f"after {exit.name}: not back to rest, or the quota is not what it was less {used}")
    for deployment, state in exit.breakers.items():
        assert after.breakers.get(deployment) == state, f"breaker of {deployment}: {after.breakers.get(deployment)}, expected {state}"
    if exit.outcome == "client_disconnected":
        # The retry or the rest of the answer never comes once the client left.
        assert len(emulator.requests()) == 1
    assert sidecar.process.poll() is None


def test_after_every_exit_max_streams_streams_are_admitted_at_once(lifecycle: Lifecycle, emulator: Any) -> None:
    """Runs after the table: had any exit kept its `max_streams` slot, fewer than MAX_STREAMS
    streams would be admitted now."""
    sidecar, port = lifecycle.sidecar, lifecycle.metrics_port
    before = at_rest(port)
    model = "exit-streamed"
    emulator.behaviours("openai", [{"gate": f"slots-{index}", "gate_after_chunks": 3} for index in range(MAX_STREAMS)])
    streams = [Exchange(sidecar, "POST", "/v1/chat/completions", chat(model, stream=True), f"slots-{index}")
               for index in range(MAX_STREAMS)]
    try:
        for stream in streams:
            stream.read_until(b"Hello")
        wait_for(port, lambda now: now.streams == MAX_STREAMS and now.leases[f"openai/{model}"] == MAX_STREAMS,
                 f"{MAX_STREAMS} streams in flight are not all counted")
        extra = Exchange(sidecar, "POST", "/v1/chat/completions", chat(model, stream=True), "slots-extra")
        answer = extra.read_all()
        assert (extra.status, error_code(answer)) == (503, "too_many_streams")
    finally:
        for index in range(MAX_STREAMS):
            emulator.open_gate(f"slots-{index}")
    for stream in streams:
        assert stream.read_all().endswith(b"data: [DONE]\n\n")
    lines = [sidecar.usage_for(f"slots-{index}") for index in range(MAX_STREAMS)] + [sidecar.usage_for("slots-extra")]
    assert [line["outcome"] for line in lines] == ["success"] * MAX_STREAMS + ["rejected"]
    wait_for(port, settled(before, spent(lines)), "the streams did not give back what they took")


# -- The breaker hears mid-stream failures, and never a client that left -------------------------------

BREAKER_THRESHOLD = 3


@pytest.fixture
def breaker_sidecar(emulator: Any, tmp_path: Path) -> Iterator[Lifecycle]:
    metrics_port = free_port()
    text = lifecycle_configuration(emulator, metrics_port, f"consecutive_failures: {BREAKER_THRESHOLD}, open_for: 10m")
    process = SidecarProcess(tmp_path, text, provider_keys(emulator))
    yield Lifecycle(process, metrics_port)
    process.stop()


def test_mid_stream_failures_open_the_breaker_and_hang_ups_never_count(breaker_sidecar: Lifecycle, emulator: Any) -> None:
    sidecar, port = breaker_sidecar.sidecar, breaker_sidecar.metrics_port
    model, deployment = "exit-streamed", "openai/exit-streamed"
    before = at_rest(port)
    hang_ups = [hang_up_while_waiting(model, stream=True), hang_up_mid_stream(model), hang_up_while_waiting(model),
                hang_up_mid_stream(model)]
    failures = [broken_stream(model, {"stream_error": {"type": "server_error", "message": "The server had an error"}}, "upstream_error"),
                broken_stream(model, {"reset_after_chunks": 3}, "upstream_connection_failed"),
                broken_stream(model, {"garbage": True}, "upstream_malformed_response")]
    assert len(hang_ups) > BREAKER_THRESHOLD and len(failures) == BREAKER_THRESHOLD
    for index, run in enumerate(hang_ups):
        emulator.reset()
        run(Row(sidecar, emulator, port, f"breaker-hang-up-{index}", at_rest(port)))
        assert sidecar.usage_for(f"breaker-hang-up-{index}")["outcome"] == "client_disconnected"
        state = wait_for(port, lambda now: not now.held(), "a hang-up kept what it took").breakers[deployment]
        assert state == "closed", f"{index + 1} client hang-ups counted against the deployment"
    for index, run in enumerate(failures):
        emulator.reset()
        run(Row(sidecar, emulator, port, f"breaker-failure-{index}", at_rest(port)))
        assert sidecar.usage_for(f"breaker-failure-{index}")["outcome"] == "stream_error"
        expected = "open" if index + 1 == BREAKER_THRESHOLD else "closed"
        wait_for(port, lambda now: now.breakers[deployment] == expected,
                 f"after {index + 1} mid-stream failures the breaker is not {expected}")
    emulator.reset()
    exchange = Exchange(sidecar, "POST", "/v1/chat/completions", chat(model, stream=True), "breaker-rejected")
    answer = exchange.read_all()
    assert (exchange.status, error_code(answer)) == (503, "circuit_open")
    assert emulator.requests() == []
    assert sidecar.usage_for("breaker-rejected")["outcome"] == "circuit_open"
    lines = [line for line in sidecar.usage_lines() if line["request_id"].startswith("breaker-")]
    assert len(lines) == len(hang_ups) + len(failures) + 1
    wait_for(port, settled(before, spent(lines)), "the breaker's rows did not give back what they took")


PROBE_HANG_UPS = {
    "waiting-streamed": lambda model: hang_up_while_waiting(model, stream=True),
    "waiting": lambda model: hang_up_while_waiting(model),
    "mid-stream": hang_up_mid_stream,
    "in-backoff": hang_up_in_backoff,
}


@pytest.mark.parametrize("hang_up", PROBE_HANG_UPS)
def test_a_half_open_probe_whose_client_left_is_no_outcome_and_gives_its_admission_back(emulator: Any, tmp_path: Path,
                                                                                         hang_up: str) -> None:
    """A client that leaves says nothing about the deployment: the breaker stays half-open (a
    success would close it on a deployment that never answered), and the probe's admission is
    free for the next request, which closes the breaker by succeeding."""
    metrics_port = free_port()
    text = lifecycle_configuration(emulator, metrics_port, "consecutive_failures: 1, open_for: 1s, half_open_probes: 1")
    sidecar = SidecarProcess(tmp_path, text, provider_keys(emulator))
    try:
        model, deployment = "exit-streamed", "openai/exit-streamed"
        emulator.cycle("openai", [{"status": 500}])
        complete(model, body=chat(model), status=502)(Row(sidecar, emulator, metrics_port, "probe-opener", at_rest(metrics_port)))
        emulator.reset()
        deadline = time.monotonic() + SETTLE_S + 1
        while (state := resources(metrics_port).breakers[deployment]) != "half_open":  # after open_for
            assert time.monotonic() < deadline, f"the breaker is {state}, not half_open after open_for"
            time.sleep(0.02)
        PROBE_HANG_UPS[hang_up](model)(Row(sidecar, emulator, metrics_port, "probe-hang-up", resources(metrics_port)))
        assert sidecar.usage_for("probe-hang-up")["outcome"] == "client_disconnected"
        after = wait_for(metrics_port, lambda now: not now.held(), "the probe kept what it took")
        assert after.breakers[deployment] == "half_open", \
            f"a probe whose client left ({hang_up}) was recorded as an outcome: the breaker is {after.breakers[deployment]}"
        emulator.reset()
        complete(model, body=chat(model))(Row(sidecar, emulator, metrics_port, "probe-next", after))
        wait_for(metrics_port, lambda now: now.breakers[deployment] == "closed", "a successful probe did not close the breaker")
    finally:
        sidecar.stop()


# -- The drain deadline at shutdown ------------------------------------------------------------------------

def test_the_drain_deadline_ends_a_stream_with_shutting_down_and_settles_its_spend(emulator: Any, tmp_path: Path) -> None:
    metrics_port = free_port()
    state_file = tmp_path / "quotas.json"
    text = lifecycle_configuration(emulator, metrics_port, "consecutive_failures: 1, open_for: 10m",
                                   server="  shutdown_delay: 0s\n  drain_timeout: 1s\n")
    text = text.replace("quotas:\n", f"quotas:\n  state_file: {state_file}\n", 1)
    sidecar = SidecarProcess(tmp_path / "sidecar", text, provider_keys(emulator))
    model = "exit-streamed"
    try:
        before = at_rest(metrics_port)
        # The provider stops after its first words and is never let go: only the deadline ends it.
        emulator.behaviours("openai", [{"gate": "drain", "gate_after_chunks": 3}])
        stream = Exchange(sidecar, "POST", "/v1/chat/completions", chat(model, stream=True), "drain-stream")
        stream.read_until(b"Hello")
        wait_for(metrics_port, holding(before, stream=True, deployment=f"openai/{model}"), "the stream holds nothing")
        sidecar.process.send_signal(signal.SIGTERM)
        body = stream.read_all()
        assert sidecar.process.wait(timeout=SOCKET_TIMEOUT_S + 5) == 0
    finally:
        emulator.open_gate("drain")
        sidecar.stop()
    events = [json.loads(line[6:]) for line in body.decode().split("\n") if line.startswith("data: {")]
    assert events[-1]["error"]["code"] == "shutting_down", body[-300:]
    line = sidecar.usage_for("drain-stream")
    assert (line["outcome"], line["error.type"], line["http.response.status_code"]) == ("stream_error", "shutting_down", 200)
    assert line["cost"] > 0, "the words delivered are billed"
    # What the stream spent is committed; nothing of its reservation is left over.
    saved = json.loads(state_file.read_text())
    assert [window["used"] for window in saved["windows"]] == [round(line["cost"] * 10**12)]
