"""Adversarial: /v1/messages and /v1/messages/count_tokens.

- Client tokens in `x-api-key` authenticate like `Authorization: Bearer` and never reach a
  provider; a client limited to some models cannot reach others through either endpoint.
- `anthropic-version` and `anthropic-beta` are forwarded only when sane: CR/LF and other
  control bytes (raw sockets: httpx refuses them), huge values, too many flags → 400 in
  Anthropic's shape, and nothing reaches the provider.
- A provider echoing the sidecar's key, in a whole answer, a passthrough stream, a translated
  stream or an error, never shows it to the client.
- `server.max_streams` and quotas hold for Messages too (529 overloaded, 429 rate limit).
- Hostile bodies (deep nesting, bad limits, names with control characters, bad blocks) get a
  400 in Anthropic's shape naming the field; a stream broken mid-way ends with an `error` event.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from typing import Any

import anthropic
import httpx
import pytest

import sidecar as sidecar_module
from conftest import SENTINELS, Emulator
from sidecar import SidecarProcess, configuration, provider_keys

ALICE = "sk-SENTINEL-messages-alice-4f1d8e2a9c6b0735"
BOB = "sk-SENTINEL-messages-bob-8e0c3a6f2d9b1547"
sidecar_module.CLIENT_SENTINELS += [ALICE, BOB]
HELLO = [{"role": "user", "content": "Hello there"}]
ANTHROPIC_KEY = Emulator.KEYS["anthropic"]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


CLIENTS = f"""
clients:
  alice:
    token_sha256: {token_hash(ALICE)}
  bob:
    token_sha256: {token_hash(BOB)}
    models: [gpt-4o-mini]
"""


def post(sidecar: SidecarProcess, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(timeout=30) as client:
        response = client.post(sidecar.base_url + path, json=body, headers=headers)
    sidecar_module.ERROR_BODIES.append(response.text)
    return response


def assert_anthropic_error(response: httpx.Response, status: int, error_type: str, names: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == error_type, body
    if names is not None:
        assert names in body["error"]["message"], body


def raw_exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received or len(received) < received.find(b"\r\n\r\n") + 4 + _length(received):
            piece = connection.recv(65536)
            if not piece:
                break
            received += piece
        return received


def _length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


@pytest.fixture
def guarded(emulator, tmp_path):
    process = SidecarProcess(tmp_path, configuration(emulator) + CLIENTS, provider_keys(emulator))
    yield process
    process.stop()


def test_x_api_key_authenticates_and_is_never_forwarded(guarded, emulator):
    sdk = anthropic.Anthropic(base_url=guarded.base_url, api_key=ALICE, max_retries=0)
    assert sdk.messages.create(model="claude-test", max_tokens=50, messages=HELLO).content[0].text
    answered = post(guarded, "/v1/messages", {"model": "claude-test", "max_tokens": 50, "messages": HELLO},
                    {"x-api-key": ALICE, "anthropic-version": "2023-06-01"})
    assert answered.status_code == 200
    for sent in emulator.requests("anthropic"):
        assert sent["headers"]["x-api-key"] == ANTHROPIC_KEY
        assert "authorization" not in sent["headers"]
        assert ALICE not in json.dumps(sent)
    assert guarded.usage_lines()[-1]["client"] == "alice"

    wrong = post(guarded, "/v1/messages", {"model": "claude-test", "max_tokens": 50, "messages": HELLO},
                 {"x-api-key": "sk-not-a-client"})
    assert_anthropic_error(wrong, 401, "authentication_error")
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=guarded.base_url, api_key="sk-wrong", max_retries=0).messages.create(
            model="claude-test", max_tokens=50, messages=HELLO)
    missing = post(guarded, "/v1/messages/count_tokens", {"model": "claude-test", "messages": HELLO}, {})
    assert_anthropic_error(missing, 401, "authentication_error", names="x-api-key")


def test_a_limited_client_reaches_no_other_model_through_messages(guarded, emulator):
    bob = anthropic.Anthropic(base_url=guarded.base_url, api_key=BOB, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError):
        bob.messages.create(model="claude-test", max_tokens=50, messages=HELLO)
    with pytest.raises(anthropic.PermissionDeniedError):
        bob.messages.count_tokens(model="claude-test", messages=HELLO)
    assert not emulator.requests("anthropic")
    assert bob.messages.create(model="gpt-4o-mini", max_tokens=50, messages=HELLO).content[0].text


@pytest.mark.parametrize("name, value, param", [
    ("anthropic-beta", "x" * 5000, "anthropic-beta"),
    ("anthropic-beta", ",".join(f"flag-{n}" for n in range(40)), "anthropic-beta"),
    ("anthropic-beta", "prompt caching", "anthropic-beta"),
    ("anthropic-beta", "a;b=c", "anthropic-beta"),
    ("anthropic-version", "2023-06-01; x=1", "anthropic-version"),
    ("anthropic-version", "9" * 3000, "anthropic-version"),
])
def test_bad_anthropic_headers_are_400_and_never_forwarded(sidecar, emulator, name, value, param):
    response = post(sidecar, "/v1/messages", {"model": "claude-test", "max_tokens": 10, "messages": HELLO}, {name: value})
    assert_anthropic_error(response, 400, "invalid_request_error", names=param)
    assert not emulator.requests("anthropic")


@pytest.mark.parametrize("injection", [b"ok\rx-api-key: evil", b"ok\x00evil", b"ok\x7fevil", b"flag-\xc3\xa9"])
def test_control_bytes_in_anthropic_beta_never_reach_the_provider(sidecar, emulator, injection):
    body = json.dumps({"model": "claude-test", "max_tokens": 10, "messages": HELLO}).encode()
    request = (b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nanthropic-beta: " + injection
               + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    answer = raw_exchange(sidecar.port, request)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert not emulator.requests("anthropic")


def test_valid_betas_are_merged_and_forwarded(sidecar, emulator):
    response = post(sidecar, "/v1/messages", {"model": "claude-test", "max_tokens": 10, "messages": HELLO},
                    {"anthropic-beta": "prompt-caching-2024-07-31, context-1m-2025-08-07", "anthropic-version": "2023-06-01"})
    assert response.status_code == 200
    headers = emulator.requests("anthropic")[-1]["headers"]
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31,context-1m-2025-08-07"
    assert headers["anthropic-version"] == "2023-06-01"


def message_with(text: str) -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 3, "output_tokens": 4}}


def stream_with(text: str) -> str:
    events = [
        ("message_start", {"type": "message_start", "message": {**message_with(""), "content": [], "stop_reason": None}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def test_a_provider_echoing_the_key_never_shows_it(sidecar, emulator):
    echo = " / ".join(SENTINELS)
    request = {"model": "claude-test", "max_tokens": 10, "messages": HELLO}
    emulator.behaviours("anthropic", [{"status": 200, "body": json.dumps(message_with(echo))},
                                      {"status": 200, "body": stream_with(echo)},
                                      {"status": 401, "body": {"type": "error", "error": {"type": "authentication_error",
                                                                                           "message": f"bad key {echo}"}}}])
    answers = [post(sidecar, "/v1/messages", request, {}), post(sidecar, "/v1/messages", {**request, "stream": True}, {}),
               post(sidecar, "/v1/messages", request, {})]
    emulator.behaviours("openai", [{"reply": f"Here it is: {echo}"}])
    answers.append(post(sidecar, "/v1/messages", {**request, "model": "gpt-4o-mini", "stream": True}, {}))
    assert [answer.status_code for answer in answers] == [200, 200, 502, 200]
    for answer in answers:
        assert not [key for key in SENTINELS if key in answer.text], answer.text[:300]
    assert "text_delta" in answers[1].text and "text_delta" in answers[3].text


def test_stream_slots_hold_for_messages(launch, emulator):
    sidecar = launch("  max_streams: 1\n")
    emulator.behaviours("openai", [{"gate": "held", "gate_after_chunks": 1}])
    sdk = anthropic.Anthropic(base_url=sidecar.base_url, api_key="unused", max_retries=0)
    with sdk.messages.stream(model="gpt-4o-mini", max_tokens=50, messages=HELLO) as held:
        deadline = time.monotonic() + 5
        while not emulator.requests("openai") and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(anthropic.OverloadedError) as refused:
            sdk.messages.create(model="claude-test", max_tokens=50, messages=HELLO, stream=True)
        assert refused.value.status_code == 529 and refused.value.body["error"]["type"] == "overloaded_error"
        assert emulator.open_gate("held")
        assert held.get_final_message().content[0].text
    assert not emulator.requests("anthropic")


def test_quotas_hold_for_messages(emulator, tmp_path):
    quotas = "quotas:\n  global:\n    requests_per_minute: 2\n"
    if time.time() % 60 > 50:
        time.sleep(60 - time.time() % 60 + 0.1)
    sidecar = SidecarProcess(tmp_path, configuration(emulator) + quotas, provider_keys(emulator))
    try:
        sdk = anthropic.Anthropic(base_url=sidecar.base_url, api_key="unused", max_retries=0)
        sdk.messages.create(model="demo", max_tokens=20, messages=HELLO)
        sdk.messages.count_tokens(model="claude-test", messages=HELLO)
        with pytest.raises(anthropic.RateLimitError) as limited:
            sdk.messages.create(model="claude-test", max_tokens=20, messages=HELLO)
        assert limited.value.body["error"]["type"] == "rate_limit_error"
        assert int(limited.value.response.headers["retry-after"]) >= 1
    finally:
        sidecar.stop()


DEEP = {"model": "demo", "max_tokens": 5, "messages": HELLO, "metadata": json.loads("[" * 300 + "]" * 300)}


@pytest.mark.parametrize("body, names", [
    (DEEP, None),
    ({"model": "demo", "messages": HELLO}, "max_tokens"),
    ({"model": "demo", "max_tokens": 0, "messages": HELLO}, "max_tokens"),
    ({"model": "demo", "max_tokens": 2**40, "messages": HELLO}, "max_tokens"),
    ({"model": "demo", "max_tokens": "100", "messages": HELLO}, "max_tokens"),
    ({"model": "de\r\nmo", "max_tokens": 5, "messages": HELLO}, "model"),
    ({"model": "m" * 5000, "max_tokens": 5, "messages": HELLO}, "model"),
    ({"model": "auto", "max_tokens": 5, "messages": HELLO, "metadata": {"task_type": "t\nx"}}, "task_type"),
    ({"model": "auto", "max_tokens": 5, "messages": HELLO, "metadata": {"task_type": "t" * 1000}}, "task_type"),
    ({"model": "gpt-4o-mini", "max_tokens": 5, "messages": []}, "messages"),
    ({"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
    ({"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result"}]}]},
     "messages[0].content[0].tool_use_id"),
    ({"model": "gpt-4o-mini", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image", "source": {
        "type": "file", "file_id": "f"}}]}]}, "messages[0].content[0].source.type"),
    ({"model": "gpt-4o-mini", "max_tokens": 5, "messages": HELLO, "tool_choice": {"type": "any"}}, "tool_choice"),
    ({"model": "gpt-4o-mini", "max_tokens": 5, "messages": HELLO, "thinking": {"type": "sometimes"}}, "thinking.type"),
    ({"model": "gpt-4o-mini", "max_tokens": 5, "messages": HELLO, "mcp_servers": [{"url": "https://x"}]}, "mcp_servers"),
])
def test_hostile_bodies_get_400_in_anthropics_shape(sidecar, emulator, body, names):
    response = post(sidecar, "/v1/messages", body, {})
    assert_anthropic_error(response, 400, "invalid_request_error", names=names)
    assert not emulator.requests("openai")


@pytest.mark.parametrize("model, flavour", [("gpt-4o-mini", "openai"), ("claude-test", "anthropic")])
def test_a_stream_cut_mid_way_ends_with_an_error_event(sidecar, emulator, model, flavour):
    emulator.behaviours(flavour, [{"reset_after_chunks": 3}])
    response = post(sidecar, "/v1/messages", {"model": model, "max_tokens": 50, "messages": HELLO, "stream": True}, {})
    assert response.status_code == 200
    assert response.text.rstrip().splitlines()[-2:] == [
        "event: error", response.text.rstrip().splitlines()[-1]]
    last = json.loads(response.text.rstrip().splitlines()[-1].removeprefix("data: "))
    assert last["type"] == "error" and last["error"]["type"] in ("api_error", "overloaded_error")
    assert sidecar.usage_for(response.headers["x-request-id"])["outcome"] == "stream_error"


def test_the_providers_own_error_event_is_passed_on_once(sidecar, emulator):
    emulator.behaviours("anthropic", [{"stream_error": {"type": "overloaded_error", "message": "Overloaded"}}])
    response = post(sidecar, "/v1/messages", {"model": "claude-test", "max_tokens": 50, "messages": HELLO, "stream": True}, {})
    assert response.text.count("event: error") == 1
    assert response.text.rstrip().endswith('{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}')


def test_a_duplicate_model_key_cannot_bypass_routing(sidecar, emulator):
    """JSON with two `model` members: the sidecar routes by one and forwards exactly one, the
    route's upstream model — never the client's other name, which the provider would read."""
    raw = (b'{"model":"claude-opus-4-1","max_tokens":5,"messages":[{"role":"user","content":"Hi"}],'
           b'"model":"claude-test"}')
    with httpx.Client(timeout=30) as client:
        response = client.post(sidecar.base_url + "/v1/messages", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    sent = emulator.requests("anthropic")[-1]
    assert sent["body"]["model"] == "claude-sonnet-4-20250514"
    assert b"claude-opus" not in json.dumps(sent["body"]).encode()
    assert sidecar.usage_for(response.headers["x-request-id"])["model"] == "claude-test"


@pytest.mark.parametrize("path", ["/v1/Messages", "/v1/messages;x", "/v1/MESSAGES/count_tokens"])
def test_another_spelling_of_messages_is_not_passed_through(sidecar, emulator, path):
    """With a passthrough provider, a path a provider could read as /v1/messages would generate
    tokens the quotas never see: 400, and nothing is forwarded."""
    body = {"model": "claude-test", "max_tokens": 5, "messages": HELLO}
    with httpx.Client(timeout=30) as client:
        response = client.post(sidecar.base_url + path, json=body)
    sidecar_module.ERROR_BODIES.append(response.text)
    assert response.status_code == 400, response.text
    assert not emulator.requests()
