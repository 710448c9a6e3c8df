"""The emulator speaks the real wire formats: the official SDKs parse every answer.

The tests drive the emulator directly (no sidecar) with `openai`, `anthropic`
and `google-genai`, and with raw HTTP for the DashScope native API, which has
no installed SDK. Numbers follow the deterministic rules in README.md
(one token per whitespace-separated word). The last section compares the
emulator's output with the recorded payloads in Tests/TestSupport/Fixtures
(the repository's copy of shared/protocols).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

if TYPE_CHECKING:
    from conftest import Emulator

SYSTEM = "You are terse."  # 3 tokens
USER = "Say hi in Portuguese"  # 4 tokens
REPLY_TOKENS = 11  # "Hello from the <flavour> emulator. You said: Say hi in Portuguese"
ARGS = {"location": "Florence, Italy"}  # compact JSON '{"location":"Florence, Italy"}' = 2 tokens
TOOL_QUESTION = "What's the weather in Florence?"  # 5 tokens
PARALLEL_QUESTION = "Add and multiply 2 and 3 in parallel"

WEATHER = {"type": "function", "function": {
    "name": "weather", "description": "Get weather information for a location",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}
ARITHMETIC = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
              "required": ["a", "b"]}
ADD = {"type": "function", "function": {"name": "add", "parameters": ARITHMETIC}}
MULTIPLY = {"type": "function", "function": {"name": "multiply", "parameters": ARITHMETIC}}
BOOK_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "author": {"type": "object", "properties": {"name": {"type": "string"}, "nationality": {"type": "string"}},
                   "required": ["name", "nationality"], "additionalProperties": False},
        "genres": {"type": "array", "items": {"type": "string"}},
        "published_year": {"type": "integer"},
        "title": {"type": "string"},
    },
    "required": ["title", "author", "genres", "published_year"],
}
BOOK = {"title": "Florence, Italy", "author": {"name": "Florence, Italy", "nationality": "Florence, Italy"},
        "genres": ["Florence, Italy"], "published_year": 42}

ANTHROPIC_MODEL = "claude-sonnet-4-20250514"
ANTHROPIC_WEATHER = {"name": "weather", "description": "Get weather information for a location",
                     "input_schema": WEATHER["function"]["parameters"]}
GEMINI_MODEL = "gemini-2.5-flash"
GEMINI_WEATHER = types.FunctionDeclaration(
    name="weather", description="Get weather information for a location",
    parameters=types.Schema(type="OBJECT", properties={"location": types.Schema(type="STRING")},
                            required=["location"]))
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)

OPENAI_FAMILY = ["openai", "deepseek", "dashscope", "custom"]
MODELS = {"openai": "gpt-4o", "deepseek": "deepseek-chat", "dashscope": "qwen-plus", "custom": "custom-model"}
# The recorded payloads of shared/protocols, as copied into the repository.
FIXTURES = Path(__file__).resolve().parents[1] / "TestSupport" / "Fixtures"


def plain(flavour: str, said: str = USER) -> str:
    return f"Hello from the {flavour} emulator. You said: {said}"


def chat_messages() -> list[dict[str, Any]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]


def tool_result_messages() -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": TOOL_QUESTION},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "weather", "arguments": json.dumps(ARGS, separators=(",", ":"))}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "40 C"},
    ]


def oai(emulator: Emulator, flavour: str = "openai", **options: Any) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=emulator.base_url(flavour), api_key=emulator.key(flavour), **options)


def claude(emulator: Emulator, **options: Any) -> anthropic.Anthropic:
    options.setdefault("max_retries", 0)
    return anthropic.Anthropic(base_url=emulator.base_url("anthropic"), api_key=emulator.key("anthropic"), **options)


def gemini_client(emulator: Emulator, api_key: str | None = None) -> genai.Client:
    return _gemini_client(emulator.base_url("gemini"), api_key or emulator.key("gemini"))


@functools.cache
def _gemini_client(base_url: str, api_key: str) -> genai.Client:
    # Kept alive: a genai.Client closes its HTTP client when it is garbage-collected,
    # even while a call made through its `.models` is still running.
    return genai.Client(api_key=api_key, http_options=types.HttpOptions(
        base_url=base_url, retry_options=types.HttpRetryOptions(attempts=1)))


def sse_frames(raw: str, separator: str = "\n\n") -> list[str]:
    return [frame for frame in raw.split(separator) if frame]


def sse_data(raw: str, separator: str = "\n\n") -> list[Any]:
    """The JSON `data:` payloads of an SSE body (`[DONE]` dropped)."""
    payloads = []
    for frame in sse_frames(raw, separator):
        for line in frame.split("\n"):
            line = line.rstrip("\r")
            if line.startswith("data:") and line[5:].strip() != "[DONE]":
                payloads.append(json.loads(line[5:]))
    return payloads


# --- OpenAI Chat Completions and its dialects --------------------------------------------------


@pytest.mark.parametrize("flavour", OPENAI_FAMILY)
def test_openai_family_plain_chat(emulator: Emulator, flavour: str) -> None:
    completion = oai(emulator, flavour).chat.completions.create(model=MODELS[flavour], messages=chat_messages())

    assert completion.model == MODELS[flavour]
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, "stop", "assistant")
    assert choice.message.content == plain(flavour)
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (7, 11, 18)
    if flavour == "deepseek":
        assert (usage.model_extra["prompt_cache_hit_tokens"], usage.model_extra["prompt_cache_miss_tokens"]) == (0, 7)
        assert completion.id.count("-") == 4  # a bare UUID
    elif flavour == "dashscope":
        assert usage.prompt_tokens_details is None and completion.system_fingerprint is None
    else:
        assert usage.prompt_tokens_details.cached_tokens == 0
        assert usage.completion_tokens_details.reasoning_tokens == 0
        assert completion.id.startswith("chatcmpl-") and completion.service_tier == "default"
    request = emulator.requests(flavour)[-1]
    assert request["headers"]["authorization"] == f"Bearer {emulator.key(flavour)}"
    assert request["body"]["messages"][1] == {"role": "user", "content": USER}


def test_empty_user_text_gets_the_first_sentence_only(emulator: Emulator) -> None:
    completion = oai(emulator).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": ""}])

    assert completion.choices[0].message.content == "Hello from the openai emulator."
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (0, 5)


@pytest.mark.parametrize("flavour", OPENAI_FAMILY)
def test_openai_family_stream_without_include_usage(emulator: Emulator, flavour: str) -> None:
    chunks = list(oai(emulator, flavour).chat.completions.create(
        model=MODELS[flavour], messages=chat_messages(), stream=True))

    text_chunks = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(text_chunks) == plain(flavour)
    assert len(text_chunks) == REPLY_TOKENS
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.choices for c in chunks), "no usage-only chunk without include_usage"
    finish = chunks[-1]
    assert finish.choices[0].finish_reason == "stop"
    if flavour == "deepseek":  # DeepSeek always puts usage on the finish chunk
        assert (finish.usage.prompt_tokens, finish.usage.completion_tokens, finish.usage.total_tokens) == (7, 11, 18)
        assert all(c.usage is None for c in chunks[:-1])
    else:
        assert all(c.usage is None for c in chunks)


@pytest.mark.parametrize("flavour", OPENAI_FAMILY)
def test_openai_family_stream_with_include_usage(emulator: Emulator, flavour: str) -> None:
    client = oai(emulator, flavour)
    raw = client.chat.completions.with_raw_response.create(
        model=MODELS[flavour], messages=chat_messages(), stream=True, stream_options={"include_usage": True})
    chunks = list(raw.parse())

    assert raw.headers["content-type"].startswith("text/event-stream")

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == plain(flavour)
    last = chunks[-1]
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (7, 11, 18)
    assert all(c.usage is None for c in chunks[:-1])
    if flavour == "deepseek":
        assert last.choices[0].finish_reason == "stop"
    else:
        assert last.choices == [] and chunks[-2].choices[0].finish_reason == "stop"
        assert all("usage" in c.model_fields_set for c in chunks), '"usage": null on every chunk'


@pytest.mark.parametrize("flavour", OPENAI_FAMILY)
def test_openai_family_tool_call(emulator: Emulator, flavour: str) -> None:
    completion = oai(emulator, flavour).chat.completions.create(
        model=MODELS[flavour], messages=[{"role": "user", "content": TOOL_QUESTION}], tools=[WEATHER])

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert (call.type, call.function.name) == ("function", "weather")
    assert json.loads(call.function.arguments) == ARGS
    assert call.id.startswith("call_00_" if flavour == "deepseek" else "call_")
    assert choice.message.content == (None if flavour in ("openai", "custom") else "")
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (5, 2)


@pytest.mark.parametrize("flavour", OPENAI_FAMILY)
def test_openai_family_parallel_tool_calls_stream(emulator: Emulator, flavour: str) -> None:
    stream = oai(emulator, flavour).chat.completions.create(
        model=MODELS[flavour], messages=[{"role": "user", "content": PARALLEL_QUESTION}], tools=[ADD, MULTIPLY],
        stream=True, stream_options={"include_usage": True})

    calls: dict[int, dict[str, str]] = {}
    finish_reasons = []
    usage = None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            finish_reasons.append(choice.finish_reason)
            for delta in choice.delta.tool_calls or []:
                entry = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += delta.id or ""
                entry["name"] += (delta.function.name or "") if delta.function else ""
                entry["arguments"] += (delta.function.arguments or "") if delta.function else ""
    assert [calls[i]["name"] for i in sorted(calls)] == ["add", "multiply"]
    assert [json.loads(calls[i]["arguments"]) for i in sorted(calls)] == [{"a": 42, "b": 42}] * 2
    assert calls[0]["id"] != calls[1]["id"]
    assert finish_reasons[-1] == "tool_calls"
    assert usage.completion_tokens == 2  # '{"a":42,"b":42}' is one word per call


def test_openai_parallel_tool_calls_false_calls_one_tool(emulator: Emulator) -> None:
    completion = oai(emulator).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": PARALLEL_QUESTION}], tools=[ADD, MULTIPLY],
        parallel_tool_calls=False)

    assert [c.function.name for c in completion.choices[0].message.tool_calls] == ["add"]


def test_openai_forced_and_disabled_tool_choice(emulator: Emulator) -> None:
    client = oai(emulator)
    question = [{"role": "user", "content": PARALLEL_QUESTION}]
    forced = client.chat.completions.create(model="gpt-4o", messages=question, tools=[ADD, MULTIPLY],
                                            tool_choice={"type": "function", "function": {"name": "multiply"}})
    disabled = client.chat.completions.create(model="gpt-4o", messages=question, tools=[ADD], tool_choice="none")

    assert [c.function.name for c in forced.choices[0].message.tool_calls] == ["multiply"]
    assert disabled.choices[0].message.tool_calls is None
    assert disabled.choices[0].message.content == plain("openai", PARALLEL_QUESTION)


@pytest.mark.parametrize("flavour", OPENAI_FAMILY)
def test_openai_family_tool_result_reply(emulator: Emulator, flavour: str) -> None:
    completion = oai(emulator, flavour).chat.completions.create(
        model=MODELS[flavour], messages=tool_result_messages(), tools=[WEATHER])

    assert completion.choices[0].message.content == "The tool said: 40 C"
    assert completion.choices[0].finish_reason == "stop"
    # 5 (question) + 1 (tool name) + 2 (arguments) + 2 (result); reply: 5 words
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 5)


def test_deepseek_reasoner_reasoning_content(emulator: Emulator) -> None:
    completion = oai(emulator, "deepseek").chat.completions.create(
        model="deepseek-reasoner", messages=chat_messages())

    message = completion.choices[0].message
    assert message.model_extra["reasoning_content"] == f"Thinking about: {USER}"
    assert message.content == plain("deepseek")
    usage = completion.usage
    assert usage.completion_tokens_details.reasoning_tokens == 6
    assert (usage.completion_tokens, usage.total_tokens) == (17, 24)


def test_deepseek_thinking_enabled_stream_deltas(emulator: Emulator) -> None:
    chunks = list(oai(emulator, "deepseek").chat.completions.create(
        model="deepseek-chat", messages=chat_messages(), stream=True, extra_body={"thinking": {"type": "enabled"}}))

    deltas = [c.choices[0].delta for c in chunks]
    assert deltas[0].model_extra == {"reasoning_content": ""} and deltas[0].content is None
    reasoning = "".join(d.model_extra.get("reasoning_content") or "" for d in deltas)
    assert reasoning == f"Thinking about: {USER}"
    assert "".join(d.content or "" for d in deltas) == plain("deepseek")
    first_text = next(i for i, d in enumerate(deltas) if d.content)
    assert all(d.model_extra.get("reasoning_content") is None for d in deltas[first_text:])
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == 6


def test_dashscope_enable_thinking(emulator: Emulator) -> None:
    client = oai(emulator, "dashscope")
    completion = client.chat.completions.create(model="qwen-plus", messages=chat_messages(),
                                                extra_body={"enable_thinking": True})
    chunks = list(client.chat.completions.create(model="qwen-plus", messages=chat_messages(), stream=True,
                                                 stream_options={"include_usage": True},
                                                 extra_body={"enable_thinking": True}))

    assert completion.choices[0].message.model_extra["reasoning_content"] == f"Thinking about: {USER}"
    assert completion.usage.completion_tokens_details.reasoning_tokens == 6
    assert completion.usage.completion_tokens == 17
    streamed = "".join(c.choices[0].delta.model_extra.get("reasoning_content") or "" for c in chunks if c.choices)
    assert streamed == f"Thinking about: {USER}"
    assert chunks[-1].usage.completion_tokens == 17


def test_openai_o_series_reports_reasoning_tokens(emulator: Emulator) -> None:
    client = oai(emulator)
    emulator.behaviours("openai", [{"usage": {"completion_tokens": 84, "reasoning_tokens": 64}}])
    overridden = client.chat.completions.create(model="o4-mini", messages=chat_messages())
    default = client.chat.completions.create(model="o4-mini", messages=chat_messages())

    assert overridden.usage.completion_tokens_details.reasoning_tokens == 64
    assert (overridden.usage.completion_tokens, overridden.usage.total_tokens) == (84, 91)
    assert default.usage.completion_tokens_details.reasoning_tokens == 0
    assert "reasoning_content" not in default.choices[0].message.model_extra


@pytest.mark.parametrize("flavour", OPENAI_FAMILY)
def test_openai_family_json_response_formats(emulator: Emulator, flavour: str) -> None:
    client = oai(emulator, flavour)
    schema = client.chat.completions.create(
        model=MODELS[flavour], messages=chat_messages(),
        response_format={"type": "json_schema", "json_schema": {"name": "Book", "strict": True,
                                                                "schema": BOOK_SCHEMA}})
    loose = client.chat.completions.create(model=MODELS[flavour], messages=chat_messages(),
                                           response_format={"type": "json_object"})

    assert json.loads(schema.choices[0].message.content) == BOOK
    assert json.loads(loose.choices[0].message.content) == {"message": plain(flavour)}


def test_openai_n_choices(emulator: Emulator) -> None:
    completion = oai(emulator).chat.completions.create(model="gpt-4o", messages=chat_messages(), n=3)

    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert {c.message.content for c in completion.choices} == {plain("openai")}
    assert completion.usage.completion_tokens == 3 * REPLY_TOKENS


@pytest.mark.parametrize("flavour", OPENAI_FAMILY)
def test_openai_family_max_tokens_truncates(emulator: Emulator, flavour: str) -> None:
    completion = oai(emulator, flavour).chat.completions.create(model=MODELS[flavour], messages=chat_messages(),
                                                                max_tokens=3)

    assert completion.choices[0].message.content == "Hello from the"
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage.completion_tokens == 3


@pytest.mark.parametrize("flavour", ["openai", "dashscope", "custom"])
def test_openai_family_embeddings_float_and_base64(emulator: Emulator, flavour: str) -> None:
    client = oai(emulator, flavour)
    floats = client.embeddings.create(model="text-embedding-3-small", input=["one two three", "four"],
                                      encoding_format="float")
    decoded = client.embeddings.create(model="text-embedding-3-small", input=["one two three", "four"])
    small = client.embeddings.create(model="text-embedding-3-small", input="one two three", dimensions=3,
                                     encoding_format="float")

    assert emulator.requests(flavour)[1]["body"]["encoding_format"] == "base64"  # the SDK's default
    assert [d.index for d in floats.data] == [0, 1]
    assert all(len(d.embedding) == 8 and all(-1 <= v <= 1 for v in d.embedding) for d in floats.data)
    for left, right in zip(floats.data, decoded.data, strict=True):
        assert right.embedding == pytest.approx(left.embedding, abs=1e-6)
    assert floats.data[0].embedding != floats.data[1].embedding
    assert small.data[0].embedding == floats.data[0].embedding[:3]
    assert (floats.usage.prompt_tokens, floats.usage.total_tokens) == (4, 4)


def test_openai_models_list_retrieve_delete(emulator: Emulator) -> None:
    client = oai(emulator)
    listed = [m.id for m in client.models.list()]
    model = client.models.retrieve("gpt-4o")
    deleted = client.models.delete("ft:gpt-4o-mini:acme:suffix:abc123")

    assert listed == ["gpt-4o", "gpt-4o-mini", "o4-mini", "text-embedding-3-small"]
    assert (model.id, model.object, model.owned_by) == ("gpt-4o", "model", "system")
    assert (deleted.id, deleted.deleted) == ("ft:gpt-4o-mini:acme:suffix:abc123", True)
    assert [m.id for m in oai(emulator, "deepseek").models.list()] == ["deepseek-chat", "deepseek-reasoner"]
    assert [m.owned_by for m in oai(emulator, "custom").models.list()] == ["vllm"]


def test_openai_stored_completions(emulator: Emulator) -> None:
    client = oai(emulator)
    stored = client.chat.completions.retrieve("chatcmpl-abc")
    updated = client.chat.completions.update("chatcmpl-abc", metadata={"team": "e2e"})
    listed = client.chat.completions.list()
    messages = client.chat.completions.messages.list("chatcmpl-abc")
    deleted = client.chat.completions.delete("chatcmpl-abc")

    assert (stored.id, stored.choices[0].message.content) == ("chatcmpl-abc", "Hello from the openai emulator.")
    assert updated.metadata == {"team": "e2e"}
    assert [c.id for c in listed] == ["chatcmpl-stored0"]
    assert [m.id for m in messages] == ["chatcmpl-abc-0"]
    assert (deleted.id, deleted.deleted, deleted.object) == ("chatcmpl-abc", True, "chat.completion.deleted")


@pytest.mark.parametrize("flavour", ["openai", "deepseek", "dashscope"])
def test_openai_family_wrong_key_is_authentication_error(emulator: Emulator, flavour: str) -> None:
    client = openai.OpenAI(base_url=emulator.base_url(flavour), api_key="sk-wrong-1234", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model=MODELS[flavour], messages=chat_messages())

    error = caught.value
    assert error.status_code == 401
    if flavour == "deepseek":
        assert error.body["message"] == "Authentication Fails, Your api key: ****1234 is invalid"
        assert error.body["type"] == "authentication_error"
    else:
        assert error.body["code"] == "invalid_api_key" and error.body["type"] == "invalid_request_error"
    if flavour == "dashscope":
        assert len(error.response.json()["request_id"]) == 36


def test_custom_flavour_needs_no_key(emulator: Emulator) -> None:
    client = openai.OpenAI(base_url=emulator.base_url("custom"), api_key="anything", max_retries=0)

    assert client.chat.completions.create(model="m", messages=chat_messages()).choices[0].message.content == \
        plain("custom")


def test_openai_rate_limit_retry_after_is_honoured(emulator: Emulator) -> None:
    emulator.behaviours("openai", [{"status": 429, "headers": {"retry-after": "1"}}])
    started = time.monotonic()
    completion = oai(emulator, max_retries=1).chat.completions.create(model="gpt-4o", messages=chat_messages())

    assert completion.choices[0].message.content == plain("openai")
    assert time.monotonic() - started >= 0.9
    assert [r["headers"]["x-stainless-retry-count"] for r in emulator.requests("openai")] == ["0", "1"]


def test_openai_rate_limit_without_retries(emulator: Emulator) -> None:
    emulator.behaviours("openai", [{"status": 429, "headers": {"retry-after": "7"}}])
    with pytest.raises(openai.RateLimitError) as caught:
        oai(emulator).chat.completions.create(model="gpt-4o", messages=chat_messages())

    assert caught.value.response.headers["retry-after"] == "7"
    assert (caught.value.body["type"], caught.value.body["code"]) == ("tokens", "rate_limit_exceeded")


def test_openai_server_and_request_errors(emulator: Emulator) -> None:
    client = oai(emulator)
    emulator.behaviours("openai", [{"status": 500}, {"status": 503, "body": {"error": {"message": "custom"}}}])
    with pytest.raises(openai.InternalServerError) as server_error:
        client.chat.completions.create(model="gpt-4o", messages=chat_messages())
    with pytest.raises(openai.InternalServerError) as overloaded:
        client.chat.completions.create(model="gpt-4o", messages=chat_messages())
    with pytest.raises(openai.BadRequestError) as bad_request:
        client.chat.completions.create(model="gpt-4o", messages=[])

    assert server_error.value.body["type"] == "server_error"
    assert (overloaded.value.status_code, overloaded.value.message) == (503, "Error code: 503 - custom")
    assert bad_request.value.body == {"message": "Missing required parameter: 'messages'.",
                                      "type": "invalid_request_error", "param": "messages", "code": None}


def test_status_with_a_raw_text_body(emulator: Emulator) -> None:
    emulator.behaviours("openai", [{"status": 502, "body": "<html>Bad Gateway</html>",
                                    "headers": {"x-upstream": "edge"}}])
    with pytest.raises(openai.APIStatusError) as caught:
        oai(emulator).chat.completions.create(model="gpt-4o", messages=chat_messages())

    response = caught.value.response
    assert (response.status_code, response.text) == (502, "<html>Bad Gateway</html>")
    assert response.headers["content-type"].startswith("text/plain") and response.headers["x-upstream"] == "edge"


def test_openai_invalid_json_body_is_400_in_openai_shape(emulator: Emulator) -> None:
    response = httpx2.post(emulator.base_url("openai") + "/chat/completions", content=b"{not json",
                           headers={"Authorization": "Bearer " + emulator.key("openai"), "Content-Type": "application/json"})

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_deepseek_insufficient_balance(emulator: Emulator) -> None:
    emulator.behaviours("deepseek", [{"status": 402}])
    with pytest.raises(openai.APIStatusError) as caught:
        oai(emulator, "deepseek").chat.completions.create(model="deepseek-chat", messages=chat_messages())

    assert caught.value.status_code == 402
    assert caught.value.body == {"message": "Insufficient Balance", "type": "unknown_error", "param": None,
                                 "code": "invalid_request_error"}


# --- behaviours: transport faults, overrides ---------------------------------------------------


def test_reset_and_reset_after_chunks_break_the_connection(emulator: Emulator) -> None:
    client = oai(emulator)
    emulator.behaviours("openai", [{"reset": True}, {"reset_after_chunks": 3}, {"reset_after_chunks": 1}])
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o", messages=chat_messages())
    received = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in client.chat.completions.create(model="gpt-4o", messages=chat_messages(), stream=True):
            received.append(chunk)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o", messages=chat_messages())  # half a body, then reset

    assert len(received) == 3


def test_hangs_time_out(emulator: Emulator) -> None:
    client = oai(emulator, timeout=0.5)
    emulator.behaviours("openai", [{"hang_before_headers_s": 3}, {"hang_after_chunks": 2, "hang_s": 3}])
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o", messages=chat_messages())
    received = []
    with pytest.raises(openai.APITimeoutError):
        for chunk in client.chat.completions.create(model="gpt-4o", messages=chat_messages(), stream=True):
            received.append(chunk)

    assert len(received) == 2


def test_garbage_bodies_and_events(emulator: Emulator) -> None:
    client = oai(emulator)
    emulator.behaviours("openai", [{"garbage": True}, {"garbage": True}])
    with pytest.raises(json.JSONDecodeError):
        client.chat.completions.create(model="gpt-4o", messages=chat_messages())
    received = []
    with pytest.raises(json.JSONDecodeError):
        for chunk in client.chat.completions.create(model="gpt-4o", messages=chat_messages(), stream=True):
            received.append(chunk)

    assert len(received) == 1


def test_in_stream_errors_per_provider(emulator: Emulator) -> None:
    emulator.behaviours("openai", [{"stream_error": {"type": "server_error", "message": "boom"}}])
    emulator.behaviours("anthropic", [{"stream_error": {}}])
    emulator.behaviours("gemini", [{"stream_error": {"type": "UNAVAILABLE", "message": "busy"}}])
    with pytest.raises(openai.APIError, match="boom"):
        list(oai(emulator).chat.completions.create(model="gpt-4o", messages=chat_messages(), stream=True))
    with pytest.raises(anthropic.APIStatusError) as anthropic_error, claude(emulator).messages.stream(
            model=ANTHROPIC_MODEL, max_tokens=64, messages=[{"role": "user", "content": USER}]) as stream:
        stream.until_done()
    with pytest.raises(genai_errors.ServerError) as gemini_error:
        list(gemini_client(emulator).models.generate_content_stream(model=GEMINI_MODEL, contents=USER))

    assert anthropic_error.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert (gemini_error.value.code, gemini_error.value.status, gemini_error.value.message) == (
        503, "UNAVAILABLE", "busy")


def test_reply_usage_and_no_usage_overrides(emulator: Emulator) -> None:
    client = oai(emulator)
    emulator.behaviours("openai", [
        {"reply": "Custom words here", "usage": {"prompt_tokens": 100, "cached_tokens": 40,
                                                  "cache_creation_tokens": 5}},
        {"no_usage": True}, {"no_usage": True}])
    custom = client.chat.completions.create(model="gpt-4o", messages=chat_messages())
    bare = client.chat.completions.create(model="gpt-4o", messages=chat_messages())
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=chat_messages(), stream=True,
                                                 stream_options={"include_usage": True}))

    assert custom.choices[0].message.content == "Custom words here"
    assert (custom.usage.prompt_tokens, custom.usage.completion_tokens, custom.usage.total_tokens) == (100, 3, 103)
    assert custom.usage.prompt_tokens_details.cached_tokens == 40
    assert custom.usage.prompt_tokens_details.cache_write_tokens == 5
    assert bare.usage is None
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)


def test_deepseek_cache_usage_override(emulator: Emulator) -> None:
    emulator.behaviours("deepseek", [{"usage": {"cached_tokens": 5}}])
    usage = oai(emulator, "deepseek").chat.completions.create(model="deepseek-chat", messages=chat_messages()).usage

    assert usage.prompt_tokens_details.cached_tokens == 5
    assert (usage.model_extra["prompt_cache_hit_tokens"], usage.model_extra["prompt_cache_miss_tokens"]) == (5, 2)


def test_chunk_delays(emulator: Emulator) -> None:
    client = oai(emulator)
    emulator.behaviours("openai", [{"first_chunk_delay_ms": 400}, {"chunk_delay_ms": 40}])
    started = time.monotonic()
    with client.chat.completions.create(model="gpt-4o", messages=chat_messages(), stream=True) as stream:
        next(iter(stream))
        first_chunk_after = time.monotonic() - started
    started = time.monotonic()
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=chat_messages(), stream=True))
    paced = time.monotonic() - started

    assert first_chunk_after >= 0.38
    assert len(chunks) == 13 and paced >= 13 * 0.04 * 0.9  # 13 chunks + [DONE]: 13 gaps


def test_behaviour_queue_is_fifo_per_flavour(emulator: Emulator) -> None:
    client = oai(emulator)
    emulator.behaviours("openai", [{"reply": "first"}, {"reply": "second"}])
    emulator.behaviours("deepseek", [{"reply": "other flavour"}])
    client.models.list()  # listings do not consume behaviours
    answers = [client.chat.completions.create(model="gpt-4o", messages=chat_messages()).choices[0].message.content
               for _ in range(3)]

    assert answers == ["first", "second", plain("openai")]


def test_request_log_and_control_api(emulator: Emulator) -> None:
    oai(emulator).chat.completions.create(model="gpt-4o", messages=chat_messages(), extra_query={"q": "1"})
    gemini_client(emulator).models.generate_content(model=GEMINI_MODEL, contents=USER)
    (record,) = emulator.requests("openai")
    everything = emulator.requests()

    assert (record["flavour"], record["method"], record["path"]) == ("openai", "POST", "/openai/v1/chat/completions")
    assert record["query"] == {"q": "1"}
    assert record["headers"]["content-type"] == "application/json"
    assert record["body"] == {"model": "gpt-4o", "messages": chat_messages()}
    assert isinstance(record["received_at"], float)
    assert [r["flavour"] for r in everything] == ["openai", "gemini"]

    control = emulator.url + "/_emulator"
    assert httpx2.get(control + "/health").json() == {"status": "ok"}
    rejected = httpx2.post(control + "/behaviours", json={"flavour": "openai", "behaviours": [{"stauts": 500}]})
    assert rejected.status_code == 400 and "stauts" in rejected.json()["error"]
    assert httpx2.post(control + "/behaviours", json={"flavour": "nope", "behaviours": []}).status_code == 400

    emulator.set_key("openai", "rotated")
    with pytest.raises(openai.AuthenticationError):
        oai(emulator).chat.completions.create(model="gpt-4o", messages=chat_messages())
    rotated = openai.OpenAI(base_url=emulator.base_url("openai"), api_key="rotated", max_retries=0)
    assert rotated.chat.completions.create(model="gpt-4o", messages=chat_messages()).choices[0].finish_reason == "stop"
    emulator.reset()
    assert emulator.requests() == []
    assert oai(emulator).chat.completions.create(model="gpt-4o", messages=chat_messages()).choices


def test_many_concurrent_streams(emulator: Emulator) -> None:
    async def scenario() -> tuple[list[str], float]:
        client = openai.AsyncOpenAI(base_url=emulator.base_url("openai"), api_key=emulator.key("openai"),
                                    max_retries=0)
        emulator.behaviours("openai", [{"chunk_delay_ms": 25}] * 120)

        async def one(index: int) -> str:
            stream = await client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": f"request {index}"}], stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

        started = time.monotonic()
        texts = await asyncio.gather(*(one(i) for i in range(120)))
        elapsed = time.monotonic() - started
        await client.close()
        return texts, elapsed

    texts, elapsed = asyncio.run(scenario())

    assert texts == [plain("openai", f"request {i}") for i in range(120)]
    assert elapsed < 8, f"120 streams of ~0.3 s each took {elapsed:.1f} s: the emulator serialises requests"


def test_stalled_stream_does_not_block_other_requests(emulator: Emulator) -> None:
    async def scenario() -> float:
        client = openai.AsyncOpenAI(base_url=emulator.base_url("openai"), api_key=emulator.key("openai"),
                                    max_retries=0)
        emulator.behaviours("openai", [{"hang_after_chunks": 2, "hang_s": 30}])
        stalled = await client.chat.completions.create(model="gpt-4o", messages=chat_messages(), stream=True)
        await stalled.__anext__()
        started = time.monotonic()
        other = await client.chat.completions.create(model="gpt-4o", messages=chat_messages())
        elapsed = time.monotonic() - started
        assert other.choices[0].message.content == plain("openai")
        await stalled.close()
        await client.close()
        return elapsed

    assert asyncio.run(scenario()) < 1.0


# --- Anthropic Messages --------------------------------------------------------------------------

def test_anthropic_plain_message(emulator: Emulator) -> None:
    message = claude(emulator).messages.create(model=ANTHROPIC_MODEL, max_tokens=1024, system=SYSTEM,
                                               messages=[{"role": "user", "content": USER}])

    assert message.id.startswith("msg_") and message.role == "assistant" and message.model == ANTHROPIC_MODEL
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == plain("anthropic")
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (7, 11)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (0, 0)
    request = emulator.requests("anthropic")[-1]
    assert request["headers"]["anthropic-version"]
    assert request["body"]["system"] == SYSTEM


def test_anthropic_tool_use_and_parallel(emulator: Emulator) -> None:
    client = claude(emulator)
    single = client.messages.create(model=ANTHROPIC_MODEL, max_tokens=1024, tools=[ANTHROPIC_WEATHER],
                                    messages=[{"role": "user", "content": TOOL_QUESTION}])
    arithmetic = [{"name": t["function"]["name"], "input_schema": ARITHMETIC} for t in (ADD, MULTIPLY)]
    parallel = client.messages.create(model=ANTHROPIC_MODEL, max_tokens=1024, tools=arithmetic,
                                      messages=[{"role": "user", "content": PARALLEL_QUESTION}])
    serial = client.messages.create(model=ANTHROPIC_MODEL, max_tokens=1024, tools=arithmetic,
                                    tool_choice={"type": "auto", "disable_parallel_tool_use": True},
                                    messages=[{"role": "user", "content": PARALLEL_QUESTION}])

    (block,) = single.content
    assert (block.type, block.name, block.input) == ("tool_use", "weather", ARGS)
    assert block.id.startswith("toolu_")
    assert (single.stop_reason, single.usage.output_tokens) == ("tool_use", 2)
    assert [(b.name, b.input) for b in parallel.content] == [("add", {"a": 42, "b": 42}),
                                                             ("multiply", {"a": 42, "b": 42})]
    assert [b.name for b in serial.content] == ["add"]


def test_anthropic_tool_result_reply(emulator: Emulator) -> None:
    message = claude(emulator).messages.create(model=ANTHROPIC_MODEL, max_tokens=1024, tools=[ANTHROPIC_WEATHER],
                                               messages=[
        {"role": "user", "content": TOOL_QUESTION},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "weather", "input": ARGS}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": [{"type": "text", "text": "40 C"}]}]},
    ])

    assert message.content[0].text == "The tool said: 40 C"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (10, 5)


def test_anthropic_thinking(emulator: Emulator) -> None:
    message = claude(emulator).messages.create(model=ANTHROPIC_MODEL, max_tokens=2048,
                                               thinking={"type": "enabled", "budget_tokens": 1024},
                                               messages=[{"role": "user", "content": USER}])

    thinking, text = message.content
    assert (thinking.type, thinking.thinking) == ("thinking", f"Thinking about: {USER}")
    assert len(thinking.signature) > 40
    assert text.text == plain("anthropic")
    assert message.usage.output_tokens == 17


def test_anthropic_stream_text(emulator: Emulator) -> None:
    with claude(emulator).messages.stream(model=ANTHROPIC_MODEL, max_tokens=1024, system=SYSTEM,
                                          messages=[{"role": "user", "content": USER}]) as stream:
        events = list(stream)
        final = stream.get_final_message()

    assert "".join(e.text for e in events if e.type == "text") == plain("anthropic")
    assert len([e for e in events if e.type == "text"]) == REPLY_TOKENS
    assert [e.type for e in events[:2]] == ["message_start", "content_block_start"]
    assert final.content[0].text == plain("anthropic")
    assert (final.usage.input_tokens, final.usage.output_tokens, final.stop_reason) == (7, 11, "end_turn")


def test_anthropic_stream_thinking_and_tool_use(emulator: Emulator) -> None:
    with claude(emulator).messages.stream(model=ANTHROPIC_MODEL, max_tokens=2048, tools=[ANTHROPIC_WEATHER],
                                          thinking={"type": "enabled", "budget_tokens": 1024},
                                          messages=[{"role": "user", "content": TOOL_QUESTION}]) as stream:
        events = list(stream)
        final = stream.get_final_message()

    assert "".join(e.thinking for e in events if e.type == "thinking") == f"Thinking about: {TOOL_QUESTION}"
    assert len([e for e in events if e.type == "signature"]) == 1
    partial = "".join(e.partial_json for e in events if e.type == "input_json")
    assert json.loads(partial) == ARGS
    assert [b.type for b in final.content] == ["thinking", "tool_use"]
    assert final.content[1].input == ARGS
    assert (final.stop_reason, final.usage.output_tokens) == ("tool_use", 2 + 7)


def test_anthropic_cache_usage_override(emulator: Emulator) -> None:
    emulator.behaviours("anthropic", [{"usage": {"prompt_tokens": 20, "cached_tokens": 5,
                                                 "cache_creation_tokens": 3}}] * 2)
    client = claude(emulator)
    message = client.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=[{"role": "user", "content": USER}])
    with client.messages.stream(model=ANTHROPIC_MODEL, max_tokens=64,
                                messages=[{"role": "user", "content": USER}]) as stream:
        streamed = stream.get_final_message()

    for usage in (message.usage, streamed.usage):
        assert (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (12, 5, 3)
    assert message.usage.cache_creation.ephemeral_5m_input_tokens == 3


def test_anthropic_errors(emulator: Emulator) -> None:
    client = claude(emulator)
    emulator.behaviours("anthropic", [{"status": 529}, {"status": 429, "headers": {"retry-after": "3"}}])
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        client.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=[{"role": "user", "content": USER}])
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=[{"role": "user", "content": USER}])
    wrong = anthropic.Anthropic(base_url=emulator.base_url("anthropic"), api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as unauthorised:
        wrong.messages.create(model=ANTHROPIC_MODEL, max_tokens=64, messages=[{"role": "user", "content": USER}])

    assert isinstance(overloaded.value, anthropic.OverloadedError) and overloaded.value.status_code == 529
    assert overloaded.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert limited.value.body["error"]["type"] == "rate_limit_error"
    assert unauthorised.value.body["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}


def test_anthropic_raw_validation_and_x_api_key(emulator: Emulator) -> None:
    url = emulator.base_url("anthropic") + "/v1/messages"
    headers = {"x-api-key": emulator.key("anthropic"), "anthropic-version": "2023-06-01"}
    ok = httpx2.post(url, headers=headers, json={"model": ANTHROPIC_MODEL, "max_tokens": 100,
                                                 "messages": [{"role": "user", "content": USER}]})
    no_max_tokens = httpx2.post(url, headers=headers, json={"model": ANTHROPIC_MODEL,
                                                           "messages": [{"role": "user", "content": USER}]})
    no_version = httpx2.post(url, headers={"x-api-key": emulator.key("anthropic")},
                             json={"model": ANTHROPIC_MODEL, "max_tokens": 10, "messages": []})
    no_key = httpx2.post(url, headers={"anthropic-version": "2023-06-01"}, json={})
    bad_json = httpx2.post(url, headers=headers, content=b"{")

    assert ok.status_code == 200 and ok.headers["request-id"].startswith("req_")
    assert ok.json()["content"][0]["text"] == plain("anthropic")
    assert no_max_tokens.status_code == 400
    assert no_max_tokens.json()["error"] == {"type": "invalid_request_error", "message": "max_tokens: Field required"}
    assert no_version.status_code == 400 and no_version.json()["error"]["type"] == "invalid_request_error"
    assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "authentication_error"
    assert bad_json.status_code == 400 and bad_json.json()["type"] == "error"


# --- Gemini --------------------------------------------------------------------------------------

def test_gemini_generate_content(emulator: Emulator) -> None:
    response = gemini_client(emulator).models.generate_content(
        model=GEMINI_MODEL, contents=USER, config=types.GenerateContentConfig(system_instruction=SYSTEM))

    assert response.text == plain("gemini")
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.model_version == GEMINI_MODEL
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count) == (7, 11, 18)
    assert usage.thoughts_token_count is None
    request = emulator.requests("gemini")[-1]
    assert request["path"].endswith(f"/models/{GEMINI_MODEL}:generateContent")
    assert request["headers"]["x-goog-api-key"] == emulator.key("gemini")


def test_gemini_stream(emulator: Emulator) -> None:
    chunks = list(gemini_client(emulator).models.generate_content_stream(
        model=GEMINI_MODEL, contents=USER, config=types.GenerateContentConfig(system_instruction=SYSTEM)))

    assert "".join(c.text for c in chunks) == plain("gemini")
    assert len(chunks) == REPLY_TOKENS
    assert [c.usage_metadata.candidates_token_count for c in chunks] == list(range(1, 12))
    assert {c.usage_metadata.prompt_token_count for c in chunks} == {7}
    assert [c.candidates[0].finish_reason for c in chunks][-2:] == [None, types.FinishReason.STOP]


def test_gemini_function_calls(emulator: Emulator) -> None:
    client = gemini_client(emulator)
    single = client.models.generate_content(
        model=GEMINI_MODEL, contents=TOOL_QUESTION, config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[GEMINI_WEATHER])], automatic_function_calling=NO_AFC))
    arithmetic = [types.FunctionDeclaration(name=name, parameters_json_schema=ARITHMETIC)
                  for name in ("add", "multiply")]
    streamed = list(client.models.generate_content_stream(
        model=GEMINI_MODEL, contents=PARALLEL_QUESTION, config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=arithmetic)], automatic_function_calling=NO_AFC)))
    disabled = client.models.generate_content(model=GEMINI_MODEL, contents=PARALLEL_QUESTION,
                                              config=types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=arithmetic)], automatic_function_calling=NO_AFC,
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="NONE"))))

    (call,) = single.function_calls
    assert (call.name, call.args, call.id) == ("weather", ARGS, None)
    assert single.candidates[0].content.parts[0].thought_signature
    assert single.candidates[0].finish_reason == types.FinishReason.STOP
    assert single.usage_metadata.candidates_token_count == 2
    (chunk,) = streamed
    assert [(c.name, c.args) for c in chunk.function_calls] == [("add", {"a": 42, "b": 42}),
                                                                ("multiply", {"a": 42, "b": 42})]
    assert disabled.function_calls is None and disabled.text == plain("gemini", PARALLEL_QUESTION)


def test_gemini_function_response_reply(emulator: Emulator) -> None:
    response = gemini_client(emulator).models.generate_content(model=GEMINI_MODEL, contents=[
        types.Content(role="user", parts=[types.Part(text=TOOL_QUESTION)]),
        types.Content(role="model", parts=[types.Part(function_call=types.FunctionCall(name="weather", args=ARGS))]),
        types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
            name="weather", response={"result": "40 C"}))]),
    ], config=types.GenerateContentConfig(tools=[types.Tool(function_declarations=[GEMINI_WEATHER])],
                                          automatic_function_calling=NO_AFC))

    assert response.text == "The tool said: 40 C"
    assert response.usage_metadata.prompt_token_count == 10


def test_gemini_thinking(emulator: Emulator) -> None:
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    response = gemini_client(emulator).models.generate_content(model=GEMINI_MODEL, contents=USER, config=config)
    chunks = list(gemini_client(emulator).models.generate_content_stream(model=GEMINI_MODEL, contents=USER,
                                                                          config=config))

    thought, answer = response.candidates[0].content.parts
    assert (thought.thought, thought.text) == (True, f"Thinking about: {USER}")
    assert answer.text == plain("gemini") and response.text == plain("gemini")
    usage = response.usage_metadata
    assert (usage.thoughts_token_count, usage.candidates_token_count, usage.total_token_count) == (6, 11, 21)
    streamed_thoughts = [p.text for c in chunks for p in c.candidates[0].content.parts if p.thought]
    assert "".join(streamed_thoughts) == f"Thinking about: {USER}" and len(streamed_thoughts) == 6
    assert chunks[-1].usage_metadata.thoughts_token_count == 6


def test_gemini_json_mode(emulator: Emulator) -> None:
    response = gemini_client(emulator).models.generate_content(
        model=GEMINI_MODEL, contents=USER,
        config=types.GenerateContentConfig(response_mime_type="application/json", response_json_schema=BOOK_SCHEMA))

    assert json.loads(response.text) == BOOK


def test_gemini_embeddings_tokens_models(emulator: Emulator) -> None:
    client = gemini_client(emulator)
    embedded = client.models.embed_content(model="gemini-embedding-001", contents=["one two three", "four"])
    small = client.models.embed_content(model="gemini-embedding-001", contents="one two three",
                                        config=types.EmbedContentConfig(output_dimensionality=3))
    counted = client.models.count_tokens(model=GEMINI_MODEL, contents="one two three")
    names = [m.name for m in client.models.list()]

    assert [len(e.values) for e in embedded.embeddings] == [8, 8]
    assert small.embeddings[0].values == embedded.embeddings[0].values[:3]
    assert counted.total_tokens == 3
    assert names == ["models/gemini-2.5-flash", "models/gemini-embedding-001"]


def test_gemini_errors(emulator: Emulator) -> None:
    client = gemini_client(emulator)
    emulator.behaviours("gemini", [{"status": 429}, {"status": 500}])
    with pytest.raises(genai_errors.ClientError) as exhausted:
        client.models.generate_content(model=GEMINI_MODEL, contents=USER)
    with pytest.raises(genai_errors.ServerError) as internal:
        client.models.generate_content(model=GEMINI_MODEL, contents=USER)
    wrong = gemini_client(emulator, api_key="wrong")
    with pytest.raises(genai_errors.ClientError) as invalid_key:
        wrong.models.generate_content(model=GEMINI_MODEL, contents=USER)

    assert (exhausted.value.code, exhausted.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert exhausted.value.details["error"]["details"][-1]["retryDelay"] == "26s"
    assert (internal.value.code, internal.value.status) == (500, "INTERNAL")
    assert (invalid_key.value.code, invalid_key.value.status) == (400, "INVALID_ARGUMENT")
    assert invalid_key.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


def test_gemini_raw_query_key_and_crlf_framing(emulator: Emulator) -> None:
    url = emulator.url + f"/gemini/v1beta/models/{GEMINI_MODEL}:streamGenerateContent"
    response = httpx2.post(url, params={"alt": "sse", "key": emulator.key("gemini")},
                           json={"contents": [{"role": "user", "parts": [{"text": "hi there"}]}]})
    missing = httpx2.post(url, params={"alt": "sse", "key": emulator.key("gemini")}, json={"contents": []})

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    frames = response.text.split("\r\n\r\n")
    assert frames[-1] == "" and all(f.startswith("data: {") for f in frames[:-1])
    assert "[DONE]" not in response.text
    assert len(frames) - 1 == len(plain("gemini", "hi there").split())
    assert missing.status_code == 400 and missing.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_gemini_stream_without_alt_sse_is_one_json_array(emulator: Emulator) -> None:
    response = httpx2.post(emulator.url + f"/gemini/v1beta/models/{GEMINI_MODEL}:streamGenerateContent",
                           headers={"x-goog-api-key": emulator.key("gemini")},
                           json={"contents": [{"role": "user", "parts": [{"text": "hi there"}]}]})
    chunks = response.json()

    assert response.headers["content-type"].startswith("application/json")
    assert response.text.startswith("[{") and ",\r\n{" in response.text
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == plain("gemini", "hi there")
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


# --- DashScope native (raw HTTP: no SDK is installed) --------------------------------------------


def dashscope_native(emulator: Emulator, body: dict[str, Any], *, sse: bool = False,
                     key: str | None = None, accept_header: bool = False) -> httpx2.Response:
    headers = {"Authorization": f"Bearer {key or emulator.key('dashscope')}"}
    if sse:
        headers.update({"Accept": "text/event-stream"} if accept_header else {"X-DashScope-SSE": "enable"})
    return httpx2.post(emulator.base_url("dashscope-native") + "/api/v1/services/aigc/text-generation/generation",
                       headers=headers, json=body)


def native_request(**parameters: Any) -> dict[str, Any]:
    return {"model": "qwen-plus", "input": {"messages": chat_messages()}, "parameters": parameters}


def native_events(raw: str) -> list[tuple[list[str], Any]]:
    """(header lines, parsed data) of each `id:N / event:result / :HTTP_STATUS/200 / data:{...}` event."""
    events = []
    for frame in sse_frames(raw):
        lines = frame.split("\n")
        assert lines[-1].startswith("data:{"), frame
        events.append((lines[:-1], json.loads(lines[-1][5:])))
    return events


def test_dashscope_native_message_and_text_formats(emulator: Emulator) -> None:
    message = dashscope_native(emulator, native_request(result_format="message")).json()
    text = dashscope_native(emulator, native_request()).json()

    choice = message["output"]["choices"][0]
    assert choice == {"message": {"content": plain("dashscope"), "role": "assistant"}, "finish_reason": "stop"}
    assert message["usage"] == {"total_tokens": 18, "output_tokens": 11, "input_tokens": 7}
    assert len(message["request_id"]) == 36
    assert text["output"] == {"text": plain("dashscope"), "finish_reason": "stop"}


def test_dashscope_native_incremental_thinking_stream(emulator: Emulator) -> None:
    response = dashscope_native(emulator, native_request(result_format="message", enable_thinking=True,
                                                         incremental_output=True), sse=True)
    events = native_events(response.text)

    assert response.headers["content-type"].startswith("text/event-stream")
    assert [headers for headers, _ in events] == [[f"id:{n}", "event:result", ":HTTP_STATUS/200"]
                                                  for n in range(1, len(events) + 1)]
    messages = [data["output"]["choices"][0]["message"] for _, data in events]
    finishes = [data["output"]["choices"][0]["finish_reason"] for _, data in events]
    assert finishes == ["null"] * (len(events) - 1) + ["stop"]
    assert "".join(m["reasoning_content"] for m in messages) == f"Thinking about: {USER}"
    assert "".join(m["content"] for m in messages) == plain("dashscope")
    output_tokens = [data["usage"]["output_tokens"] for _, data in events]
    assert output_tokens == sorted(output_tokens) and output_tokens[-1] == 17
    assert events[-1][1]["usage"] == {"total_tokens": 24, "output_tokens": 17, "input_tokens": 7,
                                      "output_tokens_details": {"reasoning_tokens": 6}}
    assert len({data["request_id"] for _, data in events}) == 1


def test_dashscope_native_cumulative_stream_via_accept_header(emulator: Emulator) -> None:
    response = dashscope_native(emulator, native_request(result_format="message"), sse=True, accept_header=True)
    contents = [data["output"]["choices"][0]["message"]["content"] for _, data in native_events(response.text)]

    assert contents[-1] == plain("dashscope")
    assert all(plain("dashscope").startswith(c) for c in contents)
    assert [len(c.split()) for c in contents] == list(range(1, 12)) + [11]


def test_dashscope_native_tool_calls(emulator: Emulator) -> None:
    body = native_request(result_format="message", tools=[WEATHER])
    body["input"]["messages"] = [{"role": "user", "content": TOOL_QUESTION}]
    answer = dashscope_native(emulator, body).json()
    after_tool = dashscope_native(emulator, {**body, "input": {"messages": tool_result_messages()}}).json()

    choice = answer["output"]["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == ("weather", ARGS)
    assert after_tool["output"]["choices"][0]["message"]["content"] == "The tool said: 40 C"


def test_dashscope_native_errors(emulator: Emulator) -> None:
    unauthorised = dashscope_native(emulator, native_request(), key="wrong")
    emulator.behaviours("dashscope", [{"stream_error": {"type": "InternalError", "message": "boom"}}])
    streamed = dashscope_native(emulator, native_request(result_format="message"), sse=True)

    assert unauthorised.status_code == 401
    assert {k: v for k, v in unauthorised.json().items() if k != "request_id"} == {
        "code": "InvalidApiKey", "message": "Invalid API-key provided."}
    (_, first), (error_headers, error) = native_events(streamed.text)
    assert first["output"]["choices"][0]["finish_reason"] == "null"
    assert error_headers == ["id:2", "event:error", ":HTTP_STATUS/500"]
    assert (error["code"], error["message"]) == ("InternalError", "boom")


def test_dashscope_native_embeddings(emulator: Emulator) -> None:
    response = httpx2.post(
        emulator.base_url("dashscope-native") + "/api/v1/services/embeddings/text-embedding/text-embedding",
        headers={"Authorization": f"Bearer {emulator.key('dashscope')}"},
        json={"model": "text-embedding-v3", "input": {"texts": ["one two three", "four"]},
              "parameters": {"dimension": 4}}).json()

    assert [(e["text_index"], len(e["embedding"])) for e in response["output"]["embeddings"]] == [(0, 4), (1, 4)]
    assert response["usage"] == {"total_tokens": 4}


# --- the emulator's output has the shape of the recorded payloads --------------------------------


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value; list items share the path `name[]`."""
    paths = set()
    if isinstance(value, dict):
        for key, item in value.items():
            paths.add(prefix + key)
            paths |= key_paths(item, prefix + key + ".")
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, prefix.rstrip(".") + "[].")
    return paths


def fixture(relative: str) -> str:
    return (FIXTURES / relative).read_text()


RECORDED_ERRORS = [
    *[("openai", status, f"openai/error_{status}.json") for status in (400, 401, 403, 500, 503)],
    ("openai", 404, "openai/error_404_model.json"),
    ("openai", 429, "openai/error_429_rate_limit.json"),
    *[("anthropic", status, f"anthropic/error_{status}.json") for status in (400, 401, 403, 404, 413, 429, 500, 529)],
    ("deepseek", 400, "deepseek/error_400_model_not_exist.json"),
    ("deepseek", 402, "deepseek/error_402.json"),
    ("gemini", 404, "gemini/error_404_model.json"),
    ("gemini", 429, "gemini/error_429_resource_exhausted.json"),
    ("gemini", 500, "gemini/error_500.json"),
    ("gemini", 503, "gemini/error_503.json"),
]
ERROR_PATHS = {"openai": "/chat/completions", "deepseek": "/chat/completions", "anthropic": "/v1/messages",
               "gemini": f"/v1beta/models/{GEMINI_MODEL}:generateContent"}


@pytest.mark.parametrize("flavour,status,recorded", RECORDED_ERRORS, ids=[e[2] for e in RECORDED_ERRORS])
def test_default_error_bodies_are_the_recorded_ones(emulator: Emulator, flavour: str, status: int,
                                                    recorded: str) -> None:
    expected = json.loads(fixture(recorded))
    emulator.behaviours(flavour, [{"status": status}])
    key = emulator.key(flavour)
    response = httpx2.post(emulator.base_url(flavour) + ERROR_PATHS[flavour], json={}, headers={
        "Authorization": f"Bearer {key}", "x-goog-api-key": key, "anthropic-version": "2023-06-01"})

    assert (response.status_code, response.json()) == (status, expected)


def test_invalid_keys_get_the_recorded_bodies(emulator: Emulator) -> None:
    gemini = httpx2.post(emulator.base_url("gemini") + f"/v1beta/models/{GEMINI_MODEL}:generateContent",
                         params={"key": "wrong"}, json={})
    native = dashscope_native(emulator, native_request(), key="wrong")
    openai_401 = httpx2.post(emulator.base_url("openai") + "/chat/completions", json={})

    assert (gemini.status_code, gemini.json()) == (400, json.loads(fixture("gemini/error_400_api_key_invalid.json")))
    recorded = json.loads(fixture("dashscope/native_error_401.json"))
    assert native.json().keys() == recorded.keys() and native.json()["code"] == recorded["code"]
    assert (openai_401.status_code, openai_401.json()) == (401, json.loads(fixture("openai/error_401.json")))


def _openai_tool_request(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": TOOL_QUESTION}], "tools": [WEATHER]}


GEMINI_THINKING_TOOL_REQUEST = {
    "contents": [{"role": "user", "parts": [{"text": TOOL_QUESTION}]}],
    "tools": [{"functionDeclarations": [{"name": "weather", "parameters": {
        "type": "OBJECT", "properties": {"location": {"type": "STRING"}}, "required": ["location"]}}]}],
    "generationConfig": {"thinkingConfig": {"includeThoughts": True}},
}

# (recorded file, flavour, path under the base URL, request body, SSE separator, key paths to ignore)
STREAM_SHAPES = [
    ("openai/stream_text.sse", "openai", "/chat/completions",
     {"model": "gpt-4o", "messages": chat_messages(), "stream": True, "stream_options": {"include_usage": True}},
     "\n\n", set()),
    ("openai/stream_parallel_tool_calls.sse", "openai", "/chat/completions",
     {"model": "gpt-4o", "messages": [{"role": "user", "content": PARALLEL_QUESTION}], "tools": [ADD, MULTIPLY],
      "stream": True, "stream_options": {"include_usage": True}}, "\n\n", set()),
    ("deepseek/stream_reasoner.sse", "deepseek", "/chat/completions",
     {"model": "deepseek-reasoner", "messages": chat_messages(), "stream": True}, "\n\n", set()),
    ("deepseek/stream_tool_calls.sse", "deepseek", "/chat/completions",
     {**_openai_tool_request("deepseek-chat"), "stream": True}, "\n\n", set()),
    ("dashscope/compat_stream_thinking.sse", "dashscope", "/chat/completions",
     {"model": "qwen3-max", "messages": chat_messages(), "stream": True, "enable_thinking": True}, "\n\n", set()),
    ("anthropic/stream_thinking_tool_use.sse", "anthropic", "/v1/messages",
     {"model": ANTHROPIC_MODEL, "max_tokens": 4096, "stream": True, "tools": [ANTHROPIC_WEATHER],
      "thinking": {"type": "enabled", "budget_tokens": 4000},
      "messages": [{"role": "user", "content": TOOL_QUESTION}]}, "\n\n", set()),
    ("gemini/stream_thinking.sse", "gemini", f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent",
     GEMINI_THINKING_TOOL_REQUEST, "\r\n\r\n", set()),
    ("dashscope/native_stream_thinking.sse", "dashscope-native", "/api/v1/services/aigc/text-generation/generation",
     {"model": "qwen3-max", "input": {"messages": chat_messages()},
      "parameters": {"result_format": "message", "enable_thinking": True, "incremental_output": True}}, "\n\n",
     {"output.tool_info", "output.tool_info[].code_interpreter", "output.tool_info[].code_interpreter.code",
      "output.tool_info[].type", "usage.plugins", "usage.plugins.code_interpreter",
      "usage.plugins.code_interpreter.count"}),  # code-interpreter plugin fields
]


@pytest.mark.parametrize("recorded,flavour,path,body,separator,ignored", STREAM_SHAPES,
                         ids=[shape[0] for shape in STREAM_SHAPES])
def test_stream_has_the_recorded_shape(emulator: Emulator, recorded: str, flavour: str, path: str,
                                       body: dict[str, Any], separator: str, ignored: set[str]) -> None:
    expected = fixture(recorded)
    key = emulator.key(flavour)
    headers = {"Authorization": f"Bearer {key}", "x-goog-api-key": key, "anthropic-version": "2023-06-01",
               "X-DashScope-SSE": "enable"}
    response = httpx2.post(emulator.base_url(flavour) + path, headers=headers, json=body,
                           params={"alt": "sse"} if flavour == "gemini" else None)
    actual = response.text

    assert response.status_code == 200, actual
    recorded_paths = set().union(*(key_paths(d) for d in sse_data(expected, separator)))
    actual_paths = set().union(*(key_paths(d) for d in sse_data(actual, separator)))
    assert recorded_paths - ignored - actual_paths == set()
    assert actual.endswith(separator)
    assert actual.rstrip().endswith("data: [DONE]") == expected.rstrip().endswith("data: [DONE]")
    if flavour == "anthropic":  # the same event sequence once runs of deltas are collapsed
        assert event_grammar(actual) == event_grammar(expected)


def event_grammar(raw: str) -> list[str]:
    names = [line[7:] for line in raw.split("\n") if line.startswith("event: ")]
    return [name for i, name in enumerate(names) if i == 0 or name != names[i - 1]]


RESPONSE_SHAPES = [
    ("openai/chat_response.json", "openai", "/chat/completions", {"model": "gpt-4o", "messages": chat_messages()},
     set()),
    ("openai/chat_response_tool_calls.json", "openai", "/chat/completions", _openai_tool_request("gpt-4o"), set()),
    ("deepseek/chat_response.json", "deepseek", "/chat/completions",
     {"model": "deepseek-chat", "messages": chat_messages()}, set()),
    ("deepseek/reasoner_response.json", "deepseek", "/chat/completions",
     {"model": "deepseek-reasoner", "messages": chat_messages()}, set()),
    ("deepseek/chat_response_tool_calls.json", "deepseek", "/chat/completions", _openai_tool_request("deepseek-chat"),
     set()),
    ("dashscope/compat_chat_response.json", "dashscope", "/chat/completions",
     {"model": "qwen-plus", "messages": chat_messages()}, set()),
    ("anthropic/messages_response.json", "anthropic", "/v1/messages",
     {"model": ANTHROPIC_MODEL, "max_tokens": 100, "messages": [{"role": "user", "content": USER}]}, set()),
    ("anthropic/messages_response_tool_use.json", "anthropic", "/v1/messages",
     {"model": ANTHROPIC_MODEL, "max_tokens": 100, "tools": [ANTHROPIC_WEATHER],
      "messages": [{"role": "user", "content": TOOL_QUESTION}]},
     {"content[].text"}),  # the emulator's tool turns have no preamble text block
    ("gemini/generate_response_function_call.json", "gemini", f"/v1beta/models/{GEMINI_MODEL}:generateContent",
     GEMINI_THINKING_TOOL_REQUEST, set()),
]


@pytest.mark.parametrize("recorded,flavour,path,body,ignored", RESPONSE_SHAPES,
                         ids=[shape[0] for shape in RESPONSE_SHAPES])
def test_response_has_the_recorded_shape(emulator: Emulator, recorded: str, flavour: str, path: str,
                                         body: dict[str, Any], ignored: set[str]) -> None:
    expected = json.loads(fixture(recorded))
    key = emulator.key(flavour)
    response = httpx2.post(emulator.base_url(flavour) + path, json=body, headers={
        "Authorization": f"Bearer {key}", "x-goog-api-key": key, "anthropic-version": "2023-06-01"})

    assert response.status_code == 200, response.text
    assert key_paths(expected) - ignored - key_paths(response.json()) == set()


# --- OpenAI Responses API ----------------------------------------------------------------------

RESPONSES_FLAVOURS = ["openai", "custom"]
RESPONSES_WEATHER = {"type": "function", "name": "weather", "description": "Get weather information for a location",
                     "parameters": WEATHER["function"]["parameters"], "strict": True}
RESPONSES_ADD = {"type": "function", "name": "add", "parameters": ARITHMETIC}
RESPONSES_MULTIPLY = {"type": "function", "name": "multiply", "parameters": ARITHMETIC}
MESSAGE_EVENTS = ["response.output_item.added", "response.content_part.added"] + ["response.output_text.delta"] * \
    REPLY_TOKENS + ["response.output_text.done", "response.content_part.done", "response.output_item.done"]


def strict_oai(emulator: Emulator, flavour: str = "openai") -> openai.OpenAI:
    """A client that validates every answer against the SDK's models (missing or mistyped fields raise)."""
    return oai(emulator, flavour, _strict_response_validation=True)


def responses_events(raw: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each SSE frame of a Responses stream."""
    events = []
    for frame in sse_frames(raw):
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.mark.parametrize("flavour", RESPONSES_FLAVOURS)
def test_responses_create_answers_a_validated_response(emulator: Emulator, flavour: str) -> None:
    response = strict_oai(emulator, flavour).responses.create(
        model="gpt-4o", instructions=SYSTEM, input=USER, temperature=0.5, metadata={"k": "v"})

    assert response.object == "response" and response.id.startswith("resp_")
    assert (response.status, response.error, response.incomplete_details) == ("completed", None, None)
    assert response.output_text == plain(flavour)
    [message] = response.output
    assert (message.type, message.role, message.status, message.id[:4]) == ("message", "assistant", "completed",
                                                                             "msg_")
    assert (response.instructions, response.temperature, response.metadata) == (SYSTEM, 0.5, {"k": "v"})
    assert (response.model, response.store, response.tool_choice, response.tools) == ("gpt-4o", True, "auto", [])
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (7, REPLY_TOKENS, 7 + REPLY_TOKENS)
    assert (usage.input_tokens_details.cached_tokens, usage.output_tokens_details.reasoning_tokens) == (0, 0)
    sent = emulator.requests(flavour)[-1]
    assert sent["path"] == emulator.base_url(flavour).removeprefix(emulator.url) + "/responses"


def test_responses_stream_is_the_real_event_sequence(emulator: Emulator) -> None:
    raw = httpx2.post(emulator.base_url("openai") + "/responses",
                      json={"model": "gpt-4o", "input": USER, "instructions": SYSTEM, "stream": True},
                      headers={"Authorization": "Bearer " + emulator.key("openai")})
    events = responses_events(raw.text)
    streamed = list(strict_oai(emulator).responses.create(model="gpt-4o", input=USER, instructions=SYSTEM,
                                                          stream=True))

    assert raw.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in events]
    assert names == ["response.created", "response.in_progress", *MESSAGE_EVENTS, "response.completed"]
    assert all(data["type"] == name for name, data in events)
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert [event.type for event in streamed] == names
    created, completed = streamed[0].response, streamed[-1].response
    assert (created.status, created.output, created.usage) == ("in_progress", [], None)
    assert created.id == completed.id and completed.output_text == plain("openai")
    deltas = [event.delta for event in streamed if event.type == "response.output_text.delta"]
    assert "".join(deltas) == plain("openai") and len(deltas) == REPLY_TOKENS
    assert completed.usage.output_tokens == REPLY_TOKENS


def test_responses_stream_helper_and_get_final_response(emulator: Emulator) -> None:
    with strict_oai(emulator).responses.stream(model="gpt-4o", input=USER) as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert "".join(texts) == final.output_text == plain("openai")
    assert final.status == "completed" and final.usage.input_tokens == 4


def test_responses_parse_text_format(emulator: Emulator) -> None:
    from pydantic import BaseModel

    class Author(BaseModel):
        name: str
        nationality: str

    class Book(BaseModel):
        title: str
        author: Author
        genres: list[str]
        published_year: int

    parsed = strict_oai(emulator).responses.parse(model="gpt-4o", input="Describe a book", text_format=Book)
    json_object = oai(emulator).responses.create(model="gpt-4o", input=USER, text={"format": {"type": "json_object"}})

    assert parsed.output_parsed == Book.model_validate(BOOK)
    sent = emulator.requests("openai")[0]["body"]["text"]["format"]
    assert (sent["type"], sent["name"], sent["strict"]) == ("json_schema", "Book", True)
    assert json.loads(json_object.output_text) == {"message": plain("openai")}


def test_responses_function_call_round_trip(emulator: Emulator) -> None:
    client = strict_oai(emulator)
    first = client.responses.create(model="gpt-4o", input=TOOL_QUESTION, tools=[RESPONSES_WEATHER])
    [call] = first.output
    assert (call.type, call.name, json.loads(call.arguments), call.status) == ("function_call", "weather", ARGS,
                                                                             "completed")
    assert call.call_id.startswith("call_") and call.id.startswith("fc_") and first.output_text == ""
    assert first.usage.output_tokens == 2

    second = client.responses.create(model="gpt-4o", tools=[RESPONSES_WEATHER], input=[
        {"role": "user", "content": TOOL_QUESTION}, call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "40 C"}])
    assert second.output_text == "The tool said: 40 C"
    assert second.usage.input_tokens == 5 + 1 + 2 + 2  # question, name, arguments, output


def test_responses_parallel_and_forced_tool_calls(emulator: Emulator) -> None:
    client = strict_oai(emulator)
    parallel = client.responses.create(model="gpt-4o", input=PARALLEL_QUESTION,
                                       tools=[RESPONSES_ADD, RESPONSES_MULTIPLY])
    serial = client.responses.create(model="gpt-4o", input=PARALLEL_QUESTION, parallel_tool_calls=False,
                                     tools=[RESPONSES_ADD, RESPONSES_MULTIPLY])
    forced = client.responses.create(model="gpt-4o", input=USER, tools=[RESPONSES_ADD, RESPONSES_MULTIPLY],
                                     tool_choice={"type": "function", "name": "multiply"})
    declined = client.responses.create(model="gpt-4o", input=USER, tools=[RESPONSES_ADD], tool_choice="none")
    with client.responses.stream(model="gpt-4o", input=PARALLEL_QUESTION,
                                 tools=[RESPONSES_ADD, RESPONSES_MULTIPLY]) as stream:
        kinds = [event.type for event in stream]
        streamed = stream.get_final_response()

    assert [item.name for item in parallel.output] == ["add", "multiply"]
    assert [item.name for item in serial.output] == ["add"]
    assert [item.name for item in forced.output] == ["multiply"]
    assert declined.output_text == plain("openai", USER)
    assert [json.loads(item.arguments) for item in streamed.output] == [{"a": 42, "b": 42}] * 2
    assert kinds.count("response.function_call_arguments.done") == 2
    assert "response.function_call_arguments.delta" in kinds and "response.output_text.delta" not in kinds


def test_responses_reasoning_items_and_summaries(emulator: Emulator) -> None:
    client = strict_oai(emulator)
    summarised = client.responses.create(model="o4-mini", input=USER, reasoning={"effort": "low", "summary": "auto"})
    hidden = client.responses.create(model="o4-mini", input=USER)
    events = list(client.responses.create(model="o4-mini", input=USER, reasoning={"summary": "detailed"},
                                          stream=True))

    reasoning, message = summarised.output
    thought = f"Thinking about: {USER}"  # 6 tokens
    assert reasoning.type == "reasoning" and reasoning.id.startswith("rs_")
    assert [(part.type, part.text) for part in reasoning.summary] == [("summary_text", thought)]
    assert message.content[0].text == summarised.output_text == plain("openai")
    assert summarised.usage.output_tokens_details.reasoning_tokens == 6
    assert summarised.usage.output_tokens == REPLY_TOKENS + 6
    assert summarised.reasoning.effort == "low"
    assert hidden.output[0].type == "reasoning" and hidden.output[0].summary == []
    assert hidden.usage.output_tokens_details.reasoning_tokens == 6
    names = [event.type for event in events]
    assert names[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.reasoning_summary_part.added"]
    assert names.count("response.reasoning_summary_text.delta") == 6
    assert names[names.index("response.reasoning_summary_text.done") + 1:][:2] == [
        "response.reasoning_summary_part.done", "response.output_item.done"]
    done = next(event for event in events if event.type == "response.reasoning_summary_text.done")
    assert (done.text, done.summary_index, done.output_index) == (thought, 0, 0)
    assert next(e for e in events if e.type == "response.content_part.added").output_index == 1


def test_responses_previous_response_id_continues_the_conversation(emulator: Emulator) -> None:
    client = strict_oai(emulator)
    first = client.responses.create(model="gpt-4o", instructions=SYSTEM, input=USER)
    second = client.responses.create(model="gpt-4o", input="And in Spanish?", previous_response_id=first.id)
    unstored = client.responses.create(model="gpt-4o", input=USER, store=False)

    assert second.output_text == plain("openai", "And in Spanish?")
    assert second.previous_response_id == first.id
    # Earlier input and output count again; the earlier instructions are not carried over.
    assert second.usage.input_tokens == 4 + REPLY_TOKENS + 3
    with pytest.raises(openai.BadRequestError) as missing:
        client.responses.create(model="gpt-4o", input=USER, previous_response_id=unstored.id)
    assert missing.value.body == {"message": f"Previous response with id '{unstored.id}' not found.",
                                  "type": "invalid_request_error", "param": "previous_response_id",
                                  "code": "previous_response_not_found"}


def test_responses_retrieve_input_items_delete_cancel(emulator: Emulator) -> None:
    client = strict_oai(emulator)
    created = client.responses.create(model="gpt-4o", input=[
        {"role": "developer", "content": SYSTEM},
        {"role": "user", "content": [{"type": "input_text", "text": USER}]}])
    retrieved = client.responses.retrieve(created.id)
    items = client.responses.input_items.list(created.id)
    ascending = client.responses.input_items.list(created.id, order="asc", limit=1)
    replayed = list(client.responses.retrieve(created.id, stream=True))
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(created.id)
    deleted = client.responses.with_raw_response.delete(created.id)

    assert retrieved.model_dump() == created.model_dump()
    assert [(item.role, item.content[0].text) for item in items.data] == [("user", USER), ("developer", SYSTEM)]
    assert all(item.id.startswith("msg_") for item in items.data)
    assert [item.role for item in ascending.data] == ["developer"] and ascending.has_more is True
    assert replayed[-1].type == "response.completed" and replayed[-1].response.id == created.id
    assert deleted.http_response.json() == {"id": created.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError) as gone:
        client.responses.retrieve(created.id)
    assert gone.value.body == {"message": f"Response with id '{created.id}' not found.",
                               "type": "invalid_request_error", "param": None, "code": None}
    background = client.responses.create(model="gpt-4o", input=USER, background=True)
    assert client.responses.cancel(background.id).status == "cancelled"


def test_responses_output_limit_is_incomplete(emulator: Emulator) -> None:
    client = strict_oai(emulator)
    whole = client.responses.create(model="gpt-4o", input=USER, max_output_tokens=3)
    events = list(client.responses.create(model="gpt-4o", input=USER, max_output_tokens=3, stream=True))

    assert (whole.status, whole.incomplete_details.reason) == ("incomplete", "max_output_tokens")
    assert whole.output_text == "Hello from the" and whole.output[0].status == "incomplete"
    assert whole.usage.output_tokens == 3 and whole.max_output_tokens == 3
    assert events[-1].type == "response.incomplete" and events[-1].response.output_text == "Hello from the"


def test_responses_image_and_file_parts_count_no_tokens(emulator: Emulator) -> None:
    response = strict_oai(emulator).responses.create(model="gpt-4o", input=[{"role": "user", "content": [
        {"type": "input_text", "text": "What is in this image?"},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}]}])

    assert response.output_text == plain("openai", "What is in this image?")
    assert response.usage.input_tokens == 5
    assert emulator.requests("openai")[-1]["body"]["input"][0]["content"][1]["type"] == "input_image"


def test_responses_errors_are_the_sdk_exceptions(emulator: Emulator) -> None:
    client = oai(emulator)
    emulator.behaviours("openai", [{"status": 429, "headers": {"retry-after": "7"}}, {"status": 500}])
    with pytest.raises(openai.RateLimitError) as limited:
        client.responses.create(model="gpt-4o", input=USER)
    with pytest.raises(openai.InternalServerError):
        client.responses.create(model="gpt-4o", input=USER, stream=True)
    with pytest.raises(openai.BadRequestError) as no_model:
        client.responses.create(input=USER)  # type: ignore[call-overload]
    with pytest.raises(openai.BadRequestError) as bad_input:
        client.responses.create(model="gpt-4o", input={"text": USER})  # type: ignore[arg-type]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=emulator.base_url("openai"), api_key="wrong", max_retries=0).responses.create(
            model="gpt-4o", input=USER)

    assert limited.value.response.headers["retry-after"] == "7"
    assert no_model.value.body["param"] == "model"
    assert (bad_input.value.body["param"], bad_input.value.body["code"]) == ("input", "invalid_type")


def test_responses_in_stream_failure_is_an_error_then_response_failed(emulator: Emulator) -> None:
    emulator.behaviours("openai", [{"stream_error": {"type": "server_error", "message": "boom"}},
                                   {"stream_error": {}}])
    events = list(strict_oai(emulator).responses.create(model="gpt-4o", input=USER, stream=True))
    with strict_oai(emulator).responses.stream(model="gpt-4o", input=USER) as stream:
        names = [event.type for event in stream]
        with pytest.raises(RuntimeError):
            stream.get_final_response()

    assert [event.type for event in events] == ["response.created", "error", "response.failed"]
    assert [event.sequence_number for event in events] == [0, 1, 2]
    assert (events[1].code, events[1].message) == ("server_error", "boom")
    assert events[2].response.status == "failed" and events[2].response.error.message == "boom"
    assert names == ["response.created", "error", "response.failed"]


def test_responses_usage_overrides_and_faults(emulator: Emulator) -> None:
    client = strict_oai(emulator)
    emulator.behaviours("openai", [{"usage": {"prompt_tokens": 100, "cached_tokens": 40, "reasoning_tokens": 5}},
                                   {"no_usage": True}, {"reply": "Custom words here"}, {"reset_after_chunks": 3}])
    cached = client.responses.create(model="gpt-4o", input=USER)
    bare = oai(emulator).responses.create(model="gpt-4o", input=USER)
    custom = client.responses.create(model="gpt-4o", input=USER)
    received = []
    with pytest.raises(openai.APIConnectionError):
        for event in client.responses.create(model="gpt-4o", input=USER, stream=True):
            received.append(event)

    details = cached.usage.input_tokens_details
    assert (cached.usage.input_tokens, details.cached_tokens) == (100, 40)
    assert cached.usage.output_tokens_details.reasoning_tokens == 5
    assert bare.usage is None
    assert custom.output_text == "Custom words here" and custom.usage.output_tokens == 3
    assert len(received) == 3


def test_responses_input_tokens_and_compact(emulator: Emulator) -> None:
    client = strict_oai(emulator)
    counted = client.responses.input_tokens.count(model="gpt-4o", instructions=SYSTEM, input=USER)
    compacted = client.responses.compact(model="gpt-4o", input=USER)

    assert (counted.object, counted.input_tokens) == ("response.input_tokens", 7)
    assert compacted.object == "response.compaction" and compacted.output[0].type == "compaction"
    assert compacted.usage.input_tokens == 4


def test_deepseek_refuses_content_parts_like_the_real_api(emulator: Emulator) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        oai(emulator, "deepseek").chat.completions.create(model="deepseek-chat", messages=[
            {"role": "system", "content": SYSTEM}, {"role": "user", "content": [{"type": "text", "text": USER}]}])

    assert caught.value.body["message"].startswith(
        "Failed to deserialize the JSON body into the target type: messages[1]: invalid type: sequence, expected a string")
    assert (caught.value.body["type"], caught.value.body["code"]) == ("invalid_request_error", "invalid_request_error")
