"""Claude, Gemini and DashScope's native API through the sidecar, driven by the official openai
SDK: the client must see exactly the shapes an OpenAI model gives it, streams included.

Expected texts and numbers follow the emulator's rules (README.md): one token per word.
"""

from __future__ import annotations

import base64
import json
import uuid

import openai
import pytest

WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "weather", "description": "Weather for a place",
                 "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}},
}
TIME_TOOL = {"type": "function", "function": {"name": "time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}}
# model → (emulator flavour, how the flavour names itself in replies)
NATIVE = {"claude-test": "anthropic", "gemini-test": "gemini", "qwen-native": "dashscope"}
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def request_id() -> str:
    return "native-" + uuid.uuid4().hex[:12]


def flavour_of(model: str) -> str:
    return NATIVE.get(model) or {"gpt-4o-mini": "openai", "deepseek-chat": "deepseek", "qwen-plus": "dashscope"}[model]


def stream_text(chunks) -> tuple[str, str, dict[int, dict], list[str], object]:
    content, reasoning, calls, finishes, usage = "", "", {}, [], None
    for chunk in chunks:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta
            content += delta.content or ""
            reasoning += (delta.model_extra or {}).get("reasoning_content") or ""
            for call in delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += call.id or ""
                entry["name"] += (call.function.name or "") if call.function else ""
                entry["arguments"] += (call.function.arguments or "") if call.function else ""
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    return content, reasoning, calls, finishes, usage


@pytest.mark.parametrize("model", list(NATIVE))
def test_plain_completion(sidecar, emulator, model):
    rid = request_id()
    answer = sidecar.client().chat.completions.create(
        model=model, messages=[{"role": "system", "content": "Be brief"}, {"role": "user", "content": "hi there"}],
        extra_headers={"X-Request-Id": rid})
    expected = f"Hello from the {NATIVE[model]} emulator. You said: hi there"
    assert answer.object == "chat.completion"
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == expected
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage.prompt_tokens == 4  # "Be brief" + "hi there"
    assert answer.usage.completion_tokens == len(expected.split())
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    line = sidecar.usage_for(rid)
    assert (line["gen_ai.usage.input_tokens"], line["gen_ai.usage.output_tokens"]) == (4, len(expected.split()))
    assert line["usage_source"] == "provider" and line["outcome"] == "success"


def test_keys_travel_in_each_providers_header(sidecar, emulator):
    for model in NATIVE:
        sidecar.client().chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    anthropic = emulator.requests("anthropic")[-1]
    assert anthropic["headers"]["x-api-key"] == emulator.key("anthropic")
    assert anthropic["headers"]["anthropic-version"] == "2023-06-01"
    assert anthropic["body"]["max_tokens"] == 2048, "the model's max_output_tokens is Anthropic's required max_tokens"
    gemini = emulator.requests("gemini")[-1]
    assert gemini["headers"]["x-goog-api-key"] == emulator.key("gemini")
    assert gemini["path"] == "/gemini/v1beta/models/gemini-2.5-flash:generateContent"
    dashscope = emulator.requests("dashscope")[-1]
    assert dashscope["headers"]["authorization"] == "Bearer " + emulator.key("dashscope")
    assert dashscope["path"] == "/dashscope/api/v1/services/aigc/text-generation/generation"
    assert dashscope["body"]["parameters"]["result_format"] == "message"


@pytest.mark.parametrize("model", list(NATIVE))
def test_stream_with_usage(sidecar, emulator, model):
    rid = request_id()
    chunks = list(sidecar.client().chat.completions.create(
        model=model, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "stream it"}], extra_headers={"X-Request-Id": rid}))
    content, _, _, finishes, usage = stream_text(chunks)
    expected = f"Hello from the {NATIVE[model]} emulator. You said: stream it"
    assert content == expected
    assert chunks[0].choices[0].delta.role == "assistant"
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and usage is chunks[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (2, len(expected.split()))
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert len({chunk.id for chunk in chunks}) == 1, "one id for the whole stream"
    line = sidecar.usage_for(rid)
    assert line["gen_ai.usage.output_tokens"] == len(expected.split()) and line["gen_ai.request.stream"] is True


@pytest.mark.parametrize("model", list(NATIVE))
def test_tool_round_trip(sidecar, emulator, model):
    client = sidecar.client()
    messages: list = [{"role": "user", "content": "What's the weather in Florence?"}]
    first = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    assert first.choices[0].finish_reason == "tool_calls"
    call = first.choices[0].message.tool_calls[0]
    assert call.type == "function" and call.function.name == "weather" and call.id
    assert json.loads(call.function.arguments) == {"location": "Florence, Italy"}
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "22 degrees and sunny"}]
    final = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].message.content == "The tool said: 22 degrees and sunny"
    assert final.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", ["claude-test", "gemini-test"])
def test_streamed_parallel_tool_calls(sidecar, model):
    chunks = list(sidecar.client().chat.completions.create(
        model=model, stream=True, tools=[WEATHER_TOOL, TIME_TOOL],
        messages=[{"role": "user", "content": "weather and time in parallel please"}]))
    _, _, calls, finishes, _ = stream_text(chunks)
    assert [calls[index]["name"] for index in sorted(calls)] == ["weather", "time"]
    assert json.loads(calls[0]["arguments"]) == {"location": "Florence, Italy"}
    assert json.loads(calls[1]["arguments"]) == {"zone": "Florence, Italy"}
    assert all(call["id"] for call in calls.values()) and len({call["id"] for call in calls.values()}) == 2
    assert finishes == ["tool_calls"]


def test_images_arrive_in_each_native_shape(sidecar, emulator):
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": PNG}}]
    for model in ("claude-test", "gemini-test"):
        answer = sidecar.client().chat.completions.create(model=model, messages=[{"role": "user", "content": content}])
        assert answer.choices[0].message.content.endswith("You said: What is this?")
    image = emulator.requests("anthropic")[-1]["body"]["messages"][0]["content"][1]
    assert image == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG.split(",", 1)[1]}}
    parts = emulator.requests("gemini")[-1]["body"]["contents"][0]["parts"]
    assert {"inlineData": {"mimeType": "image/png", "data": PNG.split(",", 1)[1]}} in parts
    with pytest.raises(openai.BadRequestError) as raised:
        sidecar.client().chat.completions.create(model="qwen-native", messages=[{"role": "user", "content": content}])
    assert raised.value.param == "messages[0].content[1]"


@pytest.mark.parametrize("model", list(NATIVE))
def test_json_schema_answers(sidecar, model):
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "degrees": {"type": "integer"}}, "required": ["city", "degrees"]}
    answer = sidecar.client().chat.completions.create(
        model=model, messages=[{"role": "user", "content": "weather as JSON"}],
        response_format={"type": "json_schema", "json_schema": {"name": "weather", "schema": schema}})
    assert json.loads(answer.choices[0].message.content) == {"city": "Florence, Italy", "degrees": 42}
    assert answer.choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", list(NATIVE))
def test_reasoning_is_exposed_like_deepseek(sidecar, model):
    client = sidecar.client()
    whole = client.chat.completions.create(model=model, reasoning_effort="high", messages=[{"role": "user", "content": "think deeply"}])
    assert whole.choices[0].message.model_extra["reasoning_content"] == "Thinking about: think deeply"
    # "Thinking about: think deeply" is 4 tokens; Anthropic bills thinking as output without a separate count.
    assert whole.usage.completion_tokens_details.reasoning_tokens == (0 if model == "claude-test" else 4)
    _, reasoning, _, _, _ = stream_text(client.chat.completions.create(
        model=model, stream=True, reasoning_effort="high", messages=[{"role": "user", "content": "think deeply"}]))
    assert reasoning == "Thinking about: think deeply"


def test_anthropic_cache_usage_is_priced(sidecar, emulator):
    emulator.behaviours("anthropic", [{"usage": {"prompt_tokens": 1000, "cached_tokens": 600, "cache_creation_tokens": 300, "completion_tokens": 50}}])
    rid = request_id()
    answer = sidecar.client().chat.completions.create(model="claude-test", messages=[{"role": "user", "content": "x"}], extra_headers={"X-Request-Id": rid})
    assert answer.usage.prompt_tokens == 1000
    assert answer.usage.prompt_tokens_details.cached_tokens == 600
    line = sidecar.usage_for(rid)
    assert line["gen_ai.usage.cache_read.input_tokens"] == 600
    assert line["gen_ai.usage.cache_creation.input_tokens"] == 300
    assert line["cost"] == pytest.approx((100 * 3 + 600 * 0.3 + 300 * 3.75 + 50 * 15) / 1e6)


def test_gemini_thinking_tokens_count_as_completion(sidecar, emulator):
    emulator.behaviours("gemini", [{"usage": {"prompt_tokens": 10, "completion_tokens": 30, "reasoning_tokens": 20}}])
    answer = sidecar.client().chat.completions.create(model="gemini-test", messages=[{"role": "user", "content": "x"}])
    assert answer.usage.completion_tokens == 30
    assert answer.usage.completion_tokens_details.reasoning_tokens == 20


@pytest.mark.parametrize(("model", "behaviour", "error", "status"), [
    ("claude-test", {"status": 529}, openai.InternalServerError, 503),
    ("claude-test", {"status": 429, "headers": {"retry-after": "9"}}, openai.RateLimitError, 429),
    ("gemini-test", {"status": 429}, openai.RateLimitError, 429),
    ("gemini-test", {"status": 503}, openai.InternalServerError, 503),
    ("qwen-native", {"status": 500}, openai.InternalServerError, 502),
])
def test_provider_errors_become_sdk_exceptions(sidecar, emulator, model, behaviour, error, status):
    emulator.cycle(NATIVE[model], [behaviour])  # every retry fails the same way
    with pytest.raises(error) as raised:
        sidecar.client().chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == status
    if "retry-after" in behaviour.get("headers", {}):
        assert raised.value.response.headers["retry-after"] == "9"


@pytest.mark.parametrize("model", list(NATIVE))
def test_rejected_keys_are_the_sidecars_problem(sidecar, emulator, model):
    emulator.set_key(NATIVE[model], "a-different-key")
    with pytest.raises(openai.InternalServerError) as raised:
        sidecar.client().chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 502 and raised.value.code == "upstream_authentication_failed"


@pytest.mark.parametrize("model", ["claude-test", "gemini-test"])
def test_mid_stream_errors_are_raised(sidecar, emulator, model):
    emulator.behaviours(NATIVE[model], [{"stream_error": {"type": "overloaded_error", "message": "Overloaded right now"}}])
    with pytest.raises(openai.APIError, match="Overloaded right now"):
        list(sidecar.client().chat.completions.create(model=model, stream=True, messages=[{"role": "user", "content": "x"}]))


def test_embeddings_from_gemini_and_dashscope(sidecar, emulator):
    for model in ("gemini-embedding-001", "text-embedding-v4"):
        answer = sidecar.client().embeddings.create(model=model, input=["alpha", "beta"], encoding_format="float")
        assert [item.index for item in answer.data] == [0, 1]
        assert len(answer.data[0].embedding) == 8
        decoded = sidecar.client().embeddings.create(model=model, input=["alpha", "beta"])  # the SDK asks for base64
        assert decoded.data[1].embedding == pytest.approx(answer.data[1].embedding, rel=1e-6)
    assert emulator.requests("gemini")[-1]["path"].endswith(":batchEmbedContents")


def test_every_provider_gives_the_client_the_same_shapes(sidecar):
    """Parity: the same conversation through every translated dialect yields the structure OpenAI
    itself gives (the OpenAI-family vendors are passed through as their servers answer)."""
    def shape(value):
        if isinstance(value, dict):
            return {key: shape(item) for key, item in value.items() if key not in ("system_fingerprint", "service_tier", "obfuscation", "annotations", "logprobs", "refusal", "extra_content")}
        if isinstance(value, list):
            return [shape(item) for item in value[:1]]
        return type(value).__name__ if value is not None else None

    whole, streamed = {}, {}
    for model in ["gpt-4o-mini", *NATIVE]:
        answer = sidecar.client().chat.completions.create(model=model, messages=[{"role": "user", "content": "same question"}], tools=[WEATHER_TOOL])
        body = answer.model_dump(exclude_none=True)
        body["choices"][0]["message"].pop("reasoning_content", None)
        body.pop("usage", None)
        whole[model] = shape(body)
        chunks = list(sidecar.client().chat.completions.create(model=model, stream=True, stream_options={"include_usage": True},
                                                               messages=[{"role": "user", "content": "same question"}], tools=[WEATHER_TOOL]))
        _, _, calls, finishes, usage = stream_text(chunks)
        streamed[model] = (sorted(calls[0]), json.loads(calls[0]["arguments"]), finishes, usage is not None, chunks[-1].choices == [])
    reference = whole["gpt-4o-mini"]
    for model, value in whole.items():
        assert value == reference, f"{model} differs from OpenAI"
        assert streamed[model] == streamed["gpt-4o-mini"], f"{model} streams differ from OpenAI"
