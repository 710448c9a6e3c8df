"""Adversarial flow control, over raw sockets: connections held open after their first request
(idle keep-alive, half a request pipelined behind a stream), bursts of streams past
`server.max_streams`, bursts of large answers past `server.max_buffered_bytes`, connections past
`server.max_connections`, and request heads whose Content-Length or Expect must be answered at once.

Every socket has a generous timeout, so a connection the sidecar forgets fails the test instead
of hanging it; every loop is bounded."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from sidecar import CLIENT_KEY, ERROR_BODIES, SidecarProcess

# A hang must fail the test, not pass it: well above every timeout configured here, well below
# the 30 s defaults the sidecar would otherwise fall back to.
SOCKET_TIMEOUT_S = 10
CHAT = "/v1/chat/completions"


def connect(sidecar: SidecarProcess) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", sidecar.port), timeout=SOCKET_TIMEOUT_S)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def chat_request(model: str = "gpt-4o-mini", stream: bool = False, content: str = "Hello") -> bytes:
    body = json.dumps({"model": model, "stream": stream, "messages": [{"role": "user", "content": content}]}).encode()
    head = (f"POST {CHAT} HTTP/1.1\r\nHost: sidecar\r\nAuthorization: Bearer {CLIENT_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def read_head(connection: socket.socket, buffered: bytes = b"") -> tuple[bytes, bytes]:
    """The response head (status line and headers) and the bytes read after it."""
    data = buffered
    while b"\r\n\r\n" not in data:
        piece = connection.recv(65536)
        assert piece, f"connection closed before a response head; got {data[:200]!r}"
        data += piece
    head, rest = data.split(b"\r\n\r\n", 1)
    return head, rest


def read_response(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length body: status, headers (lower-case names), body."""
    head, body = read_head(connection)
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    length = int(headers["content-length"])
    while len(body) < length:
        piece = connection.recv(65536)
        assert piece, "connection closed mid-body"
        body += piece
    status = int(lines[0].split()[1])
    if status >= 400:
        ERROR_BODIES.append(body.decode(errors="replace"))
    return status, headers, body[:length]


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the sidecar sends until it closes the connection (a timeout fails the test)."""
    data = b""
    while True:
        try:
            piece = connection.recv(65536)
        except ConnectionResetError:
            return data
        if not piece:
            return data
        data += piece


def error_code(body: bytes) -> str:
    return json.loads(body)["error"]["code"]


# -- defect 7: connections held open after their first request -------------------------------------

def test_keep_alive_connections_that_served_a_request_are_closed_when_idle(launch):
    sidecar = launch("  idle_timeout: 1s\n  request_read_timeout: 2s\n")
    connections = [connect(sidecar) for _ in range(100)]
    try:
        for connection in connections:
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: sidecar\r\n\r\n")
        for connection in connections:
            status, headers, _ = read_response(connection)
            assert status == 200 and headers.get("connection") != "close"
        # Each must now be closed by the sidecar (recv returns b""); one left open times out.
        leftovers = [read_until_closed(connection) for connection in connections]
        assert leftovers == [b""] * len(connections)
    finally:
        for connection in connections:
            connection.close()


HALF_A_REQUEST = b"POST /v1/chat/completions HTTP/1.1\r\nHost: sidecar\r\nContent-Length: 100\r\n\r\n{\"mo"


@pytest.mark.parametrize("together", [True, False], ids=["in-the-stream-requests-segment", "once-the-stream-started"])
def test_half_a_request_pipelined_behind_a_stream_is_cut_at_the_read_deadline(launch, emulator, together):
    sidecar = launch("  idle_timeout: 30s\n  request_read_timeout: 1s\n")
    # Each stream sends its first event, then stalls 2 s (longer than the read deadline, which
    # must not run while the answer is being written) and ends.
    emulator.cycle("openai", [{"hang_after_chunks": 1, "hang_s": 2}])
    connections = [connect(sidecar) for _ in range(100)]
    try:
        # Half of a second request behind the stream; the rest never comes.
        for connection in connections:
            connection.sendall(chat_request(stream=True) + (HALF_A_REQUEST if together else b""))
        for connection in connections:
            head, _ = read_head(connection)
            assert head.startswith(b"HTTP/1.1 200")
            if not together:
                connection.sendall(HALF_A_REQUEST)
        endings = [read_until_closed(connection) for connection in connections]
        cut = [ending for ending in endings if b"HTTP/1.1 408 Request Timeout" in ending]
        assert len(cut) == len(connections), f"{len(cut)} of {len(connections)} were answered 408 and closed"
        assert error_code(cut[0].split(b"HTTP/1.1 408 Request Timeout", 1)[1].split(b"\r\n\r\n", 1)[1]) == "request_timeout"
    finally:
        emulator.cycle("openai", [])
        for connection in connections:
            connection.close()


def test_a_complete_request_pipelined_behind_a_long_stream_is_answered(launch, emulator):
    sidecar = launch("  request_read_timeout: 1s\n")
    emulator.behaviours("openai", [{"hang_after_chunks": 1, "hang_s": 2}])
    with connect(sidecar) as connection:
        connection.sendall(chat_request(stream=True) + b"GET /healthz HTTP/1.1\r\nHost: sidecar\r\n\r\n")
        head, rest = read_head(connection)
        assert head.startswith(b"HTTP/1.1 200")
        data = rest
        while b"HTTP/1.1 200 OK" not in data.split(b"0\r\n\r\n", 1)[-1]:
            piece = connection.recv(65536)
            assert piece, f"closed before the pipelined answer: {data[-300:]!r}"
            data += piece
        assert b"408" not in data


def test_connections_beyond_max_connections_are_refused_with_503(launch):
    sidecar = launch("  max_connections: 20\n  max_streams: 5\n")
    held = [connect(sidecar) for _ in range(20)]
    try:
        for connection in held:  # every one accepted and served, then busy with a request's first half
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: sidecar\r\n\r\n")
            assert read_response(connection)[0] == 200
            connection.sendall(b"GET /healthz HTTP/1.1\r\n")
        with connect(sidecar) as extra:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: sidecar\r\n\r\n")
            status, headers, body = read_response(extra)
            assert (status, error_code(body), headers["retry-after"]) == (503, "too_many_connections", "1")
            assert read_until_closed(extra) == b""
        held.pop().close()
        for _ in range(100):  # the freed place is taken once the sidecar saw the close
            with connect(sidecar) as again:
                again.sendall(b"GET /healthz HTTP/1.1\r\nHost: sidecar\r\n\r\n")
                if read_response(again)[0] == 200:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("a closed connection's place was never freed")
    finally:
        for connection in held:
            connection.close()


# -- defect 8: max_streams under a burst -------------------------------------------------------------

def test_a_burst_of_streams_admits_exactly_max_streams(launch, emulator):
    sidecar = launch("  max_streams: 5\n")
    # Admitted streams wait 2 s for the provider's headers: the whole burst arrives meanwhile.
    emulator.cycle("openai", [{"hang_before_headers_s": 2}])
    barrier = threading.Barrier(60)
    statuses: list[tuple[int, str]] = []
    lock = threading.Lock()

    def one() -> None:
        with connect(sidecar) as connection:
            barrier.wait()
            connection.sendall(chat_request(stream=True))
            head, rest = read_head(connection)
            status = int(head.split()[1])
            code = ""
            if status != 200:
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
                while len(rest) < length:
                    rest += connection.recv(65536)
                code = error_code(rest[:length])
            else:
                read_until_closed_or_done(connection, rest)
            with lock:
                statuses.append((status, code))

    try:
        threads = [threading.Thread(target=one) for _ in range(60)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(SOCKET_TIMEOUT_S * 2)
        assert len(statuses) == 60
        assert sorted(statuses) == [(200, "")] * 5 + [(503, "too_many_streams")] * 55
        # Every slot came back: the next stream is admitted.
        emulator.cycle("openai", [])
        client = sidecar.client(timeout=SOCKET_TIMEOUT_S)
        chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], stream=True))
        assert chunks
    finally:
        emulator.cycle("openai", [])


def read_until_closed_or_done(connection: socket.socket, data: bytes) -> bytes:
    """A chunked stream's body, up to its last chunk."""
    while not data.endswith(b"0\r\n\r\n"):
        piece = connection.recv(65536)
        if not piece:
            break
        data += piece
    return data


# -- defect 9: a process-wide budget for buffered answers ---------------------------------------------

def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


BUDGET_MIB = 16
ANSWER_MB = 6
BURST = 16
# Memory held per buffered byte at the peak of an answer's life: the collected bytes, the parsed
# document, the translated answer and its copy in the write buffer (see docs/security.md, max_buffered_bytes).
BYTES_PER_BUFFERED_BYTE = 4
SLACK_MIB = 40  # allocator arenas, threads' stacks, NIO buffers


def test_a_burst_of_large_answers_stays_within_the_buffered_budget(launch, emulator):
    sidecar = launch(f"  max_buffered_bytes: {BUDGET_MIB}MiB\n")
    emulator.cycle("openai", [{"reply": "x" * (ANSWER_MB * 1_000_000)}])
    pid = sidecar.process.pid
    try:
        with connect(sidecar) as warm:  # one answer first: code paths and pools warmed up
            warm.sendall(chat_request())
            assert read_response(warm)[0] == 200
        baseline = status_kib(pid, "VmRSS")
        barrier = threading.Barrier(BURST)
        results: list[tuple[int, str, str]] = []
        lock = threading.Lock()

        def one() -> None:
            with connect(sidecar) as connection:
                barrier.wait()
                connection.sendall(chat_request())
                status, headers, body = read_response(connection)
                outcome = (status, error_code(body) if status != 200 else "", headers.get("retry-after", ""))
                if status == 200:
                    assert len(json.loads(body)["choices"][0]["message"]["content"]) == ANSWER_MB * 1_000_000
                with lock:
                    results.append(outcome)

        threads = [threading.Thread(target=one) for _ in range(BURST)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(results) == BURST
        refused = [result for result in results if result[0] != 200]
        assert refused, "no answer was refused: the burst never exceeded the budget"
        assert set(refused) == {(503, "buffer_budget_exhausted", "1")}
        assert len(refused) < BURST, "every answer was refused"
        growth_mib = (status_kib(pid, "VmHWM") - baseline) / 1024
        bound = BUDGET_MIB * BYTES_PER_BUFFERED_BYTE + SLACK_MIB
        assert growth_mib <= bound, f"peak RSS grew {growth_mib:.0f} MiB over {baseline / 1024:.0f} MiB; bound {bound} MiB"
        scrape = urllib_get(sidecar, "/metrics")
        assert "llm_sidecar_buffered_bytes 0" in scrape
    finally:
        emulator.cycle("openai", [])


def urllib_get(sidecar: SidecarProcess, path: str) -> str:
    with connect(sidecar) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: sidecar\r\n\r\n".encode())
        return read_response(connection)[2].decode()


# -- defect 12: heads that must be answered at once ------------------------------------------------------

@pytest.mark.parametrize("head, status, code", [
    (b"Expect: 100-continue\r\nContent-Length: 104857600\r\n", 413, "request_too_large"),
    (b"Content-Length: 9223372036854775808\r\n", 413, "request_too_large"),
    (b"Content-Length: 18446744073709551615\r\n", 413, "request_too_large"),
    (b"Content-Length: -1\r\n", 400, "invalid_request"),
    (b"Content-Length: 12abc\r\n", 400, "invalid_request"),
    (b"Content-Length: 5\r\nContent-Length: 6\r\n", 400, "invalid_request"),
    (b"Content-Length: 5, 6\r\n", 400, "invalid_request"),
])
def test_heads_with_an_unacceptable_length_are_answered_at_once(launch, head, status, code):
    sidecar = launch("  max_request_body: 1MiB\n")  # request_read_timeout stays 30 s: a 408 would time out here
    with connect(sidecar) as connection:
        connection.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: sidecar\r\n" + head + b"\r\n")
        answer = read_until_closed(connection)
        assert not answer.startswith(b"HTTP/1.1 100"), answer[:100]
        assert answer.startswith(f"HTTP/1.1 {status}".encode()), answer[:300]
        body = answer.split(b"\r\n\r\n", 1)[1]
        ERROR_BODIES.append(body.decode(errors="replace"))
        assert error_code(body) == code


def test_expect_continue_within_the_limit_gets_100_then_the_answer(launch):
    sidecar = launch("  max_request_body: 1MiB\n")
    request = chat_request()
    head, body = request.split(b"\r\n\r\n", 1)
    with connect(sidecar) as connection:
        connection.sendall(head + b"\r\nExpect: 100-continue\r\n\r\n")
        interim, rest = read_head(connection)
        assert interim.startswith(b"HTTP/1.1 100") and rest == b""
        connection.sendall(body)
        assert read_response(connection)[0] == 200


def test_a_huge_upstream_header_is_a_malformed_response(launch, emulator):
    sidecar = launch("  max_request_body: 1MiB\n")
    emulator.behaviours("openai", [{"headers": {"X-Huge": "a" * 200_000}}] * 3)
    with connect(sidecar) as connection:
        connection.sendall(chat_request())
        status, _, body = read_response(connection)
    assert (status, error_code(body)) == (502, "upstream_malformed_response")
    message = json.loads(body)["error"]["message"]
    assert "header" in message and "memory" not in message.lower()


def test_clients_that_reset_in_flight_requests_never_open_the_breaker(launch):
    """A client leaving while its answer is on the way (a timeout, a cancelled task, a load
    generator stopping) is not the provider's fault. Such a request once read the whole answer as
    empty when the reset landed between the answer's arrival and its reading, counted a malformed
    answer against the provider, and a few of them opened the breaker of a working model."""
    sidecar = launch("  max_streams: 2000\n")
    request = chat_request()
    reset = b"\x01\x00\x00\x00\x00\x00\x00\x00"  # SO_LINGER on, 0 s: close sends a reset
    for round_ in range(60):  # resets at staggered moments of the requests' lives
        connections = [connect(sidecar) for _ in range(16)]
        for connection in connections:
            connection.sendall(request)
        time.sleep(0.00015 * round_)
        for connection in connections:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
            connection.close()
        time.sleep(0.01)
    with connect(sidecar) as connection:
        connection.sendall(request)
        status, _, body = read_response(connection)
    assert status == 200, body[:300]
    lines = sidecar.wait_for_usage_lines(60 * 16 + 1)
    failures = {(line["http.response.status_code"], line["error.type"]) for line in lines} - {(200, None), (499, "cancelled")}
    assert not failures, f"a client's reset was counted against the provider: {failures}"
    assert not [line for line in sidecar.audit_lines() if line["event"] == "breaker_changed"]


def test_bytes_flooded_behind_a_stream_are_bounded(launch, emulator):
    """The server keeps reading a connection while its answer streams (`ReadInterestKeeper`), so
    what a client sends meanwhile is read: a header line that never ends (1 MiB, no CR/LF) and
    50,000 pipelined requests (2 MiB) on each of 40 connections must leave memory bounded and the
    sidecar serving."""
    sidecar = launch("  idle_timeout: 30s\n  request_read_timeout: 5s\n")
    emulator.cycle("openai", [{"hang_after_chunks": 1, "hang_s": 2}])
    pid = sidecar.process.pid
    baseline = status_kib(pid, "VmRSS")
    garbage = b"GET /" + b"a" * (1 << 20)
    pipelined = b"GET /healthz HTTP/1.1\r\nHost: sidecar\r\n\r\n" * 50_000  # 2 MiB
    connections = [connect(sidecar) for _ in range(40)]
    try:
        for connection in connections:
            connection.sendall(chat_request(stream=True))
            assert read_head(connection)[0].startswith(b"HTTP/1.1 200")
        for index, connection in enumerate(connections):
            connection.settimeout(1)  # a connection the sidecar stopped reading fills up: go on
            try:
                connection.sendall(garbage if index % 2 else pipelined)
            except OSError:
                pass  # not read (the bound) or closed (the header limit) before all of it was sent
        growth_mib = (status_kib(pid, "VmHWM") - baseline) / 1024
        assert growth_mib <= 64, f"peak RSS grew {growth_mib:.0f} MiB while 40 clients flooded their connections"
        with connect(sidecar) as probe:
            probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: sidecar\r\n\r\n")
            assert read_response(probe)[0] == 200
    finally:
        emulator.cycle("openai", [])
        for connection in connections:
            connection.close()
