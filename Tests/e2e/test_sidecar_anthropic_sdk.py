"""The official anthropic SDK against llm-sidecar's /v1/messages, to every provider emulator.

Create and stream (`client.messages.stream(...).get_final_message()`), a tool-use round trip
with parallel tools, extended thinking, images, count_tokens, prompt-cache usage priced for
Anthropic, errors raised as the SDK's own exception classes, parity with /v1/chat/completions,
and byte-for-byte passthrough of a recorded Anthropic stream.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import pytest

from sidecar import CLIENT_KEY, ERROR_BODIES, SidecarProcess, configuration, provider_keys

FIXTURES = Path(__file__).resolve().parents[1] / "TestSupport" / "Fixtures" / "anthropic"
# model → (emulator flavour, the sidecar provider's name)
MODELS = {
    "claude-test": ("anthropic", "anthropic"),
    "gpt-4o-mini": ("openai", "openai"),
    "deepseek-chat": ("deepseek", "deepseek"),
    "qwen-plus": ("dashscope", "dashscope"),
    "qwen-native": ("dashscope", "dashscope-native"),
    "gemini-test": ("gemini", "gemini"),
    "local-llama": ("custom", "custom"),
    "demo": (None, "demo"),
}
TOOLS = [
    {"name": "get_weather", "description": "Weather in a city",
     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    {"name": "get_time", "description": "Local time in a city",
     "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
]


def _keep_error_body(response: httpx2.Response) -> None:
    if response.status_code >= 400:
        response.read()
        ERROR_BODIES.append(response.text)


def client(sidecar: SidecarProcess, **options: Any) -> anthropic.Anthropic:
    """The official SDK pointed at the sidecar, retries off so faults surface as they are."""
    options.setdefault("max_retries", 0)
    options.setdefault("api_key", CLIENT_KEY)
    http = httpx2.Client(timeout=60, event_hooks={"response": [_keep_error_body]})
    return anthropic.Anthropic(base_url=sidecar.base_url, http_client=http, **options)


def last_request(emulator: Any, flavour: str) -> dict[str, Any]:
    sent = emulator.requests(flavour)
    assert sent, f"nothing reached the {flavour} emulator"
    return sent[-1]


@pytest.mark.parametrize("model", list(MODELS))
def test_create_and_stream_to_every_provider(sidecar, emulator, model):
    flavour, provider = MODELS[model]
    sdk = client(sidecar)
    raw = sdk.messages.with_raw_response.create(
        model=model, max_tokens=200, system="Be brief.", messages=[{"role": "user", "content": "Hello there"}])
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and "You said: Hello there" in message.content[0].text
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    line = sidecar.usage_for(raw.headers["x-request-id"])
    assert (line["api"], line["gen_ai.provider.name"], line["outcome"]) == ("anthropic", provider, "success")
    assert line["gen_ai.usage.output_tokens"] == message.usage.output_tokens
    if flavour == "anthropic":
        assert last_request(emulator, flavour)["body"]["system"] == "Be brief."

    with sdk.messages.stream(model=model, max_tokens=200, messages=[{"role": "user", "content": "Hello there"}]) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
        request_id = stream.response.headers["x-request-id"]
    assert "".join(texts) == final.content[0].text == message.content[0].text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == message.usage.output_tokens
    streamed = sidecar.usage_for(request_id)
    assert streamed["gen_ai.request.stream"] is True and streamed["api"] == "anthropic"
    assert streamed["gen_ai.usage.output_tokens"] == final.usage.output_tokens


@pytest.mark.parametrize("model", ["claude-test", "gpt-4o-mini", "deepseek-chat", "qwen-native", "gemini-test"])
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "stream"])
def test_tool_use_round_trip_with_parallel_tools(sidecar, emulator, model, streamed):
    sdk = client(sidecar)
    question = {"role": "user", "content": "In parallel: weather and time in Paris"}

    def ask(messages: list[dict[str, Any]]) -> anthropic.types.Message:
        if not streamed:
            return sdk.messages.create(model=model, max_tokens=300, tools=TOOLS, messages=messages)
        with sdk.messages.stream(model=model, max_tokens=300, tools=TOOLS, messages=messages) as stream:
            return stream.get_final_message()

    first = ask([question])
    calls = [block for block in first.content if block.type == "tool_use"]
    assert first.stop_reason == "tool_use"
    assert sorted(call.name for call in calls) == ["get_time", "get_weather"], first.content
    assert all(isinstance(call.input, dict) and call.id for call in calls)
    results = [{"type": "tool_result", "tool_use_id": call.id, "content": f"{call.name} says 21"} for call in calls]
    results[0]["is_error"] = False
    second = ask([question, {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
                  {"role": "user", "content": results}])
    assert second.stop_reason == "end_turn"
    assert any(block.type == "text" and block.text for block in second.content)
    flavour = MODELS[model][0]
    sent = last_request(emulator, flavour)["body"]
    if flavour in ("openai", "deepseek"):
        tool_messages = [message for message in sent["messages"] if message["role"] == "tool"]
        assert sorted(message["tool_call_id"] for message in tool_messages) == sorted(call.id for call in calls)


@pytest.mark.parametrize("model, check", [
    ("claude-test", lambda body: body["thinking"] == {"type": "enabled", "budget_tokens": 2048}),
    ("qwen-plus", lambda body: body["enable_thinking"] is True and body["thinking_budget"] == 2048),
    ("qwen-native", lambda body: body["parameters"]["enable_thinking"] is True),
    ("gemini-test", lambda body: body["generationConfig"]["thinkingConfig"]["includeThoughts"] is True),
    ("deepseek-chat", lambda body: body["thinking"] == {"type": "enabled"}),
    ("o4-mini", lambda body: body["reasoning_effort"] == "low"),
])
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "stream"])
def test_extended_thinking(sidecar, emulator, model, check, streamed):
    sdk = client(sidecar)
    options = dict(model=model, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 2048},
                   messages=[{"role": "user", "content": "Why is the sky blue?"}])
    if streamed:
        with sdk.messages.stream(**options) as stream:
            message = stream.get_final_message()
    else:
        message = sdk.messages.create(**options)
    flavour = "openai" if model == "o4-mini" else MODELS[model][0]
    assert check(last_request(emulator, flavour)["body"])
    kinds = [block.type for block in message.content]
    if model == "o4-mini":
        assert kinds == ["text"]
        return
    assert kinds == ["thinking", "text"], message.content
    assert message.content[0].thinking.startswith("Thinking about")
    if model == "claude-test":
        assert message.content[0].signature, "Anthropic's signature reaches the client"


@pytest.mark.parametrize("model", ["claude-test", "gpt-4o-mini", "gemini-test", "qwen-plus"])
def test_images_base64_and_url(sidecar, emulator, model):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "text", "text": "Describe both"},
    ]
    message = client(sidecar).messages.create(model=model, max_tokens=100, messages=[{"role": "user", "content": content}])
    assert message.content[0].type == "text"
    flavour = MODELS[model][0]
    sent = last_request(emulator, flavour)["body"]
    if flavour == "anthropic":
        assert sent["messages"][0]["content"] == content
    elif flavour == "openai":
        parts = sent["messages"][0]["content"]
        assert parts[0] == {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}}
        assert parts[1] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    else:
        assert png in json.dumps(sent)


def test_count_tokens_by_anthropic_and_estimated_elsewhere(sidecar, emulator):
    sdk = client(sidecar)
    messages = [{"role": "user", "content": "one two three four five"}]
    counted = sdk.messages.with_raw_response.count_tokens(model="claude-test", messages=messages, system="six seven")
    assert counted.parse().input_tokens == 7, "the emulator's count: one token per word"
    assert "x-sidecar-token-count" not in counted.headers
    sent = last_request(emulator, "anthropic")
    assert sent["path"].endswith("/v1/messages/count_tokens")
    assert sent["body"]["model"] == "claude-sonnet-4-20250514" and "max_tokens" not in sent["body"]
    estimated = sdk.messages.with_raw_response.count_tokens(model="gpt-4o-mini", messages=messages)
    assert estimated.headers["x-sidecar-token-count"] == "estimated"
    assert estimated.parse().input_tokens > 0
    assert not emulator.requests("openai"), "an estimate asks no provider"
    for answer in (counted, estimated):
        assert sidecar.usage_for(answer.headers["x-request-id"])["gen_ai.operation.name"] == "count_tokens"


def test_models_in_anthropics_list_shape(sidecar):
    page = client(sidecar).models.list()
    ids = [model.id for model in page.data]
    assert "claude-test" in ids and "gpt-4o-mini" in ids
    assert all(model.type == "model" and model.display_name and model.created_at for model in page.data)
    assert page.has_more is False and page.first_id == ids[0] and page.last_id == ids[-1]
    assert client(sidecar).models.retrieve("claude-test").id == "claude-test"
    with pytest.raises(anthropic.NotFoundError) as missing:
        client(sidecar).models.retrieve("no-such-model")
    assert missing.value.body["error"]["type"] == "not_found_error"


def test_prompt_cache_usage_priced_for_anthropic(sidecar, emulator):
    emulator.behaviours("anthropic", [{"usage": {"prompt_tokens": 1000, "cached_tokens": 600, "cache_creation_tokens": 300,
                                                 "completion_tokens": 50}}])
    raw = client(sidecar).messages.with_raw_response.create(
        model="claude-test", max_tokens=100,
        system=[{"type": "text", "text": "Long policy text", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Hello there"}])
    usage = raw.parse().usage
    assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens, usage.output_tokens) == (
        100, 600, 300, 50)
    assert last_request(emulator, "anthropic")["body"]["system"][0]["cache_control"] == {"type": "ephemeral"}
    line = sidecar.usage_for(raw.headers["x-request-id"])
    assert line["gen_ai.usage.cache_read.input_tokens"] == 600 and line["gen_ai.usage.cache_creation.input_tokens"] == 300
    # $3 input, $0.30 cache reads, $3.75 cache writes, $15 output per million tokens.
    expected = (Decimal(100) * 3 + Decimal(600) * Decimal("0.3") + Decimal(300) * Decimal("3.75") + Decimal(50) * 15) / 1_000_000
    assert Decimal(str(line["cost"])) == expected


@pytest.mark.parametrize("flavour, status, error_type, exception", [
    ("anthropic", 429, "rate_limit_error", anthropic.RateLimitError),
    ("anthropic", 529, "overloaded_error", anthropic.OverloadedError),
    ("openai", 429, "rate_limit_error", anthropic.RateLimitError),
    ("openai", 503, "overloaded_error", anthropic.OverloadedError),
    ("gemini", 400, "invalid_request_error", anthropic.BadRequestError),
    ("anthropic", 500, "api_error", anthropic.InternalServerError),
])
def test_provider_errors_raise_the_sdks_classes(sidecar, emulator, flavour, status, error_type, exception):
    model = {"anthropic": "claude-test", "openai": "gpt-4o-mini", "gemini": "gemini-test"}[flavour]
    emulator.cycle(flavour, [{"status": status}])
    try:
        with pytest.raises(exception) as raised:
            client(sidecar).messages.create(model=model, max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    finally:
        emulator.cycle(flavour, [])
    assert raised.value.body["type"] == "error" and raised.value.body["error"]["type"] == error_type


def test_the_sidecars_own_errors_in_anthropics_shape(sidecar, emulator):
    sdk = client(sidecar)
    with pytest.raises(anthropic.NotFoundError) as missing:
        sdk.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "Hi"}])
    assert missing.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError) as unsupported:
        sdk.messages.create(model="gpt-4o-mini", max_tokens=10, messages=[{"role": "user", "content": "Hi"}],
                            tools=[{"type": "web_search_20250305", "name": "web_search"}])
    assert unsupported.value.body["error"]["type"] == "invalid_request_error"
    assert "tools[0].type" in unsupported.value.message
    with pytest.raises(anthropic.BadRequestError) as no_limit:
        sdk.post("/v1/messages", body={"model": "demo", "messages": [{"role": "user", "content": "Hi"}]}, cast_to=object)
    assert "max_tokens" in no_limit.value.message
    assert not emulator.requests("openai")


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-test"])
def test_parity_with_chat_completions(sidecar, emulator, model):
    """One conversation over /v1/messages and over /v1/chat/completions says the same and costs the same."""
    raw = client(sidecar).messages.with_raw_response.create(
        model=model, max_tokens=100, system="Be brief.", messages=[{"role": "user", "content": "Hello there"}])
    message = raw.parse()
    chat = sidecar.client().chat.completions.with_raw_response.create(
        model=model, max_tokens=100, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}])
    completion = chat.parse()
    assert message.content[0].text == completion.choices[0].message.content
    assert message.usage.output_tokens == completion.usage.completion_tokens
    assert message.usage.input_tokens == completion.usage.prompt_tokens
    over_messages = sidecar.usage_for(raw.headers["x-request-id"])
    over_chat = sidecar.usage_for(chat.headers["x-request-id"])
    assert over_messages["cost"] is not None and over_messages["cost"] == over_chat["cost"]
    assert raw.headers["x-sidecar-cost"] == chat.headers["x-sidecar-cost"]
    assert (over_messages["api"], over_chat["api"]) == ("anthropic", "openai")


def test_recorded_stream_passes_through_byte_for_byte(sidecar, emulator):
    recorded = (FIXTURES / "stream_thinking_tool_use.sse").read_text()
    emulator.behaviours("anthropic", [{"status": 200, "body": recorded}])
    body = {"model": "claude-test", "max_tokens": 5000, "stream": True,
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "messages": [{"role": "user", "content": "What's the weather in Paris?"}]}
    with httpx.Client(timeout=30) as http:
        response = http.post(sidecar.base_url + "/v1/messages", json=body,
                             headers={"x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01"})
    assert response.status_code == 200
    assert response.content == recorded.encode()
    sent = last_request(emulator, "anthropic")
    assert sent["body"] == {**body, "model": "claude-sonnet-4-20250514"}
    line = sidecar.usage_for(response.headers["x-request-id"])
    assert line["gen_ai.usage.output_tokens"] > 0 and line["usage_source"] == "provider"
    assert line["gen_ai.response.finish_reasons"] == ["tool_calls"]
