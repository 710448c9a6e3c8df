"""The fleet store over TLS (`store.url: rediss://…`, `store.ca_file`, docs/fleet.md): a sidecar
holds a fleet budget in a real redis-server that serves only TLS, with certificates made here by
the `openssl` command, and refuses a store whose certificate it cannot verify."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import sidecar
from redis_server import wait_for_pong
from sidecar import CLIENT_KEY, SidecarProcess, configuration, free_port, provider_keys
from test_fleet_store import COST, EXACT_USAGE, HELLO, ask, wait_for

PASSWORD = "fleet-tls-SENTINEL-redis-password"
sidecar.CLIENT_SENTINELS.append(PASSWORD)  # searched for in every output at the end of the session


def openssl(directory: Path, *arguments: str) -> None:
    subprocess.run(["openssl", *arguments], cwd=directory, check=True, capture_output=True)


class Certificates:
    """A CA, a server certificate it signed for 127.0.0.1 and localhost, and a CA that signed nothing."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for name in ("ca", "other-ca"):
            openssl(directory, "req", "-x509", *key, "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
                    "-subj", f"/CN=Sidecar e2e {name}")
        openssl(directory, "req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=redis e2e")
        (directory / "names.cnf").write_text("subjectAltName = IP:127.0.0.1,DNS:localhost\n")
        openssl(directory, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.pem", "-days", "2", "-extfile", "names.cnf")
        self.ca = directory / "ca.pem"
        self.other_ca = directory / "other-ca.pem"


class TLSRedisServer:
    """redis-server serving TLS only (`--port 0 --tls-port N`), with a password, no persistence."""

    def __init__(self, directory: Path, certificates: Certificates) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is missing: scripts/test.sh installs it (apt-get install redis-server)")
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.ca = certificates.ca
        c = certificates.directory
        self.process = subprocess.Popen(
            ["redis-server", "--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(directory), "--requirepass", PASSWORD,
             "--tls-cert-file", str(c / "server.pem"), "--tls-key-file", str(c / "server.key"),
             "--tls-ca-cert-file", str(c / "ca.pem"), "--tls-auth-clients", "no"],
            stdout=(directory / "redis.log").open("a"), stderr=subprocess.STDOUT)
        wait_for_pong(self.command, directory / "redis.log")

    def command(self, *arguments: str) -> bytes:
        """One command over a fresh TLS connection (after AUTH); the first line of the reply."""
        context = ssl.create_default_context(cafile=str(self.ca))
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as connection:
                stream = connection.makefile("rb")
                for command in (("AUTH", PASSWORD), arguments):
                    connection.sendall(f"*{len(command)}\r\n".encode()
                                       + b"".join(f"${len(part)}\r\n{part}\r\n".encode() for part in command))
                    reply = stream.readline().rstrip(b"\r\n")
                return stream.readline().rstrip(b"\r\n") if reply.startswith(b"$") and reply != b"$-1" else reply

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return Certificates(tmp_path / "certificates")


@pytest.fixture
def tls_redis(tmp_path: Path, certificates: Certificates) -> Iterator[TLSRedisServer]:
    server = TLSRedisServer(tmp_path / "redis", certificates)
    yield server
    server.stop()


def tls_sidecar(directory: Path, emulator: Any, redis: TLSRedisServer, ca_file: Path) -> SidecarProcess:
    # `deny`: a request the store cannot answer is refused, so a 200 proves the TLS round trip.
    text = configuration(emulator, extra_models="""  metered:
    provider: openai
    upstream_model: gpt-4o-mini
    price: { input: 1, output: 1, currency: USD }
""") + f"""
quotas:
  global:
    cost_per_day: {{ USD: {COST} }}
store:
  url: rediss://127.0.0.1:{redis.port}/0
  ca_file: {ca_file}
  password_env: E2E_REDIS_PASSWORD
  key_prefix: "e2e-tls:"
  on_store_failure: deny
  timeout: 1s
  connect_timeout: 1s
"""
    return SidecarProcess(directory, text, dict(provider_keys(emulator), E2E_REDIS_PASSWORD=PASSWORD))


def test_a_fleet_budget_for_one_request_held_in_a_store_over_tls(tmp_path, emulator, tls_redis, certificates):
    pod = tls_sidecar(tmp_path / "pod", emulator, tls_redis, certificates.ca)
    try:
        emulator.cycle("openai", [EXACT_USAGE])
        assert ask(pod) == (200, "")
        assert ask(pod) == (429, "quota_exceeded")
        day = int(time.time()) // 86_400
        assert tls_redis.command("GET", f"e2e-tls:quota:global:cost_per_day:USD:{day}") == str(int(COST * 10**12)).encode()
        assert len(emulator.requests("openai")) == 1
        assert not [line for line in pod.audit_lines() if line["event"] == "store_unavailable"]
    finally:
        pod.stop()


def test_a_store_whose_certificate_cannot_be_verified_is_refused(tmp_path, emulator, tls_redis, certificates):
    pod = tls_sidecar(tmp_path / "pod", emulator, tls_redis, certificates.other_ca)
    try:
        emulator.cycle("openai", [EXACT_USAGE])
        response = httpx.post(pod.base_url + "/v1/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                              json={"model": "metered", "messages": HELLO, "max_tokens": 9}, timeout=30)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "quota_store_unavailable"
        assert PASSWORD not in response.text
        refusals = lambda: [line for line in pod.audit_lines() if line["event"] == "store_unavailable"]  # noqa: E731
        wait_for(refusals)  # audit lines are written in batches
        [audit] = refusals()
        assert "TLS: the certificate of the store could not be verified" in audit["message"], audit
        assert emulator.requests("openai") == []
    finally:
        pod.stop()
