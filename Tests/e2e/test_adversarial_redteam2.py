"""Adversarial flow control and configuration, second round, over raw sockets: clients that stop
reading their answer (a TCP zero window) while it holds a stream slot or buffered bytes, and
configuration files that point at endless or huge inputs.

Every socket has a generous timeout, so a connection the sidecar forgets fails the test instead
of hanging it; every loop is bounded in count and time."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import resource
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest

from sidecar import CLIENT_KEY, SidecarProcess, binary, configuration, provider_keys

SOCKET_TIMEOUT_S = 10
CHAT = "/v1/chat/completions"


def chat_request(stream: bool = False) -> bytes:
    body = json.dumps({"model": "gpt-4o-mini", "stream": stream, "messages": [{"role": "user", "content": "Hi"}]}).encode()
    head = (f"POST {CHAT} HTTP/1.1\r\nHost: sidecar\r\nAuthorization: Bearer {CLIENT_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def stalled_connection(sidecar: SidecarProcess) -> socket.socket:
    """A connection whose receive window is tiny and which is never read: the sidecar's writes
    stop once the kernel buffers between them are full."""
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.settimeout(SOCKET_TIMEOUT_S)
    connection.connect(("127.0.0.1", sidecar.port))
    return connection


def scrape(sidecar: SidecarProcess) -> bytes:
    with socket.create_connection(("127.0.0.1", sidecar.port), timeout=SOCKET_TIMEOUT_S) as connection:
        connection.sendall(b"GET /metrics HTTP/1.1\r\nHost: sidecar\r\nConnection: close\r\n\r\n")
        data = b""
        while piece := connection.recv(65536):
            data += piece
        return data


def gauge(sidecar: SidecarProcess, name: str) -> float:
    # The idle timeouts here are short, and a debug build on a loaded machine may see one pass
    # before it reads a fresh connection's request: a reset scrape is tried again.
    for _ in range(3):
        try:
            data = scrape(sidecar)
            break
        except ConnectionResetError:
            time.sleep(0.1)
    else:
        pytest.fail("every scrape of /metrics was reset")
    match = re.search(rf"^{name} (\S+)$", data.decode(), re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def wait_for_gauge(sidecar: SidecarProcess, name: str, done, within_s: float) -> float:
    """The gauge once `done(value)` holds, or its value when `within_s` passed."""
    deadline = time.monotonic() + within_s
    while not done(current := gauge(sidecar, name)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return current


# -- a client that never reads its answer -------------------------------------------------------------

# Far more than the loopback socket buffers hold (a few MiB), so the sidecar's write stalls.
LARGE_REPLY = "x" * 12_000_000
# A stream of ~12 MB in ~12,000 events, likewise.
LONG_STREAM = " ".join(["y" * 1000] * 12_000)


def test_a_buffered_answer_the_client_never_reads_gives_its_budget_back(launch, emulator):
    sidecar = launch("  max_buffered_bytes: 64MiB\n  idle_timeout: 2s\n  request_read_timeout: 2s\n")
    emulator.cycle("openai", [{"reply": LARGE_REPLY}])
    connection = stalled_connection(sidecar)
    try:
        connection.sendall(chat_request())
        # The answer is collected (budgeted) and its write stalls on the full socket.
        assert wait_for_gauge(sidecar, "llm_sidecar_buffered_bytes", lambda held: held > 0, within_s=3) > 0
        # A client that reads nothing for idle_timeout while its answer waits is cut off, and the
        # answer's bytes are given back.
        held = wait_for_gauge(sidecar, "llm_sidecar_buffered_bytes", lambda held: held == 0, within_s=10)
        assert held == 0, f"{held:.0f} buffered bytes still held for a client that stopped reading"
    finally:
        emulator.cycle("openai", [])
        connection.close()


def test_a_stream_the_client_never_reads_gives_its_slot_back(launch, emulator):
    sidecar = launch("  max_streams: 2\n  max_connections: 10\n  idle_timeout: 2s\n  request_read_timeout: 2s\n")
    emulator.cycle("openai", [{"reply": LONG_STREAM}])
    connections = [stalled_connection(sidecar) for _ in range(2)]
    try:
        for connection in connections:
            connection.sendall(chat_request(stream=True))
        assert wait_for_gauge(sidecar, "llm_sidecar_streams_in_flight", lambda held: held == 2, within_s=3) == 2
        held = wait_for_gauge(sidecar, "llm_sidecar_streams_in_flight", lambda held: held == 0, within_s=10)
        assert held == 0, f"{held:.0f} stream slots still held by clients that stopped reading"
        lines = sidecar.wait_for_usage_lines(2)
        assert [line["outcome"] for line in lines] == ["client_disconnected"] * 2
    finally:
        emulator.cycle("openai", [])
        for connection in connections:
            connection.close()


# -- connections that only take a place ---------------------------------------------------------------

def healthz(connection: socket.socket) -> bytes:
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: sidecar\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        piece = connection.recv(65536)
        assert piece, "closed before an answer"
        data += piece
    return data.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("after_a_request", [False, True], ids=["silent", "idle-after-a-request"])
def test_idle_connections_at_max_connections_do_not_lock_clients_out(launch, after_a_request):
    sidecar = launch("  max_connections: 20\n  max_streams: 5\n")  # idle_timeout stays 5 min
    # No token is needed to open a TCP connection: an attacker holds every place with
    # connections that send nothing (or one cheap request) and then stay silent.
    held = [socket.create_connection(("127.0.0.1", sidecar.port), timeout=SOCKET_TIMEOUT_S) for _ in range(20)]
    try:
        if after_a_request:
            assert {healthz(connection) for connection in held} == {b"HTTP/1.1 200 OK"}
        time.sleep(1.5)  # all accepted, and idle for longer than a place is kept for an idle connection (1 s)
        client = sidecar.client(timeout=SOCKET_TIMEOUT_S)
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
        assert answer.choices[0].message.content
        # The place was taken from an idle connection, which the sidecar closed.
        for connection in held:
            connection.settimeout(0.5)
        closed = 0
        for connection in held:
            try:
                closed += connection.recv(1) == b""
            except (TimeoutError, ConnectionResetError):
                pass
        assert closed >= 1
    finally:
        for connection in held:
            connection.close()


# -- configuration files that never end ----------------------------------------------------------------

def check_config(path: Path) -> subprocess.CompletedProcess:
    """`llm-sidecar check-config path` with 2 GB of address space and 20 s: an endless read
    ends in a signal or a timeout instead of filling the machine."""
    def bounded() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    return subprocess.run([str(binary()), "check-config", str(path)], capture_output=True, text=True, timeout=20,
                          preexec_fn=bounded)


@pytest.mark.parametrize("catalog", ["fifo", "/dev/zero", "directory"])
def test_a_price_catalog_that_is_not_a_regular_file_is_a_configuration_problem(tmp_path, catalog):
    os.mkfifo(tmp_path / "fifo")  # nobody ever writes to it: opening it for reading blocks
    (tmp_path / "directory").mkdir()
    config = tmp_path / "sidecar.yaml"
    config.write_text(f"providers:\n  demo:\n    dialect: demo\nmodels:\n  demo:\n    provider: demo\n"
                      f"pricing:\n  catalog: {catalog}\n")
    try:
        result = check_config(config)
    except subprocess.TimeoutExpired:
        pytest.fail("check-config hung reading the catalog")
    assert result.returncode == 1, f"exit {result.returncode}: {result.stderr[-500:]}"
    assert "pricing.catalog" in result.stderr and "not a regular file" in result.stderr, result.stderr[-500:]


def test_a_configuration_file_beyond_its_limit_is_refused_without_reading_it(tmp_path):
    config = tmp_path / "sidecar.yaml"
    # A valid file padded with a comment line to 100 MB: read whole, it took 7 s and 218 MB.
    with config.open("w") as file:
        file.write("providers:\n  demo:\n    dialect: demo\nmodels:\n  demo:\n    provider: demo\n#")
        file.write("x" * 100_000_000 + "\n")
    result = check_config(config)
    assert result.returncode == 1, f"exit {result.returncode}: {result.stderr[-500:]}"
    assert "larger than" in result.stderr, result.stderr[-500:]


def test_a_huge_key_file_gives_no_key(tmp_path):
    # A log swapped in for the key file by mistake: read whole, it became a 50 MB "key" sent
    # upstream with every request.
    (tmp_path / "key").write_text("k" * 50_000_000)
    config = tmp_path / "sidecar.yaml"
    config.write_text("providers:\n  openai:\n    dialect: openai\n    base_url: https://api.openai.com/v1\n"
                      "    api_key_file: key\nmodels:\n  m:\n    provider: openai\n    price: { input: 1, output: 1 }\n")
    result = check_config(config)
    output = result.stdout + result.stderr
    assert "provider 'openai' has no API key" in output, output[-500:]


# -- bodies without a valid client token -----------------------------------------------------------------

def test_bodies_without_a_valid_token_do_not_spend_the_buffered_budget(emulator, tmp_path):
    token_hash = hashlib.sha256(CLIENT_KEY.encode()).hexdigest()
    config = (configuration(emulator) + "\nserver:\n  max_buffered_bytes: 16MiB\n"
              + f"clients:\n  app:\n    token_sha256: {token_hash}\n")
    sidecar = SidecarProcess(tmp_path / "sidecar", config, provider_keys(emulator))
    # Almost all of a 4 MB body, four times, with no token or a wrong one: before, they held
    # 16 MB of the budget until the read deadline (30 s, renewable), and every client got 503.
    connections = [socket.create_connection(("127.0.0.1", sidecar.port), timeout=SOCKET_TIMEOUT_S) for _ in range(4)]
    try:
        for index, connection in enumerate(connections):
            token = b"Authorization: Bearer sk-wrong\r\n" if index % 2 else b""
            connection.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: sidecar\r\n" + token
                               + b"Content-Length: 4000000\r\n\r\n" + b"x" * 3_900_000)
        time.sleep(0.5)
        assert gauge(sidecar, "llm_sidecar_buffered_bytes") == 0
        client = sidecar.client(timeout=SOCKET_TIMEOUT_S)
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x" * 100_000}])
        assert answer.choices[0].message.content
        # The rest of a body arrives: it is answered 401, as before.
        connections[0].sendall(b"x" * 100_000)
        head = connections[0].recv(65536)
        assert head.startswith(b"HTTP/1.1 401"), head[:200]
    finally:
        for connection in connections:
            connection.close()
        sidecar.stop()


@pytest.mark.parametrize("name", ["_other", "default"])
def test_client_names_the_usage_statistics_use_are_refused(tmp_path, name):
    # A client named `_other` saw, as its own, every unknown client's and the overflow group's
    # requests; one named `default`, the anonymous caller's (rebuilt from the usage file).
    config = tmp_path / "sidecar.yaml"
    config.write_text("providers:\n  demo:\n    dialect: demo\nmodels:\n  demo:\n    provider: demo\n"
                      f"clients:\n  {name}:\n    token_sha256: {'ab' * 32}\n")
    result = check_config(config)
    assert result.returncode == 1, f"exit {result.returncode}: {result.stdout[-300:]}"
    assert f"clients.{name}" in result.stderr and "reserved" in result.stderr, result.stderr[-500:]


# -- a storm of clients that give up at every point ------------------------------------------------------

def test_after_a_storm_of_clients_giving_up_every_gauge_is_back_to_zero(launch, emulator):
    sidecar = launch("  max_streams: 20\n  max_connections: 100\n  max_buffered_bytes: 8MiB\n")
    # Slow streams, late headers, plain answers and 3 MB answers, in turn.
    emulator.cycle("openai", [{"chunk_delay_ms": 20}, {"hang_before_headers_s": 0.3}, {}, {"reply": "x" * 3_000_000}])
    complete = []
    lock = threading.Lock()

    def one(index: int) -> None:
        choice = random.Random(index)
        body = json.dumps({"model": "gpt-4o-mini", "stream": choice.random() < 0.6,
                           "messages": [{"role": "user", "content": "Hi " * 2000}]}).encode()
        request = (f"POST {CHAT} HTTP/1.1\r\nHost: sidecar\r\nAuthorization: Bearer {CLIENT_KEY}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        mode = choice.choice(["reset_after_send", "reset_mid_body", "read_some", "read_all", "half_close"])
        connection = socket.create_connection(("127.0.0.1", sidecar.port), timeout=SOCKET_TIMEOUT_S)
        try:
            connection.sendall(request[:len(request) // 2] if mode == "reset_mid_body" else request)
            if mode != "reset_mid_body":
                with lock:
                    complete.append(index)
            if mode == "read_some":
                time.sleep(choice.random() * 0.3)
                connection.recv(1000)
            elif mode == "read_all":
                while connection.recv(65536):
                    pass
            elif mode == "half_close":
                connection.shutdown(socket.SHUT_WR)
                time.sleep(choice.random() * 0.3)
            else:
                time.sleep(choice.random() * 0.05)
        except OSError:
            pass
        finally:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not FIN
            connection.close()

    try:
        threads = [threading.Thread(target=one, args=(index,)) for index in range(150)]
        for thread in threads:
            thread.start()
            time.sleep(0.005)
        for thread in threads:
            thread.join(SOCKET_TIMEOUT_S * 3)
        for name in ("llm_sidecar_streams_in_flight", "llm_sidecar_buffered_bytes"):
            held = wait_for_gauge(sidecar, name, lambda value: value == 0, within_s=10)
            assert held == 0, f"{name} is {held:.0f} after the storm"
        lines = sidecar.wait_for_usage_lines(len(complete))
        assert len(lines) == len(complete), f"{len(lines)} usage lines for {len(complete)} complete requests"
    finally:
        emulator.cycle("openai", [])
