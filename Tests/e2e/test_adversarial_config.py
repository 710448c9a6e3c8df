"""Adversarial configuration and accounting: what an attacker or an unlucky operator does to the
sidecar's own inputs.

- A hot reload can never open a sidecar that listens beyond loopback: a file without `clients:`
  is rejected (and audited) whether the address came from `--listen`, `SIDECAR_LISTEN` or the
  file, and requests keep needing a token.
- A configuration nested thousands of levels deep (which overflowed the parser's stack) is a
  rejected reload and a `check-config` error: a stream in flight completes, its usage line is
  written, the process lives.
- The usage statistics stay small whatever task types and model names clients send, and a
  client sees only its own usage unless it may read all.
- `auto` in a client's `models` lets task routing use the route's models as configured.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import sidecar as sidecar_module
from sidecar import SidecarProcess, binary, configuration, free_port, provider_keys

ALICE = "sk-SENTINEL-config-alice-58c1e0a9d3b7f264"
BOB = "sk-SENTINEL-config-bob-0d6f2b94a1c7e385"
CAROL = "sk-SENTINEL-config-carol-7a3e5c1f9b2d0648"
sidecar_module.CLIENT_SENTINELS += [ALICE, BOB, CAROL]
HELLO = [{"role": "user", "content": "Hello"}]
DEPTH_LIMIT = 64


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def clients_block(alice_reads_all: bool = False, bob_models: str = "[gpt-4o-mini]") -> str:
    read_all = "    read_all_usage: true\n" if alice_reads_all else ""
    return f"""
clients:
  alice:
    token_sha256: {token_hash(ALICE)}
{read_all}  bob:
    token_sha256: {token_hash(BOB)}
    models: {bob_models}
  carol:
    token_sha256: {token_hash(CAROL)}
    models: [auto]
    task_types: [translation]
routes:
  translation:
    primary: [deepseek-chat]
  default:
    primary: [gpt-4o-mini]
"""


def non_loopback_address() -> str:
    """An address of this machine off loopback, to reach a sidecar bound on 0.0.0.0 the way
    another machine would; 127.0.0.1 when the machine has none (the sidecar decides by its
    configuration, not by the peer, so the assertions hold either way)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # no packet is sent: this only picks a route
            address = probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"
    return address if not address.startswith("127.") else "127.0.0.1"


def wait_for_audit(sidecar: SidecarProcess, event: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in sidecar.audit_lines() if line["event"] == event]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def chat(base: str, token: str | None, model: str = "gpt-4o-mini") -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(base + "/v1/chat/completions", json={"model": model, "messages": HELLO}, headers=headers, timeout=30).status_code


@pytest.mark.parametrize("address_from", ["flag", "environment", "file"])
def test_a_reload_cannot_drop_the_clients_of_a_sidecar_listening_beyond_loopback(emulator, tmp_path, address_from):
    port = free_port()
    environment = provider_keys(emulator)
    listen_line = {"flag": "", "environment": "listen: ${SIDECAR_LISTEN}\n", "file": f"listen: 0.0.0.0:{port}\n"}[address_from]
    if address_from == "environment":
        environment["SIDECAR_LISTEN"] = f"0.0.0.0:{port}"
    sidecar = SidecarProcess(tmp_path, listen_line + configuration(emulator) + clients_block(), environment,
                             listen_host="0.0.0.0" if address_from == "flag" else None, port=port)
    try:
        remote = f"http://{non_loopback_address()}:{port}"
        assert chat(remote, None) == 401 and chat(remote, ALICE) == 200

        # The new file drops every client, and (for "file") claims loopback, which would only
        # apply after a restart: the running sidecar still listens on 0.0.0.0.
        open_listen = {"flag": "", "environment": "listen: ${SIDECAR_LISTEN}\n", "file": f"listen: 127.0.0.1:{port}\n"}[address_from]
        sidecar.replace_config(open_listen + configuration(emulator) + "clients: {}\n")
        rejected = wait_for_audit(sidecar, "config_rejected")
        assert rejected, "the reload was not rejected"
        assert "clients" in rejected[0]["error"] and "reachable from other machines" in rejected[0]["error"], rejected[0]
        assert not [line for line in sidecar.audit_lines() if line["event"] == "config_reloaded"]
        assert "configuration reload rejected" in sidecar.stderr()

        assert chat(remote, None) == 401, "an unauthenticated request from the network must still be refused"
        assert chat(remote, ALICE) == 200, "the old configuration keeps serving"

        # A file that keeps the clients is applied, and its audit line names what changed.
        sidecar.replace_config(open_listen + configuration(emulator) + clients_block(bob_models="[gpt-4o-mini, demo]"))
        reloaded = wait_for_audit(sidecar, "config_reloaded")
        assert reloaded and "client 'bob' changed (models)" in reloaded[0]["changes"], reloaded
    finally:
        sidecar.stop()


class Stream(threading.Thread):
    """One streamed completion read to its end in the background."""

    def __init__(self, client: openai.OpenAI) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.started = threading.Event()
        self.text = ""
        self.request_id = ""
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            raw = self.client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello there"}], stream=True)
            self.request_id = raw.headers["x-request-id"]
            for chunk in raw.parse():
                self.started.set()
                if chunk.choices and chunk.choices[0].delta.content:
                    self.text += chunk.choices[0].delta.content
        except Exception as error:  # noqa: BLE001 - recorded for the assertion
            self.error = error
        finally:
            self.started.set()


def deep_flow(levels: int) -> str:
    return "providers: " + "[" * levels + "]" * levels + "\n"


def deep_blocks(levels: int) -> str:
    return "\n".join(" " * level + f"k{level}:" for level in range(levels)) + " end\n"


# 2,800 block levels (3.9 MB) stay under the 4 MiB a configuration file may have and beyond the
# 2,000 that crashed the debug build before the depth bound.
@pytest.mark.parametrize("document", [deep_flow(100_000), deep_blocks(2_800)], ids=["flow", "block"])
def test_a_deep_configuration_written_mid_stream_is_rejected_and_the_stream_completes(emulator, tmp_path, document):
    sidecar = SidecarProcess(tmp_path, configuration(emulator), provider_keys(emulator))
    try:
        emulator.behaviours("openai", [{"chunk_delay_ms": 150}])
        stream = Stream(sidecar.client(timeout=30))
        stream.start()
        assert stream.started.wait(10)
        sidecar.replace_config(document)
        rejected = wait_for_audit(sidecar, "config_rejected")
        stream.join(30)
        assert sidecar.process.poll() is None, f"the sidecar died: {sidecar.stderr()[-2000:]}"
        assert rejected and f"nested deeper than {DEPTH_LIMIT} levels" in rejected[0]["error"], rejected
        assert stream.error is None and stream.text == "Hello from the openai emulator. You said: Hello there"
        assert sidecar.usage_for(stream.request_id)["outcome"] == "success"
        assert chat(sidecar.base_url, None) == 200, "the old configuration keeps serving"

        checked = subprocess.run([str(binary()), "check-config", str(sidecar.config_path)], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 1, f"check-config must report, not crash (status {checked.returncode})"
        assert f"not valid YAML: collections nested deeper than {DEPTH_LIMIT} levels" in checked.stderr
        assert "sidecar.yaml:" in checked.stderr and (": providers[0]" in checked.stderr or ": k0.k1" in checked.stderr), checked.stderr
    finally:
        sidecar.stop()


def stats(base: str, token: str | None = None, report: str = "stats") -> tuple[dict[str, Any], int]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(base + f"/api/v1/usage/{report}", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json(), len(response.content)


def test_usage_statistics_stay_small_whatever_labels_clients_send(emulator, tmp_path):
    extra = '  "f-*":\n    provider: demo\n'
    sidecar = SidecarProcess(tmp_path, configuration(emulator, extra_models=extra), provider_keys(emulator))
    try:
        requests = 300
        with httpx.Client(base_url=sidecar.base_url, timeout=30) as http:
            for index in range(requests):
                task = f"task-{index}-" + "x" * 64
                response = http.post("/v1/chat/completions", headers={"X-Task-Type": task},
                                     json={"model": f"f-{index}", "messages": HELLO})
                assert response.status_code == 200, response.text
        sidecar.wait_for_usage_lines(requests)
        body, size = stats(sidecar.base_url)
        assert body["total"]["requests"] == requests
        assert [entry["model"] for entry in body["by_model"]] == ["f-*"]
        assert [(entry["task_type"], entry["requests"]) for entry in body["by_task_type"]] == [("_other", requests)]
        assert size < 4_000, f"/api/v1/usage/stats is {size} bytes for one model, one provider, one client"
        lines = sidecar.usage_lines()
        assert len({line["model"] for line in lines}) == requests, "the usage lines keep every name the client sent"
    finally:
        sidecar.stop()


def test_clients_see_their_own_usage_unless_allowed_to_read_all(emulator, tmp_path):
    sidecar = SidecarProcess(tmp_path, configuration(emulator) + clients_block(alice_reads_all=True), provider_keys(emulator))
    try:
        assert chat(sidecar.base_url, ALICE) == 200
        assert chat(sidecar.base_url, BOB) == 200
        assert chat(sidecar.base_url, BOB) == 200
        assert chat(sidecar.base_url, BOB, model="deepseek-chat") == 403
        sidecar.wait_for_usage_lines(4)
        for report in ("stats", "costs"):
            own, _ = stats(sidecar.base_url, BOB, report)
            assert own["scope"] == "own"
            assert [entry["client"] for entry in own["by_client"]] == ["bob"]
            assert own["total"]["requests"] == 3
            everything, _ = stats(sidecar.base_url, ALICE, report)
            assert everything["scope"] == "all"
            assert {entry["client"]: entry["requests"] for entry in everything["by_client"]} == {"alice": 1, "bob": 3}
            carol, _ = stats(sidecar.base_url, CAROL, report)
            assert carol["total"]["requests"] == 0 and carol["by_client"] == []
        assert httpx.get(sidecar.base_url + "/api/v1/usage/stats", timeout=30).status_code == 401
    finally:
        sidecar.stop()


def test_auto_in_a_clients_models_allows_task_routing(emulator, tmp_path):
    sidecar = SidecarProcess(tmp_path, configuration(emulator) + clients_block(), provider_keys(emulator))
    try:
        carol = sidecar.client(api_key=CAROL)
        raw = carol.chat.completions.with_raw_response.create(
            model="auto", messages=HELLO, extra_headers={"X-Task-Type": "translation"})
        assert "model=deepseek-chat" in raw.headers["x-sidecar-route"], "the route's models serve as configured"
        assert carol.chat.completions.create(model="auto:translation", messages=HELLO).choices[0].message.content
        with pytest.raises(openai.PermissionDeniedError) as denied:
            carol.chat.completions.create(model="deepseek-chat", messages=HELLO)
        assert denied.value.code == "model_not_allowed"
        with pytest.raises(openai.PermissionDeniedError) as denied:
            carol.chat.completions.create(model="auto", messages=HELLO)  # the default route
        assert "task type 'default'" in denied.value.message

        # Without auto, task routing is limited to the client's own models.
        bob = sidecar.client(api_key=BOB)
        raw = bob.chat.completions.with_raw_response.create(model="auto", messages=HELLO)
        assert "model=gpt-4o-mini" in raw.headers["x-sidecar-route"]
        with pytest.raises(openai.PermissionDeniedError) as denied:
            bob.chat.completions.create(model="auto:translation", messages=HELLO)
        message = denied.value.message
        assert "route for task type 'translation' (deepseek-chat)" in message and "add auto" in message, message
    finally:
        sidecar.stop()


def test_auto_with_a_task_in_client_models_is_a_configuration_problem(tmp_path):
    path = Path(tmp_path) / "sidecar.yaml"
    path.write_text(f"""
providers:
  demo: {{ dialect: demo }}
models:
  demo: {{ provider: demo }}
clients:
  dave:
    token_sha256: {token_hash("dave")}
    models: [demo, "auto:translation"]
""")
    checked = subprocess.run([str(binary()), "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 1
    assert "clients.dave.models[1]" in checked.stderr and "task_types" in checked.stderr, checked.stderr
