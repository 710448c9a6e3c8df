"""Security through the official openai SDK: client tokens and permissions, provider key
rotation mid-stream, the audit hash chain, and abusive requests (huge bodies and headers, deep
JSON, slowloris) answered with the documented errors while normal traffic goes on."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import sidecar as sidecar_module
from sidecar import SidecarProcess, binary, configuration, provider_keys

ALICE = "sk-SENTINEL-client-alice-3c9e41f0a7d25b86"
BOB = "sk-SENTINEL-client-bob-e80b2d6a5f4c1937"
sidecar_module.CLIENT_SENTINELS += [ALICE, BOB]
HELLO = [{"role": "user", "content": "Hello"}]


def clients_configuration(emulator: Any) -> str:
    return configuration(emulator) + f"""
clients:
  alice:
    token_sha256: {hashlib.sha256(ALICE.encode()).hexdigest()}
  bob:
    token_sha256: {hashlib.sha256(BOB.encode()).hexdigest()}
    models: [gpt-4o-mini]
"""


@pytest.fixture(scope="module")
def guarded(emulator: Any, tmp_path_factory: pytest.TempPathFactory):
    process = SidecarProcess(tmp_path_factory.mktemp("guarded"), clients_configuration(emulator), provider_keys(emulator))
    yield process
    process.stop()


@pytest.mark.parametrize("client", ["alice", "bob"])
@pytest.mark.parametrize("model", ["gpt-4o-mini", "deepseek-chat"])
@pytest.mark.parametrize("token", ["good", "wrong", "missing"])
def test_access_control_matrix(guarded, client, model, token):
    key = {"alice": ALICE, "bob": BOB}[client]
    if token == "missing":  # the SDK insists on a key, so blank the header it would carry
        sdk = guarded.client(api_key="unused", default_headers={"Authorization": ""})
    else:
        sdk = guarded.client(api_key=key if token == "good" else key[:-4] + "0000")
    if token != "good":
        with pytest.raises(openai.AuthenticationError) as denied:
            sdk.chat.completions.create(model=model, messages=HELLO)
        assert denied.value.code == "invalid_api_key"
    elif client == "bob" and model == "deepseek-chat":
        with pytest.raises(openai.PermissionDeniedError) as denied:
            sdk.chat.completions.create(model=model, messages=HELLO)
        assert denied.value.code == "model_not_allowed" and "bob" in denied.value.message
    else:
        raw = sdk.chat.completions.with_raw_response.create(model=model, messages=HELLO)
        assert raw.parse().choices[0].message.content.startswith("Hello from the")
        assert guarded.usage_for(raw.headers["x-request-id"])["client"] == client


def test_denials_are_audited_without_the_token(guarded):
    with pytest.raises(openai.AuthenticationError):
        guarded.client(api_key=BOB + "x").chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    with pytest.raises(openai.PermissionDeniedError):
        guarded.client(api_key=BOB).chat.completions.create(model="deepseek-chat", messages=HELLO)
    time.sleep(0.1)
    events = [line["event"] for line in guarded.audit_lines()]
    assert events[:2] == ["audit_started", "config_loaded"]
    assert "auth_denied" in events and "access_denied" in events
    denial = next(line for line in reversed(guarded.audit_lines()) if line["event"] == "auth_denied")
    assert denial["token_sha256_prefix"] == hashlib.sha256((BOB + "x").encode()).hexdigest()[:12]


def test_a_rotated_key_file_serves_the_next_request_and_spares_the_stream(emulator, tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    key_file = secrets / "openai"
    key_file.write_text(emulator.key("openai") + "\n")
    config = configuration(emulator).replace("api_key_env: E2E_OPENAI_KEY", f"api_key_file: {key_file}", 1)
    sidecar = SidecarProcess(tmp_path / "sidecar", config, provider_keys(emulator))
    try:
        emulator.behaviours("openai", [{"chunk_delay_ms": 150}])
        stream = sidecar.client(timeout=30).chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
        first = next(iter(stream))
        rotated = "sk-SENTINEL-openai-rotated-71d0c4e9b3a2f658"
        sidecar_module.CLIENT_SENTINELS.append(rotated)
        staging = secrets / "openai.new"
        staging.write_text(rotated + "\n")
        staging.rename(key_file)  # atomic, as a Secret update is
        emulator.set_key("openai", rotated)
        deadline = time.monotonic() + 5
        while not any(line["event"] == "keys_changed" for line in sidecar.audit_lines()):
            assert time.monotonic() < deadline, "the key file change was not picked up"
            time.sleep(0.05)
        text = (first.choices[0].delta.content or "") + "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        assert text == "Hello from the openai emulator. You said: Hello", "the stream in flight completed"
        answer = sidecar.client().chat.completions.create(model="gpt-4o-mini", messages=HELLO)
        assert answer.choices[0].message.content.startswith("Hello from the openai emulator")
        assert emulator.requests("openai")[-1]["headers"]["authorization"] == "Bearer " + rotated
        change = next(line for line in sidecar.audit_lines() if line["event"] == "keys_changed")
        assert change["provider"] == "openai" and str(key_file) in change["sources"][0]
    finally:
        sidecar.stop()


def run_verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary()), "audit", "verify", str(path)], capture_output=True, text=True)


def test_audit_verify_finds_edited_deleted_and_swapped_lines(guarded, tmp_path):
    guarded.process.send_signal(1)  # SIGHUP: one more audited event
    time.sleep(0.3)
    text = guarded.usage_path.read_text()
    assert run_verify(guarded.usage_path).returncode == 0
    lines = text.splitlines()
    audit = [index for index, line in enumerate(lines) if '"kind":"audit"' in line]
    assert len(audit) >= 5
    first, second = audit[2], audit[3]

    edited = list(lines)
    edited[first] = edited[first].replace('"seq":2', '"seq":2,"note":"x"')
    (tmp_path / "edited.jsonl").write_text("\n".join(edited) + "\n")
    result = run_verify(tmp_path / "edited.jsonl")
    assert result.returncode == 1 and f"line {first + 1} was edited" in result.stderr

    deleted = lines[:first] + lines[first + 1:]
    (tmp_path / "deleted.jsonl").write_text("\n".join(deleted) + "\n")
    result = run_verify(tmp_path / "deleted.jsonl")
    # Found at the next audit line, which moved up one line: "a line before it is missing".
    assert result.returncode == 1 and f"broken at line {second}: seq 3 follows seq 1" in result.stderr

    swapped = list(lines)
    swapped[first], swapped[second] = swapped[second], swapped[first]
    (tmp_path / "swapped.jsonl").write_text("\n".join(swapped) + "\n")
    result = run_verify(tmp_path / "swapped.jsonl")
    assert result.returncode == 1 and f"broken at line {first + 1}:" in result.stderr


def test_abusive_requests_get_documented_errors(sidecar):
    big = httpx.post(sidecar.base_url + "/v1/chat/completions", content=b"x" * (50 << 20),
                     headers={"Content-Type": "application/json"}, timeout=60)
    assert big.status_code == 413 and big.json()["error"]["code"] == "request_too_large"
    deep = b'{"model":"gpt-4o-mini","messages":' + b"[" * 10000 + b"]" * 10000 + b"}"
    nested = httpx.post(sidecar.base_url + "/v1/chat/completions", content=deep, headers={"Content-Type": "application/json"})
    assert nested.status_code == 400 and nested.json()["error"]["type"] == "invalid_request_error"
    huge = httpx.get(sidecar.base_url + "/v1/models", headers={"X-Filler": "a" * (100 << 10)})
    assert huge.status_code == 431 and huge.json()["error"]["code"] == "request_headers_too_large"
    assert httpx.get(sidecar.base_url + "/healthz").status_code == 200, "the sidecar is unharmed"


def test_slowloris_is_cut_off_while_normal_requests_go_on(emulator, tmp_path):
    config = configuration(emulator) + "\nserver:\n  request_read_timeout: 2s\n"
    sidecar = SidecarProcess(tmp_path, config, provider_keys(emulator))
    attackers: list[socket.socket] = []
    answers: list[bytes] = []
    stop = threading.Event()

    def trickle() -> None:
        for attacker in attackers:
            attacker.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        while not stop.is_set():
            for attacker in attackers:
                try:
                    attacker.sendall(b"X-a: b\r\n")
                except OSError:
                    pass
            stop.wait(0.5)

    try:
        attackers = [socket.create_connection(("127.0.0.1", sidecar.port)) for _ in range(200)]
        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        client = sidecar.client(timeout=10)
        for _ in range(20):
            assert client.chat.completions.create(model="gpt-4o-mini", messages=HELLO).choices[0].message.content
            time.sleep(0.1)
        time.sleep(1.5)
        stop.set()
        for attacker in attackers:
            attacker.settimeout(2)
            try:
                answers.append(attacker.recv(4096))
            except OSError:
                answers.append(b"")
        cut = [answer for answer in answers if answer.startswith(b"HTTP/1.1 408")]
        assert len(cut) == len(attackers), f"{len(cut)} of {len(attackers)} slow connections were cut with 408"
        body = json.loads(cut[0].split(b"\r\n\r\n", 1)[1])
        assert body["error"]["code"] == "request_timeout"
    finally:
        for attacker in attackers:
            attacker.close()
        sidecar.stop()


def test_no_request_field_can_redirect_a_key(sidecar, emulator, tmp_path):
    """Fields that other gateways honour (`api_base`, `base_url`, LiteLLM's `api_key`) are just
    body fields here: the request still goes to the configured provider with the configured key."""
    trap = tmp_path / "trap"
    answer = sidecar.client().chat.completions.create(
        model="gpt-4o-mini", messages=HELLO,
        extra_body={"api_base": "http://127.0.0.1:9/steal", "base_url": "http://127.0.0.1:9/steal", "api_key": str(trap)},
        extra_headers={"X-Forwarded-Host": "evil.example", "Host": "evil.example"})
    assert answer.choices[0].message.content.startswith("Hello from the openai emulator")
    received = emulator.requests("openai")[-1]
    assert received["path"] == "/openai/v1/chat/completions"
    assert received["headers"]["authorization"] == "Bearer " + emulator.key("openai")
