"""Adversarial: a provider that echoes the sidecar's key back — in every field of an error
envelope, nested details, in-stream error events of every dialect (split across network reads),
passthrough error bodies and headers, and successful answers' debug fields, URL-encoded, base64
(Basic auth) or truncated. No sentinel key may reach the client in any of them. Also: a 200
answer without its `choices` is a 502, and the demo model honours `n`."""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import httpx
import pytest

import sidecar as sidecar_module
from conftest import SENTINELS, Emulator

HELLO = [{"role": "user", "content": "Hello"}]
GEMINI_KEY = Emulator.KEYS["gemini"]
OPENAI_KEY = Emulator.KEYS["openai"]


def echoes(key: str) -> list[str]:
    """What a careless provider may echo of a key."""
    return [
        key,
        urllib.parse.quote(key, safe=""),
        "".join(f"%{byte:02X}" for byte in key.encode()),
        "Basic " + base64.b64encode(f"api:{key}".encode()).decode(),
        base64.urlsafe_b64encode(("x" + key).encode()).decode(),
        key[:20] + "…",
    ]


def every_echo() -> str:
    return " | ".join(echo for key in SENTINELS for echo in echoes(key))


def assert_no_key(text: str) -> None:
    leaked = [key for key in SENTINELS if key in text or key[:16] in text]
    leaked += [key for key in SENTINELS if base64.b64encode(f"api:{key}".encode()).decode()[8:30] in text]
    assert not leaked, f"key material reached the client: {[key[:14] for key in leaked]} in {text[:400]!r}"


def post(sidecar: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(timeout=30) as client:
        response = client.post(sidecar.base_url + path, json=body, headers={"Authorization": "Bearer unused"})
    sidecar_module.ERROR_BODIES.append(response.text)  # for the session's final sentinel search too
    return response


MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-test", "gemini": "gemini-test", "dashscope-native": "qwen-native"}


def error_bodies(flavour: str, echo: str) -> dict[str, Any]:
    if flavour == "openai":
        return {"error": {"message": f"bad key {echo}", "type": OPENAI_KEY, "param": echo, "code": GEMINI_KEY,
                          "details": {"metadata": {"key": echo}}}}
    if flavour == "anthropic":
        return {"type": "error", "error": {"type": echo, "message": f"invalid x-api-key {echo}"}}
    if flavour == "gemini":
        return {"error": {"code": 400, "message": f"API key not valid: {echo}", "status": GEMINI_KEY,
                          "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                                       "metadata": {"key": echo}}]}}
    return {"code": OPENAI_KEY, "message": f"Invalid API-key provided: {echo}", "request_id": "r"}


@pytest.mark.parametrize("flavour", sorted(MODELS))
@pytest.mark.parametrize("status", [400, 401, 500])
def test_every_field_of_a_provider_error_is_scrubbed(emulator: Emulator, sidecar: Any, flavour: str, status: int) -> None:
    emulator.behaviours(flavour.removesuffix("-native"), [{"status": status, "body": error_bodies(flavour, every_echo())}] * 3)
    response = post(sidecar, "/v1/chat/completions", {"model": MODELS[flavour], "messages": HELLO})
    assert response.status_code >= 400
    assert_no_key(response.text)
    envelope = response.json()["error"]
    assert set(envelope) == {"message", "type", "param", "code"}
    assert "[redacted]" in json.dumps(envelope)


def stream_tails(flavour: str) -> list[str]:
    """An in-stream error event in the flavour's framing, echoing keys, cut into pieces in the
    middle of a key."""
    echo = every_echo()
    if flavour == "openai":
        event = "data: " + json.dumps({"error": {"message": echo, "type": OPENAI_KEY, "param": echo, "code": GEMINI_KEY,
                                                 "details": {"key": echo}}}) + "\n\n"
    elif flavour == "anthropic":
        event = "event: error\ndata: " + json.dumps({"type": "error", "error": {"type": echo, "message": echo}}) + "\n\n"
    elif flavour == "gemini":
        event = "data: " + json.dumps({"error": {"code": 500, "message": echo, "status": GEMINI_KEY,
                                                 "details": [{"metadata": {"key": echo}}]}}) + "\r\n\r\n"
    else:
        event = "id:2\nevent:error\n:HTTP_STATUS/500\ndata:" + json.dumps({"code": OPENAI_KEY, "message": echo,
                                                                           "request_id": "r"}) + "\n\n"
    cut = event.index(OPENAI_KEY) + 9
    return [event[:cut], event[cut:]]


@pytest.mark.parametrize("flavour", sorted(MODELS))
def test_in_stream_error_events_of_every_dialect_are_scrubbed(emulator: Emulator, sidecar: Any, flavour: str) -> None:
    emulator.behaviours(flavour.removesuffix("-native"), [{"stream_tail": stream_tails(flavour)}])
    response = post(sidecar, "/v1/chat/completions", {"model": MODELS[flavour], "messages": HELLO, "stream": True})
    assert response.status_code == 200
    assert '"error"' in response.text, response.text
    assert_no_key(response.text)


def test_a_passthrough_error_body_and_its_headers_are_scrubbed(emulator: Emulator, sidecar: Any) -> None:
    emulator.behaviours("openai", [{"status": 401, "body": f"rejected: {every_echo()}",
                                    "headers": {"Content-Type": f"text/plain; key={OPENAI_KEY}", "Retry-After": OPENAI_KEY}}])
    response = post(sidecar, "/v1/debug/echo", {"probe": True})
    assert response.status_code == 401
    assert_no_key(response.text)
    assert_no_key(json.dumps(dict(response.headers)))
    assert "[redacted]" in response.text
    line = sidecar.usage_for(response.headers["x-request-id"])
    assert line["outcome"] == "upstream_error"


def test_a_passthrough_answer_echoing_request_headers_loses_the_key(emulator: Emulator, sidecar: Any) -> None:
    response = post(sidecar, "/v1/debug/echo", {"probe": True})
    assert response.status_code == 200
    assert_no_key(response.text)
    echoed = {name.lower(): value for name, value in response.json()["headers"].items()}
    assert echoed["authorization"] == "Bearer [redacted]", "the key split across 5-byte chunks was still found"


def test_a_chat_answer_echoing_the_key_in_a_debug_field_loses_it(emulator: Emulator, sidecar: Any) -> None:
    completion = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
                  "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                  "debug": {"request_headers": {"authorization": f"Bearer {OPENAI_KEY}"},
                            "basic": base64.b64encode(f"u:{OPENAI_KEY}".encode()).decode()}}
    emulator.behaviours("openai", [{"status": 200, "body": completion}])
    response = post(sidecar, "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": HELLO})
    assert response.status_code == 200
    assert_no_key(response.text)
    assert response.json()["choices"][0]["message"]["content"] == "hi"


@pytest.mark.parametrize("choices", [None, "absent", [], "not a list"])
def test_a_200_without_choices_is_a_malformed_answer(emulator: Emulator, sidecar: Any, choices: Any) -> None:
    body: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini"}
    if choices != "absent":
        body["choices"] = choices
    emulator.behaviours("openai", [{"status": 200, "body": body}])
    response = post(sidecar, "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": HELLO})
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "upstream_malformed_response"
    line = sidecar.usage_for(response.headers["x-request-id"])
    assert (line["outcome"], line["error.type"]) == ("upstream_error", "upstream_malformed_response")


@pytest.mark.parametrize("stream", [False, True])
def test_the_demo_model_answers_n_choices(sidecar: Any, stream: bool) -> None:
    client = sidecar.client()
    if stream:
        indices = set()
        for chunk in client.chat.completions.create(model="demo", messages=HELLO, n=3, stream=True):
            indices.update(choice.index for choice in chunk.choices)
        assert indices == {0, 1, 2}
    else:
        answer = client.chat.completions.create(model="demo", messages=HELLO, n=3)
        assert [choice.index for choice in answer.choices] == [0, 1, 2]
        assert len({choice.message.content for choice in answer.choices}) == 1


@pytest.mark.parametrize("n", [0, 9, 1000, "2"])
def test_the_demo_model_rejects_an_n_it_cannot_answer(sidecar: Any, n: Any) -> None:
    response = post(sidecar, "/v1/chat/completions", {"model": "demo", "messages": HELLO, "n": n})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "n"
