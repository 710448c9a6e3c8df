"""Adversarial input at the edge, sent over raw sockets (httpx normalises paths and refuses CR/LF):
response splitting through a model name, oversized names and headers, path tricks that would
reach another route or another host path, passthrough against the quotas, and the usage line of
a client that gives up before the first byte."""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sidecar import CLIENT_KEY, SidecarProcess, configuration, provider_keys

HELLO = [{"role": "user", "content": "Hello"}]
INJECTION = "f-a\r\nX-Injected: yes\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nINJECTED!"


class Canary:
    """A plain HTTP server standing in for the passthrough provider: it records the raw request
    target of everything it receives and answers 200 `{}`."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        canary = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                canary.targets.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def edge_configuration(emulator: Any, canary: Canary, quotas: str = "") -> str:
    text = configuration(emulator, extra_models='  "f-*":\n    provider: openai\n')
    text = text.replace("passthrough:\n  provider: openai", "passthrough:\n  provider: canary")
    return text.replace("providers:\n", f"providers:\n  canary:\n    dialect: openai\n    base_url: {canary.base_url}\n"
                        "    api_key_env: E2E_OPENAI_KEY\n", 1) + quotas


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


@pytest.fixture(scope="module")
def edge(emulator: Any, canary: Canary, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SidecarProcess]:
    process = SidecarProcess(tmp_path_factory.mktemp("edge"), edge_configuration(emulator, canary), provider_keys(emulator))
    yield process
    process.stop()


class Connection:
    """One keep-alive connection to the sidecar, speaking HTTP/1.1 byte for byte."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.pending = b""

    def send(self, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {CLIENT_KEY}",
                 f"Content-Length: {len(data)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")
        self.sock.sendall(head + data)

    def receive(self) -> tuple[int, dict[str, str], bytes, int]:
        """Status, headers (lower-case names; a repeated name keeps the last), body, and the size
        of the head in bytes. Reads exactly one response (Content-Length or chunked)."""
        while b"\r\n\r\n" not in self.pending:
            chunk = self.sock.recv(65536)
            assert chunk, "the sidecar closed the connection"
            self.pending += chunk
            assert len(self.pending) < 1 << 20, "a response head larger than 1 MiB"
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            body = self._chunked()
        else:
            body = self._exactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, body, len(head)

    def _exactly(self, count: int) -> bytes:
        while len(self.pending) < count:
            chunk = self.sock.recv(65536)
            assert chunk, "the sidecar closed the connection mid-body"
            self.pending += chunk
        data, self.pending = self.pending[:count], self.pending[count:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self.pending:
            chunk = self.sock.recv(65536)
            assert chunk, "the sidecar closed the connection mid-chunk"
            self.pending += chunk
        line, self.pending = self.pending.split(b"\r\n", 1)
        return line

    def _chunked(self) -> bytes:
        body = b""
        while size := int(self._line().split(b";")[0], 16):
            body += self._exactly(size)
            self._exactly(2)
        self._line()
        return body

    def exchange(self, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None):
        self.send(method, target, body, headers)
        return self.receive()

    def close(self) -> None:
        self.sock.close()


def ask(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": HELLO, **extra}


def error_of(body: bytes) -> dict[str, Any]:
    return json.loads(body)["error"]


# One sample line of the text exposition format 0.0.4: name, optional labels with escaped values
# (only \\, \" and \n), value.
_LABEL_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*=' + _LABEL_VALUE
                     + r'(,[a-zA-Z_][a-zA-Z0-9_]*=' + _LABEL_VALUE + r')*\})? [-+0-9.eEInfa]+$')


def assert_exposition_parses(text: str) -> None:
    for line in text.split("\n"):
        if line and not line.startswith("#"):
            assert _SAMPLE.match(line), f"not an exposition-format sample: {line!r}"


def test_a_crlf_model_name_is_400_and_the_connection_stays_in_step(edge):
    connection = Connection(edge.port)
    try:
        status, headers, body, _ = connection.exchange("POST", "/v1/chat/completions", ask(INJECTION))
        assert status == 400
        assert "x-injected" not in headers
        assert error_of(body)["param"] == "model" and error_of(body)["code"] == "invalid_request"
        assert "X-Injected" not in body.decode()
        status, headers, body, _ = connection.exchange("GET", "/v1/models")
        assert status == 200 and "x-injected" not in headers
        assert json.loads(body)["object"] == "list"
    finally:
        connection.close()


@pytest.mark.parametrize("name", [INJECTION, "f-a\nb", "f-\u2028", "f-a\u0000", "f- a", "f-\u202e", "x" * 257])
@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/v1/chat/completions", "/v1/embeddings"])
def test_every_endpoint_refuses_unsafe_model_names(edge, name, path):
    body = {"model": name, "input": "hi"} if path == "/v1/embeddings" else ask(name)
    connection = Connection(edge.port)
    try:
        status, headers, answer, _ = connection.exchange("POST", path, body)
    finally:
        connection.close()
    assert status == 400 and error_of(answer)["param"] == "model"
    assert "x-injected" not in headers


def test_a_model_id_in_the_path_follows_the_same_policy(edge):
    connection = Connection(edge.port)
    try:
        status, _, body, _ = connection.exchange("GET", "/v1/models/f-a%0D%0AX-Injected:%20yes")
        assert status == 400 and error_of(body)["code"] == "invalid_request"  # refused with the path
        for escaped in ["f-a%20b", "f-%E2%80%A8", "f-%E2%80%AE"]:  # space, U+2028, a bidi override
            status, _, body, _ = connection.exchange("GET", "/v1/models/" + escaped)
            assert status == 400 and error_of(body)["param"] == "model"
        status, _, body, _ = connection.exchange("GET", "/v1/models/" + "m" * 300)
        assert status == 400 and error_of(body)["param"] == "model"
        status, _, body, _ = connection.exchange("GET", "/v1/models/gpt-4o-mini")
        assert status == 200 and json.loads(body)["id"] == "gpt-4o-mini"
    finally:
        connection.close()


def test_a_200000_character_model_name_gets_a_small_400(edge):
    connection = Connection(edge.port)
    try:
        status, headers, body, head_size = connection.exchange("POST", "/v1/chat/completions", ask("f-" + "a" * 200_000))
    finally:
        connection.close()
    assert status == 400 and error_of(body)["param"] == "model"
    assert head_size < 1024 and len(body) < 1024


def test_pattern_model_names_with_quotes_and_backslashes_keep_metrics_and_usage_lines_parseable(edge):
    name = 'f-q"uo\\te'
    request_id = "edge-metrics-1"
    connection = Connection(edge.port)
    try:
        connection.exchange("POST", "/v1/chat/completions", ask("f-line\nbreak"))  # must not reach a label
        status, headers, _, _ = connection.exchange("POST", "/v1/chat/completions", ask(name), {"X-Request-Id": request_id})
        assert status == 200
        assert headers["x-request-id"] == request_id
        assert "x-sidecar-route" in headers
    finally:
        connection.close()
    assert edge.usage_for(request_id)["gen_ai.request.model"] == name
    metrics = httpx.get(edge.base_url + "/metrics").text
    assert_exposition_parses(metrics)
    assert 'f-q\\"uo\\\\te' in metrics


@pytest.mark.parametrize("sent", ["a" * 129, "ab\u00e9", "a b"])
def test_an_unusable_request_id_is_replaced_by_a_fresh_one(edge, sent):
    connection = Connection(edge.port)
    try:
        status, headers, _, _ = connection.exchange("POST", "/v1/chat/completions", ask("demo"), {"X-Request-Id": sent})
    finally:
        connection.close()
    assert status == 200
    assert re.fullmatch(r"req_[0-9a-f]{24}", headers["x-request-id"])


@pytest.mark.parametrize("task", ["t" * 60_000, "a\u2028b", "a b"])
def test_an_oversized_or_unprintable_task_type_is_400_naming_the_header(edge, task):
    connection = Connection(edge.port)
    try:
        status, _, body, _ = connection.exchange("POST", "/v1/chat/completions", ask("demo"), {"X-Task-Type": task})
        assert status == 400 and error_of(body)["param"] == "X-Task-Type"
        status, _, body, _ = connection.exchange("POST", "/v1/chat/completions", ask("auto", task_type=task))
        assert status == 400 and error_of(body)["param"] == "task_type"
    finally:
        connection.close()


@pytest.mark.parametrize("target", [
    "/v1/../../etc/passwd", "/v1/%2e%2e/%2e%2e/etc/passwd", "/v1/%2E./.%2e/etc/passwd", "/v1/..%2f..%2fetc/passwd",
    "/v1\\..\\..\\etc\\passwd", "/v1/files%00", "/v1/files%0d%0aX-Injected:%20yes",
])
def test_traversal_is_refused_before_any_provider_sees_it(edge, canary, target):
    canary.targets.clear()
    connection = Connection(edge.port)
    try:
        status, _, body, _ = connection.exchange("GET", target)
        assert status == 400 and error_of(body)["type"] == "invalid_request_error"
        status, _, _, _ = connection.exchange("GET", "/v1/files?limit=1")  # the connection still works
        assert status == 200
    finally:
        connection.close()
    assert canary.targets == ["/v1/files?limit=1"]


def test_an_oversized_content_type_is_not_forwarded(edge, canary):
    canary.targets.clear()
    connection = Connection(edge.port)
    try:
        status, _, body, _ = connection.exchange("POST", "/v1/files", b"x", {"Content-Type": "text/plain; x=" + "a" * 2000})
    finally:
        connection.close()
    assert status == 400 and error_of(body)["param"] == "Content-Type"
    assert canary.targets == []


def test_an_overlong_path_is_414(edge, canary):
    canary.targets.clear()
    connection = Connection(edge.port)
    try:
        status, _, body, _ = connection.exchange("GET", "/v1/files/" + "a" * 3000)
    finally:
        connection.close()
    assert status == 414 and error_of(body)["code"] == "uri_too_long"
    assert canary.targets == []


@pytest.mark.parametrize("target", ["/v1/./chat/completions", "/v1/chat/completions/", "/v1//chat/completions",
                                    "/v1/%63hat/completions", "/v1/x/../chat/completions"])
def test_dot_and_slash_variants_of_the_chat_path_are_the_chat_route(edge, canary, target):
    canary.targets.clear()
    request_id = "edge-route-" + re.sub(r"[^a-z0-9]", "-", target)
    connection = Connection(edge.port)
    try:
        status, headers, body, _ = connection.exchange("POST", target, ask("demo"), {"X-Request-Id": request_id})
    finally:
        connection.close()
    assert status == 200 and json.loads(body)["object"] == "chat.completion"
    assert canary.targets == []
    assert edge.usage_for(request_id)["gen_ai.operation.name"] == "chat"


@pytest.fixture
def two_per_minute(emulator, canary, tmp_path) -> Iterator[SidecarProcess]:
    """A sidecar with a global quota of 2 requests per minute, started with most of the
    wall-clock minute (the quota's window) ahead, and a canary that has seen nothing."""
    quotas = "quotas:\n  global:\n    requests_per_minute: 2\n"
    sidecar = SidecarProcess(tmp_path, edge_configuration(emulator, canary, quotas), provider_keys(emulator))
    if time.time() % 60 > 50:
        time.sleep(60 - time.time() % 60 + 0.1)
    canary.targets.clear()
    yield sidecar
    sidecar.stop()


def test_passthrough_and_path_variants_cannot_get_around_the_quota(two_per_minute, canary):
    connection = Connection(two_per_minute.port)
    statuses = [connection.exchange("POST", "/v1/chat/completions", ask("demo"))[0] for _ in range(2)]
    assert statuses == [200, 200]
    for target in ["/v1/./chat/completions"] * 5 + ["/v1/chat/completions/", "/v1/files"]:
        method = "GET" if target == "/v1/files" else "POST"
        status, headers, body, _ = connection.exchange(method, target, None if method == "GET" else ask("demo"))
        assert status == 429, target
        assert error_of(body)["code"] == "quota_exceeded" and "retry-after" in headers
    connection.close()
    assert canary.targets == []
    lines = two_per_minute.wait_for_usage_lines(9)
    assert [line["http.response.status_code"] for line in lines] == [200, 200] + [429] * 7
    assert lines[-1]["gen_ai.operation.name"] == "passthrough"


def test_passthrough_counts_against_requests_per_minute(two_per_minute, canary):
    connection = Connection(two_per_minute.port)
    statuses = [connection.exchange("GET", "/v1/files")[0] for _ in range(2)]
    statuses.append(connection.exchange("POST", "/v1/chat/completions", ask("demo"))[0])
    connection.close()
    assert statuses == [200, 200, 429]
    assert canary.targets == ["/v1/files", "/v1/files"]


def test_a_client_that_gives_up_before_the_first_byte_leaves_the_route_in_its_usage_line(edge, emulator):
    emulator.behaviours("openai", [{"hang_before_headers_s": 3}])
    request_id = "edge-give-up-1"
    connection = Connection(edge.port)
    connection.send("POST", "/v1/chat/completions", ask("gpt-4o-mini"), {"X-Request-Id": request_id})
    time.sleep(0.5)  # the sidecar has sent the request upstream and waits for its first byte
    connection.close()
    line = edge.usage_for(request_id, timeout=10)
    assert line["outcome"] == "client_disconnected"
    assert line["model"] == "gpt-4o-mini"
    assert line["gen_ai.provider.name"] == "openai"
    assert line["upstream_model"] == "gpt-4o-mini-2024-07-18"
    assert line["route"] and line["route"][0]["deployment"].startswith("openai")
