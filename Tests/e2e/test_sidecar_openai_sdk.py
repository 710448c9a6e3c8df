"""The built llm-sidecar driven by the official openai SDK, against the provider emulator.

Every test names its request with an X-Request-Id so it can find that request's single usage
line. Expected texts and token numbers follow the emulator's documented rules (README.md):
one token per whitespace-separated word.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import httpx2 as httpx
import openai
import pytest

from sidecar import CLIENT_KEY

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "Get the weather for a location",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {"name": "time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}},
}


def request_id() -> str:
    return "e2e-" + uuid.uuid4().hex[:12]


def tokens(text: str) -> int:
    return len(text.split())


def named(rid: str) -> dict[str, Any]:
    return {"extra_headers": {"X-Request-Id": rid}}


# MARK: Plain completions


def test_completion_is_answered_with_the_provider_key_injected(sidecar, emulator):
    rid = request_id()
    answer = sidecar.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello there"}], **named(rid))
    expected = "Hello from the openai emulator. You said: Hello there"
    assert answer.choices[0].message.content == expected
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage.prompt_tokens == 2
    assert answer.usage.completion_tokens == tokens(expected)

    sent = emulator.requests("openai")[-1]
    assert sent["path"] == "/openai/v1/chat/completions"
    assert sent["headers"]["authorization"] == "Bearer " + emulator.key("openai")
    assert CLIENT_KEY not in json.dumps(sent)
    assert sent["body"]["model"] == "gpt-4o-mini-2024-07-18"

    line = sidecar.usage_for(rid)
    assert line["outcome"] == "success"
    assert line["gen_ai.provider.name"] == "openai"
    assert line["gen_ai.request.model"] == "gpt-4o-mini"
    assert line["upstream_model"] == "gpt-4o-mini-2024-07-18"
    assert line["gen_ai.usage.input_tokens"] == 2
    assert line["gen_ai.usage.output_tokens"] == tokens(expected)
    assert line["usage_source"] == "provider"
    assert line["cost"] == pytest.approx((2 * 0.15 + tokens(expected) * 0.60) / 1e6)
    assert line["currency"] == "USD"
    assert line["gen_ai.request.stream"] is False


def test_raw_response_carries_cost_and_request_id(sidecar):
    rid = request_id()
    raw = sidecar.client().chat.completions.with_raw_response.create(
        model="deepseek-chat", messages=[{"role": "user", "content": "one two three"}], **named(rid))
    assert raw.headers["x-request-id"] == rid
    assert raw.headers["x-sidecar-currency"] == "USD"
    completion = raw.parse()
    expected_cost = (3 * 0.28 + completion.usage.completion_tokens * 0.42) / 1e6
    assert float(raw.headers["x-sidecar-cost"]) == pytest.approx(expected_cost)
    assert sidecar.usage_for(rid)["cost"] == pytest.approx(expected_cost)


def test_every_other_field_reaches_the_provider_untouched(sidecar, emulator):
    sidecar.client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], temperature=0.25, top_p=0.5, seed=7,
        user="u-1", logit_bias={"50256": -100}, response_format={"type": "json_object"},
        extra_body={"custom_vendor_field": {"nested": [1, 2.50]}})
    body = emulator.requests("openai")[-1]["body"]
    assert body["temperature"] == 0.25 and body["top_p"] == 0.5 and body["seed"] == 7 and body["user"] == "u-1"
    assert body["logit_bias"] == {"50256": -100}
    assert body["response_format"] == {"type": "json_object"}
    assert body["custom_vendor_field"] == {"nested": [1, 2.5]}


def test_multipart_content_with_images_passes_through(sidecar, emulator):
    content = [{"type": "text", "text": "What is in this image?"},
               {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}]
    answer = sidecar.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": content}])
    assert answer.choices[0].message.content.endswith("You said: What is in this image?")
    assert emulator.requests("openai")[-1]["body"]["messages"][0]["content"] == content


def test_custom_openai_compatible_endpoint_without_a_key(sidecar, emulator):
    answer = sidecar.client().chat.completions.create(
        model="local-llama", messages=[{"role": "developer", "content": "Be brief"}, {"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "Hello from the custom emulator. You said: hi"
    sent = emulator.requests("custom")[-1]
    assert "authorization" not in sent["headers"]
    assert sent["body"]["messages"][0]["role"] == "system", "developer is mapped to system for non-OpenAI servers"


def test_demo_model_works_without_any_provider(sidecar, emulator):
    answer = sidecar.client().chat.completions.create(model="demo", messages=[{"role": "user", "content": "ping"}])
    assert answer.choices[0].message.content.endswith("You said: ping")
    assert emulator.requests() == []


# MARK: Streaming


def test_stream_with_usage(sidecar):
    rid = request_id()
    stream = sidecar.client().chat.completions.create(
        model="gpt-4o-mini", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream me please"}], **named(rid))
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    expected = "Hello from the openai emulator. You said: stream me please"
    assert text == expected
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason] == ["stop"]
    usage_chunks = [chunk for chunk in chunks if chunk.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1] and chunks[-1].choices == []
    assert chunks[-1].usage.prompt_tokens == 3
    assert chunks[-1].usage.completion_tokens == tokens(expected)
    assert chunks[-1].usage.model_extra["cost"] == pytest.approx((3 * 0.15 + tokens(expected) * 0.6) / 1e6)
    line = sidecar.usage_for(rid)
    assert line["gen_ai.request.stream"] is True
    assert line["gen_ai.usage.output_tokens"] == tokens(expected)
    assert line["usage_source"] == "provider"
    assert line["time_to_first_chunk_ms"] <= line["latency_ms"]


def test_stream_without_usage_is_still_billed_from_provider_numbers(sidecar, emulator):
    rid = request_id()
    chunks = list(sidecar.client().chat.completions.create(
        model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": "no usage wanted"}], **named(rid)))
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks)
    assert emulator.requests("openai")[-1]["body"]["stream_options"] == {"include_usage": True}
    line = sidecar.usage_for(rid)
    assert line["usage_source"] == "provider"
    assert line["gen_ai.usage.input_tokens"] == 3


def test_streamed_and_unstreamed_requests_cost_the_same(sidecar):
    messages = [{"role": "user", "content": "same request twice"}]
    whole, streamed = request_id(), request_id()
    sidecar.client().chat.completions.create(model="deepseek-chat", messages=messages, **named(whole))
    list(sidecar.client().chat.completions.create(model="deepseek-chat", messages=messages, stream=True, **named(streamed)))
    a, b = sidecar.usage_for(whole), sidecar.usage_for(streamed)
    for field in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "cost", "currency"):
        assert a[field] == b[field], field


def test_chunks_are_forwarded_as_they_arrive(sidecar, emulator):
    """The provider sends its role chunk and first word, then waits at a gate until the client
    has received that word: a proxy that buffered would hold it back, and the gate would open by
    its time-out instead of by the client. Order, not timing."""
    emulator.behaviours("openai", [{"gate": "first-word", "gate_after_chunks": 2}])
    words: list[str] = []
    opened_while_waiting = None
    for chunk in sidecar.client().chat.completions.create(
            model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": "a b c"}]):
        if chunk.choices and chunk.choices[0].delta.content:
            words.append(chunk.choices[0].delta.content)
            if opened_while_waiting is None:
                opened_while_waiting = emulator.open_gate("first-word")
    assert opened_while_waiting is True, "the first word reached the client only after the provider went on"
    assert len(words) >= 8


def test_client_leaving_mid_stream_gets_one_usage_line(sidecar, emulator):
    emulator.behaviours("openai", [{"chunk_delay_ms": 100}])
    rid = request_id()
    stream = sidecar.client().chat.completions.create(
        model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": "tell me a long story"}], **named(rid))
    received = 0
    for chunk in stream:
        received += 1
        if received == 3:
            break
    stream.close()
    line = sidecar.usage_for(rid, timeout=10)
    assert line["outcome"] == "client_disconnected"
    assert line["gen_ai.usage.output_tokens"] > 0
    assert line["usage_source"] == "estimated"


# MARK: Tools


def test_tool_round_trip(sidecar, emulator):
    client = sidecar.client()
    messages: list[Any] = [{"role": "user", "content": "What's the weather in Florence?"}]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL], tool_choice="auto")
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "weather"
    assert json.loads(call.function.arguments) == {"location": "Florence, Italy"}
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "22 degrees and sunny"}]
    final = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == "The tool said: 22 degrees and sunny"
    assert emulator.requests("openai")[-1]["body"]["messages"][1]["tool_calls"][0]["id"] == call.id


def test_streamed_parallel_tool_calls(sidecar):
    chunks = list(sidecar.client().chat.completions.create(
        model="deepseek-chat", stream=True, tools=[WEATHER_TOOL, TIME_TOOL],
        messages=[{"role": "user", "content": "weather and time in parallel please"}]))
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] += delta.id or ""
            entry["name"] += (delta.function.name or "") if delta.function else ""
            entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
    assert [calls[index]["name"] for index in sorted(calls)] == ["weather", "time"]
    assert json.loads(calls[0]["arguments"]) == {"location": "Florence, Italy"}
    assert json.loads(calls[1]["arguments"]) == {"zone": "Florence, Italy"}
    assert all(call["id"] for call in calls.values())


# MARK: Reasoning providers


def test_deepseek_reasoning_in_message_and_stream(sidecar):
    client = sidecar.client()
    whole = client.chat.completions.create(model="deepseek-reasoner", messages=[{"role": "user", "content": "think hard"}])
    assert whole.choices[0].message.model_extra["reasoning_content"] == "Thinking about: think hard"
    reasoning, content = "", ""
    for chunk in client.chat.completions.create(model="deepseek-reasoner", stream=True, messages=[{"role": "user", "content": "think hard"}]):
        if chunk.choices:
            reasoning += chunk.choices[0].delta.model_extra.get("reasoning_content") or ""
            content += chunk.choices[0].delta.content or ""
    assert reasoning == "Thinking about: think hard"
    assert content == whole.choices[0].message.content


def test_deepseek_cache_hits_and_reasoning_tokens_are_priced(sidecar, emulator):
    emulator.behaviours("deepseek", [{"usage": {"prompt_tokens": 1000, "cached_tokens": 800, "completion_tokens": 300, "reasoning_tokens": 200}}])
    rid = request_id()
    sidecar.client().chat.completions.create(model="deepseek-reasoner", messages=[{"role": "user", "content": "x"}], **named(rid))
    line = sidecar.usage_for(rid)
    assert line["gen_ai.usage.input_tokens"] == 1000
    assert line["gen_ai.usage.cache_read.input_tokens"] == 800
    assert line["gen_ai.usage.reasoning.output_tokens"] == 200
    assert line["cost"] == pytest.approx((200 * 0.28 + 800 * 0.028 + 300 * 0.42) / 1e6)


def test_dashscope_thinking_in_cny(sidecar, emulator):
    rid = request_id()
    stream = sidecar.client().chat.completions.create(
        model="qwen-plus", stream=True, stream_options={"include_usage": True}, extra_body={"enable_thinking": True},
        messages=[{"role": "user", "content": "你好 world"}], **named(rid))
    chunks = list(stream)
    reasoning = "".join(chunk.choices[0].delta.model_extra.get("reasoning_content") or "" for chunk in chunks if chunk.choices)
    assert reasoning == "Thinking about: 你好 world"
    assert emulator.requests("dashscope")[-1]["body"]["enable_thinking"] is True
    line = sidecar.usage_for(rid)
    assert line["currency"] == "CNY"
    usage = chunks[-1].usage
    assert line["cost"] == pytest.approx((usage.prompt_tokens * 0.8 + usage.completion_tokens * 2.0) / 1e6)


# MARK: Errors


def test_rate_limit_becomes_rate_limit_error_with_retry_after(sidecar, emulator):
    # Retry-After 3 s exceeds the session sidecar's max_wait (1 s): passed on without a retry.
    emulator.cycle("openai", [{"status": 429, "headers": {"retry-after": "3"}}])
    rid = request_id()
    with pytest.raises(openai.RateLimitError) as raised:
        sidecar.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], **named(rid))
    assert raised.value.response.headers["retry-after"] == "3"
    assert raised.value.code == "rate_limit_exceeded"
    line = sidecar.usage_for(rid)
    assert (line["outcome"], line["http.response.status_code"], line["error.type"]) == ("upstream_error", 429, "upstream_error")
    assert line["attempts"] == 1 and len(emulator.requests("openai")) == 1


def test_provider_server_error_is_a_bad_gateway(sidecar, emulator):
    emulator.cycle("openai", [{"status": 500}])
    with pytest.raises(openai.InternalServerError) as raised:
        sidecar.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 502
    assert len(emulator.requests("openai")) == 3, "retried up to max_attempts before giving up"


def test_provider_overload_is_503(sidecar, emulator):
    emulator.cycle("deepseek", [{"status": 503}])
    with pytest.raises(openai.InternalServerError) as raised:
        sidecar.client().chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 503


def test_rejected_provider_key_is_502_and_not_the_clients_problem(sidecar, emulator):
    emulator.set_key("deepseek", "some-other-key")
    with pytest.raises(openai.InternalServerError) as raised:
        sidecar.client().chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 502
    assert raised.value.code == "upstream_authentication_failed"
    assert emulator.key("deepseek") not in raised.value.response.text


def test_deepseek_insufficient_balance(sidecar, emulator):
    emulator.behaviours("deepseek", [{"status": 402}])
    with pytest.raises(openai.RateLimitError) as raised:
        sidecar.client().chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "x"}])
    assert raised.value.code == "insufficient_quota"


def test_provider_bad_request_keeps_its_message(sidecar, emulator):
    emulator.behaviours("openai", [{"status": 400, "body": {"error": {"message": "Invalid 'temperature'.", "type": "invalid_request_error", "param": "temperature", "code": "invalid_value"}}}])
    with pytest.raises(openai.BadRequestError) as raised:
        sidecar.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], temperature=5)
    assert raised.value.param == "temperature"
    assert "Invalid 'temperature'" in raised.value.message


def test_unknown_model_is_not_found(sidecar):
    with pytest.raises(openai.NotFoundError) as raised:
        sidecar.client().chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert raised.value.code == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        sidecar.client().models.retrieve("no-such-model")


def test_invalid_requests_are_bad_requests_naming_the_field(sidecar):
    with pytest.raises(openai.BadRequestError) as raised:
        sidecar.client().chat.completions.create(model="gpt-4o-mini", messages=[])
    assert raised.value.param == "messages"
    status, _, body = sidecar.request("POST", "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "x"}]})
    assert status == 400 and body["error"]["param"] == "messages[0].role"


def test_mid_stream_provider_error_is_raised_by_the_sdk(sidecar, emulator):
    emulator.behaviours("openai", [{"stream_error": {"type": "server_error", "message": "The model crashed"}}])
    rid = request_id()
    with pytest.raises(openai.APIError, match="The model crashed"):
        list(sidecar.client().chat.completions.create(model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": "x"}], **named(rid)))
    assert sidecar.usage_for(rid)["outcome"] == "stream_error"


def test_dropped_connection_mid_stream_ends_with_an_error_event(sidecar, emulator):
    emulator.behaviours("openai", [{"reset_after_chunks": 3}])
    rid = request_id()
    with pytest.raises(openai.APIError):
        list(sidecar.client().chat.completions.create(model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": "x"}], **named(rid)))
    line = sidecar.usage_for(rid)
    assert line["outcome"] == "stream_error"
    assert line["usage_source"] == "estimated"


def test_unreachable_provider(sidecar, emulator):
    emulator.cycle("openai", [{"reset": True}])
    with pytest.raises(openai.InternalServerError) as raised:
        sidecar.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 502


def test_garbage_from_the_provider_is_a_bad_gateway(sidecar, emulator):
    emulator.behaviours("openai", [{"garbage": True}])
    with pytest.raises(openai.InternalServerError) as raised:
        sidecar.client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert raised.value.code == "upstream_malformed_response"


def test_huge_and_malformed_bodies_get_4xx(sidecar):
    status, _, body = sidecar.request("POST", "/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * (9 << 20)}]})
    assert status == 413 and body["error"]["code"] == "request_too_large"
    request = httpx.post(sidecar.base_url + "/v1/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert request.status_code == 400 and request.json()["error"]["type"] == "invalid_request_error"
    deep = b'{"model":"gpt-4o-mini","messages":' + b"[" * 10000 + b"]" * 10000 + b"}"
    assert httpx.post(sidecar.base_url + "/v1/chat/completions", content=deep).status_code == 400
    assert sidecar.request("GET", "/healthz")[0] == 200, "the sidecar survived"


# MARK: Embeddings and models


def test_embeddings_float_and_base64(sidecar, emulator):
    client = sidecar.client()
    floats = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"], encoding_format="float")
    assert [item.index for item in floats.data] == [0, 1]
    assert len(floats.data[0].embedding) == 8
    decoded = client.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])  # the SDK asks for base64
    assert emulator.requests("openai")[-1]["body"]["encoding_format"] == "base64"
    assert decoded.data[0].embedding == pytest.approx(floats.data[0].embedding, rel=1e-6)
    assert floats.usage.prompt_tokens == 2


def test_models_list_and_retrieve(sidecar):
    client = sidecar.client()
    ids = [model.id for model in client.models.list()]
    assert ids[:2] == ["gpt-4o-mini", "o4-mini"] and "demo" in ids and "*" not in ids
    assert client.models.retrieve("deepseek-chat").owned_by == "deepseek"
    assert client.models.retrieve("demo").owned_by == "llm-sidecar-demo"


# MARK: The original service API


def test_service_api_returns_content_provider_and_success(sidecar):
    rid = request_id()
    status, headers, body = sidecar.request("POST", "/api/v1/chat/completions", {
        "model": "deepseek-chat", "task_type": "financial_analysis", "messages": [{"role": "user", "content": "profit?"}]},
        headers={"X-Request-Id": rid})
    assert status == 200
    assert body["success"] is True
    assert body["provider"] == "deepseek"
    assert body["content"] == "Hello from the deepseek emulator. You said: profit?"
    assert body["choices"][0]["message"]["content"] == body["content"]
    line = sidecar.usage_for(rid)
    assert line["api"] == "service" and line["task_type"] == "financial_analysis"
    status, _, failed = sidecar.request("POST", "/api/v1/chat/completions", {"model": "nope", "messages": [{"role": "user", "content": "x"}]})
    assert status == 404 and failed["success"] is False and failed["error"]["code"] == "model_not_found"


def test_service_api_models(sidecar):
    status, _, body = sidecar.request("GET", "/api/v1/models")
    assert status == 200
    models = {model["name"]: model for model in body["models"]}
    assert models["qwen-plus"]["price_per_1k_tokens"] == {"input": 0.0008, "output": 0.002, "cached_input": None, "currency": "CNY"}
    assert models["deepseek-chat"]["provider"] == "deepseek" and models["deepseek-chat"]["supports_streaming"] is True
    assert models["demo"]["demo"] is True and models["demo"]["available"] is True


def test_concurrent_streams_each_get_their_own_answer_and_line(sidecar):
    results: dict[str, str] = {}

    def run(index: int) -> None:
        rid = f"conc-{uuid.uuid4().hex[:8]}-{index}"
        text = "".join(chunk.choices[0].delta.content or "" for chunk in sidecar.client().chat.completions.create(
            model="deepseek-chat", stream=True, messages=[{"role": "user", "content": f"number {index}"}], **named(rid)) if chunk.choices)
        results[rid] = text

    threads = [threading.Thread(target=run, args=(index,)) for index in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 40
    for rid, text in results.items():
        assert text.endswith(f"You said: number {rid.rsplit('-', 1)[1]}")
        assert sidecar.usage_for(rid)["outcome"] == "success"
