"""The OpenAI Responses API (`/v1/responses`, issue 15) through the built llm-sidecar, driven by
the official openai SDK against every provider emulator.

`gpt-4o-mini` goes to the openai provider, which speaks Responses natively (the body passes
through, model replaced, key injected); every other model is translated through the chat model
(deepseek, dashscope compatible and native, anthropic, gemini, an openai-compatible server, the
demo model). Expected texts and token counts follow the emulator's rules (README.md: one token
per whitespace-separated word), so each is the same whether the emulator or the sidecar built
the `response` object. Every request is named with an X-Request-Id to find its one usage line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

import sidecar as sidecar_module
from sidecar import CLIENT_KEY, SidecarProcess, configuration, provider_keys

BOB = "sk-SENTINEL-responses-bob-4c81e2a07d9f53b6"
ALICE = "sk-SENTINEL-responses-alice-9e03b5d17c24f8a6"
sidecar_module.CLIENT_SENTINELS += [BOB, ALICE]

NATIVE = {"gpt-4o-mini": "openai"}
# The emulator flavour whose words each translated model answers with (None: the built-in demo).
TRANSLATED = {"deepseek-chat": "deepseek", "deepseek-reasoner": "deepseek", "qwen-plus": "dashscope",
              "qwen-native": "dashscope", "claude-test": "anthropic", "gemini-test": "gemini",
              "local-llama": "custom", "demo": None}
FLAVOURS = {**NATIVE, **TRANSLATED}
MODELS = list(FLAVOURS)
UNPRICED = {"local-llama"}  # no price in the test configuration: no cost anywhere (the demo model costs 0)
EMULATED = [model for model in MODELS if FLAVOURS[model] is not None]  # deterministic token counts
TERMINAL = {"response.completed", "response.incomplete", "response.failed"}
WEATHER_TOOL = {"type": "function", "name": "weather", "description": "Get the weather for a location",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                               "required": ["location"]}}
TIME_TOOL = {"type": "function", "name": "time",
             "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}}
TOOL_QUESTION = "What's the weather in Florence?"  # 5 tokens
ARGS = {"location": "Florence, Italy"}  # '{"location":"Florence, Italy"}' is 2 tokens
PNG = "data:image/png;base64,iVBORw0KGgo="
# Models that think when asked (reasoning.effort); deepseek-reasoner always does.
THINKERS = ["deepseek-reasoner", "claude-test", "gemini-test", "qwen-native"]
HOSTED_TOOLS = [
    {"type": "web_search"},
    {"type": "file_search", "vector_store_ids": ["vs_1"]},
    {"type": "code_interpreter", "container": {"type": "auto"}},
    {"type": "computer_use_preview", "display_width": 1024, "display_height": 768, "environment": "browser"},
    {"type": "mcp", "server_label": "deepwiki", "server_url": "https://mcp.invalid/mcp", "require_approval": "never"},
    {"type": "image_generation"},
    {"type": "local_shell"},
]


class Weather(BaseModel):
    city: str
    degrees: int


def request_id() -> str:
    return "resp-e2e-" + uuid.uuid4().hex[:12]


def named(rid: str) -> dict[str, Any]:
    return {"extra_headers": {"X-Request-Id": rid}}


def tokens(text: str) -> int:
    return len(text.split())


def reply(model: str, said: str) -> str:
    """What `model` answers to the user text `said`."""
    if FLAVOURS[model] is None:
        return f"Hello from the LLM Sidecar demo model (offline, no provider key needed). You said: {said}"
    return f"Hello from the {FLAVOURS[model]} emulator. You said: {said}"


def thought(said: str) -> str:
    return f"Thinking about: {said}"


def output_tokens(model: str, said: str) -> int:
    """Output tokens of a plain answer: the reply, plus the reasoning deepseek-reasoner always does."""
    return tokens(reply(model, said)) + (tokens(thought(said)) if model == "deepseek-reasoner" else 0)


def assert_reached(emulator: Any, model: str) -> None:
    """Every provider request went to `model`'s own emulator flavour, through its chat API when
    the model is translated (none for the demo model)."""
    sent = emulator.requests()
    if FLAVOURS[model] is None:
        assert sent == []
        return
    assert sent and {request["flavour"] for request in sent} == {FLAVOURS[model]}
    if model in TRANSLATED:
        assert not [request["path"] for request in sent if "/responses" in request["path"]]


def upstream(emulator: Any, model: str) -> dict[str, Any]:
    """The last request the emulator received for `model`'s flavour."""
    return emulator.requests(FLAVOURS[model])[-1]


def check_stream(events: list[Any]) -> Any:
    """Assert the event grammar of a Responses stream and return its final `response`: sequence
    numbers 0, 1, 2…; created and in_progress first; items opened and closed one after another;
    every `.done` text equal to its deltas; the terminal event's output equal to the items done."""
    names = [event.type for event in events]
    assert [event.sequence_number for event in events] == list(range(len(events))), names
    assert names[:2] == ["response.created", "response.in_progress"], names
    assert names[-1] in TERMINAL and sum(name in TERMINAL for name in names) == 1, names
    assert events[0].response.output == [] and events[0].response.status in ("queued", "in_progress")
    opened: dict[int, Any] = {}
    done: dict[int, Any] = {}
    texts: dict[tuple[int, int], str] = defaultdict(str)
    summaries: dict[tuple[int, int], str] = defaultdict(str)
    arguments: dict[int, str] = defaultdict(str)
    parts: set[tuple[int, int]] = set()
    for event in events[2:-1]:
        kind = event.type
        if kind == "response.output_item.added":
            assert not opened and event.output_index == len(done), f"items overlap or skip: {names}"
            opened[event.output_index] = event.item
            continue
        assert event.output_index in opened, f"{kind} outside its item"
        assert getattr(event, "item_id", opened[event.output_index].id) == opened[event.output_index].id
        where = (event.output_index, getattr(event, "content_index", getattr(event, "summary_index", 0)))
        if kind == "response.output_item.done":
            assert opened.pop(event.output_index).id == event.item.id
            done[event.output_index] = event.item
        elif kind == "response.content_part.added":
            parts.add(where)
        elif kind == "response.output_text.delta":
            assert where in parts, "text before its content part"
            texts[where] += event.delta
        elif kind == "response.output_text.done":
            assert event.text == texts[where]
        elif kind == "response.content_part.done":
            assert event.part.text == texts[where]
            parts.discard(where)
        elif kind == "response.function_call_arguments.delta":
            arguments[event.output_index] += event.delta
        elif kind == "response.function_call_arguments.done":
            assert event.arguments == arguments[event.output_index]
        elif kind == "response.reasoning_summary_text.delta":
            summaries[where] += event.delta
        elif kind == "response.reasoning_summary_text.done":
            assert event.text == summaries[where]
    assert not opened and not parts, f"unclosed items or parts: {names}"
    final = events[-1].response
    assert final.id == events[0].response.id
    assert [item.id for item in final.output] == [done[index].id for index in sorted(done)]
    for index, item in enumerate(final.output):
        if item.type == "message":
            assert [part.text for part in item.content] == [texts[(index, n)] for n in range(len(item.content))]
        elif item.type == "function_call":
            assert item.arguments == arguments[index]
        elif item.type == "reasoning" and item.summary:
            assert [part.text for part in item.summary] == [summaries[(index, n)] for n in range(len(item.summary))]
    return final


def assert_cost(value: Any, cost: float | None) -> None:
    """A reported cost (header text or number) equals the usage line's; an unpriced model has none."""
    if cost is None:
        assert value is None
    else:
        assert float(value) == pytest.approx(cost)


def assert_usage_line(sidecar: SidecarProcess, rid: str, model: str, usage: Any, *, stream: bool) -> dict[str, Any]:
    line = sidecar.usage_for(rid)  # exactly one
    assert line["api"] == "responses" and line["gen_ai.operation.name"] == "chat"
    assert line["gen_ai.request.model"] == model and line["gen_ai.request.stream"] is stream
    assert line["outcome"] == "success"
    assert line["gen_ai.usage.input_tokens"] == usage.input_tokens
    assert line["gen_ai.usage.output_tokens"] == usage.output_tokens
    return line


# MARK: Whole answers


@pytest.mark.parametrize("model", MODELS)
def test_create_answers_a_response_object(sidecar, emulator, model):
    rid = request_id()
    raw = sidecar.client().responses.with_raw_response.create(
        model=model, instructions="Be brief", input="Hello there", metadata={"trace": "t-1"}, temperature=0.5,
        max_output_tokens=500, **named(rid))
    response = raw.parse()

    assert response.object == "response" and response.id.startswith("resp_")
    assert (response.status, response.error, response.incomplete_details) == ("completed", None, None)
    assert response.output_text == reply(model, "Hello there")
    message = next(item for item in response.output if item.type == "message")
    assert (message.role, message.status, [part.type for part in message.content]) == (
        "assistant", "completed", ["output_text"])
    assert (response.instructions, response.metadata, response.temperature, response.max_output_tokens) == (
        "Be brief", {"trace": "t-1"}, 0.5, 500)
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    if model in EMULATED:
        assert response.usage.input_tokens == 4
        assert response.usage.output_tokens == output_tokens(model, "Hello there")
    assert raw.headers["x-request-id"] == rid
    line = assert_usage_line(sidecar, rid, model, response.usage, stream=False)
    assert_cost(raw.headers.get("x-sidecar-cost"), line["cost"])
    assert raw.headers.get("x-sidecar-currency") == (line["currency"] if line["cost"] is not None else None)
    assert "x-sidecar-route" in raw.headers
    if FLAVOURS[model] is None:
        assert emulator.requests() == []
        return
    sent = upstream(emulator, model)
    assert CLIENT_KEY not in json.dumps(sent)
    if model in NATIVE:
        assert sent["path"] == "/openai/v1/responses"
        assert sent["headers"]["authorization"] == "Bearer " + emulator.key("openai")
        assert sent["body"]["model"] == "gpt-4o-mini-2024-07-18" and sent["body"]["input"] == "Hello there"
        assert sent["body"]["metadata"] == {"trace": "t-1"}
    else:
        assert "/responses" not in sent["path"], "a translated model must reach the provider's chat API"


@pytest.mark.parametrize("model", [*TRANSLATED])
def test_translated_usage_carries_the_sidecars_cost(sidecar, emulator, model):
    rid = request_id()
    response = sidecar.client().responses.create(model=model, input="price me", **named(rid))
    line = sidecar.usage_for(rid)

    assert_reached(emulator, model)
    assert (line["cost"] is None) == (model in UNPRICED)

    extra = response.usage.model_extra or {}
    assert_cost(extra.get("cost"), line["cost"])
    if line["cost"] is not None:
        assert extra.get("currency") == line["currency"]
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == (4 if model == "deepseek-reasoner" else 0)


@pytest.mark.parametrize("model", MODELS)
def test_the_answer_validates_against_the_sdks_models(sidecar, model):
    """A strictly validating client raises on any missing or mistyped field of the answer,
    of each stream event and of the stored response."""
    client = sidecar.client(_strict_response_validation=True)
    response = client.responses.create(model=model, input="strict please", tools=[TIME_TOOL], tool_choice="none")
    events = list(client.responses.create(model=model, input="strict please", stream=True))

    assert response.output_text == reply(model, "strict please")
    assert check_stream(events).output_text == reply(model, "strict please")
    assert client.responses.retrieve(response.id).id == response.id


@pytest.mark.parametrize("model", MODELS)
def test_usage_and_cost_equal_the_same_conversation_over_chat(sidecar, emulator, model):
    conversation = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Compare me"}]
    chat_rid, responses_rid = request_id(), request_id()
    chat = sidecar.client().chat.completions.create(model=model, messages=conversation, **named(chat_rid))
    chat_sent = emulator.requests()[-1] if FLAVOURS[model] else None
    response = sidecar.client().responses.create(model=model, instructions="You are terse.", input="Compare me",
                                                 **named(responses_rid))
    chat_line, responses_line = sidecar.usage_for(chat_rid), sidecar.usage_for(responses_rid)

    assert response.output_text == chat.choices[0].message.content
    assert response.usage.input_tokens == chat.usage.prompt_tokens
    assert response.usage.output_tokens == chat.usage.completion_tokens
    for key in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
                "gen_ai.usage.reasoning.output_tokens", "currency", "gen_ai.provider.name", "upstream_model"):
        assert responses_line[key] == chat_line[key], key
    assert_cost(responses_line["cost"], chat_line["cost"])
    if model in TRANSLATED and chat_sent is not None:
        translated = upstream(emulator, model)
        assert translated["path"] == chat_sent["path"]
        for key in ("messages", "system", "contents", "systemInstruction", "input"):
            assert translated["body"].get(key) == chat_sent["body"].get(key), f"the translated {key} differs"


@pytest.mark.parametrize("model", MODELS)
def test_streamed_usage_and_cost_equal_the_same_stream_over_chat(sidecar, emulator, model):
    """Cached and reasoning tokens too: the provider reports them (usage behaviour) for both."""
    usage = {"prompt_tokens": 100, "cached_tokens": 40, "completion_tokens": 50, "reasoning_tokens": 20}
    flavour = FLAVOURS[model]
    if flavour is not None:
        emulator.behaviours(flavour, [{"usage": usage}, {"usage": usage}])
    chat_rid, responses_rid = request_id(), request_id()
    chunks = list(sidecar.client().chat.completions.create(
        model=model, messages=[{"role": "user", "content": "stream the cost"}], stream=True,
        stream_options={"include_usage": True}, **named(chat_rid)))
    final = check_stream(list(sidecar.client().responses.create(model=model, input="stream the cost", stream=True,
                                                                **named(responses_rid))))
    chat_line, responses_line = sidecar.usage_for(chat_rid), sidecar.usage_for(responses_rid)
    chat_usage = next(chunk.usage for chunk in chunks if chunk.usage is not None)

    assert final.usage.input_tokens == chat_usage.prompt_tokens
    assert final.usage.output_tokens == chat_usage.completion_tokens
    assert final.usage.input_tokens_details.cached_tokens == chat_usage.prompt_tokens_details.cached_tokens
    assert final.usage.output_tokens_details.reasoning_tokens == chat_usage.completion_tokens_details.reasoning_tokens
    for key in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.cache_read.input_tokens",
                "gen_ai.usage.reasoning.output_tokens", "currency", "outcome"):
        assert responses_line[key] == chat_line[key], key
    assert_cost(responses_line["cost"], chat_line["cost"])
    if flavour is not None:
        assert final.usage.input_tokens_details.cached_tokens == 40


# MARK: Streams


@pytest.mark.parametrize("model", MODELS)
def test_stream_has_the_real_event_sequence(sidecar, model):
    rid = request_id()
    events = list(sidecar.client().responses.create(model=model, input="stream me please", stream=True,
                                                     **named(rid)))
    final = check_stream(events)
    names = [event.type for event in events]

    assert names[-1] == "response.completed" and final.status == "completed"
    assert final.output_text == reply(model, "stream me please")
    message_index = next(index for index, item in enumerate(final.output) if item.type == "message")
    deltas = [event.delta for event in events
              if event.type == "response.output_text.delta" and event.output_index == message_index]
    assert "".join(deltas) == final.output_text and len(deltas) > 1, "the text must stream, not arrive whole"
    if model == "deepseek-reasoner":
        assert final.output[0].type == "reasoning"
        assert "response.reasoning_summary_text.delta" in names
    if model in EMULATED:
        assert (final.usage.input_tokens, final.usage.output_tokens) == (
            3, output_tokens(model, "stream me please"))
    line = assert_usage_line(sidecar, rid, model, final.usage, stream=True)
    if model in TRANSLATED:
        assert_cost((final.usage.model_extra or {}).get("cost"), line["cost"])


# How many provider stream events carry the first word of the answer, per model.
FIRST_WORD_EVENTS = {"gpt-4o-mini": 5, "deepseek-chat": 2, "qwen-plus": 2, "local-llama": 2, "claude-test": 4,
                     "gemini-test": 1}


@pytest.mark.parametrize("model", list(FIRST_WORD_EVENTS))
def test_events_are_forwarded_as_they_arrive(sidecar, emulator, model):
    """The provider sends the events up to its first word, then waits at a gate until the client
    has received that word as a delta: a sidecar that buffered would hold it back and the gate
    would open by its time-out instead. Order, not timing."""
    gate = f"responses-first-word-{model}"
    emulator.behaviours(FLAVOURS[model], [{"gate": gate, "gate_after_chunks": FIRST_WORD_EVENTS[model]}])
    opened_while_waiting = None
    deltas = []
    for event in sidecar.client().responses.create(model=model, input="a b c", stream=True):
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
            if opened_while_waiting is None:
                opened_while_waiting = emulator.open_gate(gate)

    assert opened_while_waiting is True, "the first word reached the client only after the provider went on"
    assert "".join(deltas) == reply(model, "a b c")


@pytest.mark.parametrize("model", MODELS)
def test_each_sse_frame_names_its_event(sidecar, model):
    with httpx.Client(timeout=30) as http:
        answer = http.post(sidecar.base_url + "/v1/responses", json={"model": model, "input": "frames", "stream": True},
                           headers={"Authorization": f"Bearer {CLIENT_KEY}"})
    frames = [frame for frame in answer.text.replace("\r\n", "\n").split("\n\n") if frame.strip()]

    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
    assert "x-sidecar-route" in answer.headers
    for frame in frames:
        fields = dict(line.split(": ", 1) for line in frame.split("\n") if not line.startswith(":"))
        assert json.loads(fields["data"])["type"] == fields["event"], frame
    assert "[DONE]" not in answer.text


@pytest.mark.parametrize("model", MODELS)
def test_stream_helper_and_get_final_response(sidecar, model):
    with sidecar.client().responses.stream(model=model, input="helper stream") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()

    assert final.output_text == reply(model, "helper stream") == "".join(deltas)
    assert final.usage.output_tokens > 0


# MARK: Structured output, tools, images


@pytest.mark.parametrize("model", EMULATED)
def test_parse_with_a_pydantic_text_format(sidecar, model):
    client = sidecar.client()
    parsed = client.responses.parse(model=model, input="The weather as JSON", text_format=Weather)
    json_object = client.responses.create(model=model, input="JSON please", text={"format": {"type": "json_object"}})
    over_chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "JSON please"}],
                                               response_format={"type": "json_object"})

    assert parsed.output_parsed == Weather(city="Florence, Italy", degrees=42)
    # JSON mode answers as it does over chat (Anthropic's is a forced tool without properties: {}).
    assert json.loads(json_object.output_text) == json.loads(over_chat.choices[0].message.content)
    assert isinstance(json.loads(json_object.output_text), dict)


@pytest.mark.parametrize("model", EMULATED)
def test_function_tool_round_trip_by_replaying_the_input(sidecar, emulator, model):
    client = sidecar.client()
    first = client.responses.create(model=model, input=TOOL_QUESTION, tools=[WEATHER_TOOL, TIME_TOOL])
    [call] = [item for item in first.output if item.type == "function_call"]
    assert (call.name, json.loads(call.arguments), first.status) == ("weather", ARGS, "completed")
    assert call.call_id and first.output_text == ""

    history = [{"role": "user", "content": TOOL_QUESTION}, *[item.model_dump(exclude_none=True) for item in first.output],
               {"type": "function_call_output", "call_id": call.call_id, "output": "40 C"}]
    second = client.responses.create(model=model, input=history, tools=[WEATHER_TOOL, TIME_TOOL])

    assert second.output_text == "The tool said: 40 C"
    assert_reached(emulator, model)
    if model in TRANSLATED:
        sent = json.dumps(upstream(emulator, model)["body"])
        assert "40 C" in sent and "weather" in sent


@pytest.mark.parametrize("model", EMULATED)
def test_function_tool_round_trip_with_previous_response_id_and_streams(sidecar, emulator, model):
    client = sidecar.client()
    events = list(client.responses.create(model=model, input=TOOL_QUESTION, tools=[WEATHER_TOOL], stream=True))
    first = check_stream(events)
    [call] = [item for item in first.output if item.type == "function_call"]
    names = [event.type for event in events]
    assert "response.function_call_arguments.delta" in names and "response.function_call_arguments.done" in names
    assert json.loads(call.arguments) == ARGS

    with client.responses.stream(model=model, previous_response_id=first.id, tools=[WEATHER_TOOL], input=[
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]) as stream:
        second = stream.get_final_response()

    assert second.output_text == "The tool said: sunny" and second.previous_response_id == first.id
    assert_reached(emulator, model)


def test_gemini_thought_signatures_survive_a_stored_turn(sidecar, emulator):
    """Gemini signs its function calls (`thoughtSignature`) and wants the signature back with the
    call; the sidecar holds it in the stored response, so the next turn sends the real one rather
    than the `skip_thought_signature_validator` stand-in meant for histories that lost it — as the
    chat path does when the client hands back `extra_content.google.thought_signature`."""
    client = sidecar.client()
    first = client.responses.create(model="gemini-test", input=TOOL_QUESTION, tools=[WEATHER_TOOL])
    [call] = [item for item in first.output if item.type == "function_call"]
    signed = emulator.requests("gemini")
    client.responses.create(model="gemini-test", previous_response_id=first.id, tools=[WEATHER_TOOL],
                            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])

    expected = base64.b64encode(hashlib.sha256(call.arguments.encode()).digest() * 4).decode()  # the emulator's
    assert len(signed) == 1
    model_turn = next(content for content in emulator.requests("gemini")[-1]["body"]["contents"]
                      if content["role"] == "model")
    assert model_turn["parts"][0].get("thoughtSignature") == expected


@pytest.mark.parametrize("model", EMULATED)
def test_parallel_and_forced_tool_calls(sidecar, emulator, model):
    client = sidecar.client()
    both = client.responses.create(model=model, input="weather and time in parallel", tools=[WEATHER_TOOL, TIME_TOOL])
    forced = client.responses.create(model=model, input=TOOL_QUESTION, tools=[WEATHER_TOOL, TIME_TOOL],
                                     tool_choice={"type": "function", "name": "time"})

    assert [item.name for item in both.output if item.type == "function_call"] == ["weather", "time"]
    calls = [item for item in forced.output if item.type == "function_call"]
    assert [(item.name, json.loads(item.arguments)) for item in calls] == [("time", {"zone": "Florence, Italy"})]
    assert len({item.call_id for item in both.output if item.type == "function_call"}) == 2
    assert_reached(emulator, model)


@pytest.mark.parametrize("model", ["gpt-4o-mini", "qwen-plus", "claude-test", "gemini-test", "local-llama"])
def test_image_input(sidecar, emulator, model):
    response = sidecar.client().responses.create(model=model, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "What is in this image?"},
        {"type": "input_image", "image_url": PNG, "detail": "low"}]}])

    assert response.output_text == reply(model, "What is in this image?")
    assert response.usage.input_tokens == 5, "images count no tokens in the emulator"
    assert_reached(emulator, model)
    assert "iVBORw0KGgo=" in json.dumps(upstream(emulator, model)["body"])


# MARK: Reasoning


@pytest.mark.parametrize("model", THINKERS)
def test_reasoning_summaries_from_thinking_providers(sidecar, emulator, model):
    client = sidecar.client()
    asked = {"reasoning": {"effort": "high", "summary": "auto"}}
    response = client.responses.create(model=model, input="think deeply", **asked)
    events = list(client.responses.create(model=model, input="think deeply", stream=True, **asked))
    final = check_stream(events)

    for answer in (response, final):
        reasoning, message = answer.output[0], answer.output[-1]
        assert reasoning.type == "reasoning" and message.type == "message"
        assert [(part.type, part.text) for part in reasoning.summary] == [("summary_text", thought("think deeply"))]
        assert answer.output_text == reply(model, "think deeply")
        # "Thinking about: think deeply" is 4 tokens; Anthropic bills thinking without a separate count.
        assert answer.usage.output_tokens_details.reasoning_tokens == (0 if model == "claude-test" else 4)
    names = [event.type for event in events]
    assert names.index("response.reasoning_summary_part.added") < names.index("response.output_text.delta")
    assert_reached(emulator, model)


# MARK: Conversation state


@pytest.mark.parametrize("model", EMULATED)
def test_two_turns_with_previous_response_id(sidecar, emulator, model):
    client = sidecar.client()
    first = client.responses.create(model=model, instructions="Be brief", input="My name is Ada")
    second = client.responses.create(model=model, input="What is my name?", previous_response_id=first.id)

    assert second.output_text == reply(model, "What is my name?")
    assert second.previous_response_id == first.id and second.id != first.id
    # The first input and output count again; instructions are not carried over (as at OpenAI).
    assert second.usage.input_tokens == 4 + tokens(first.output_text) + 4
    assert_reached(emulator, model)
    if FLAVOURS[model] in ("deepseek", "custom") and model in TRANSLATED:
        messages = upstream(emulator, model)["body"]["messages"]
        assert [(m["role"], m.get("content")) for m in messages] == [
            ("user", "My name is Ada"), ("assistant", first.output_text), ("user", "What is my name?")]


@pytest.mark.parametrize("model", [*TRANSLATED])
def test_stored_responses_can_be_read_listed_and_deleted(sidecar, emulator, model):
    client = sidecar.client()
    created = client.responses.create(model=model, input=[
        {"role": "developer", "content": "Be brief"},
        {"role": "user", "content": [{"type": "input_text", "text": "Remember me"}]}])
    retrieved = client.responses.retrieve(created.id)
    items = client.responses.input_items.list(created.id)
    deleted = client.responses.with_raw_response.delete(created.id)

    assert retrieved.id == created.id and retrieved.output_text == created.output_text
    assert retrieved.usage.output_tokens == created.usage.output_tokens
    texts = [(item.role, item.content[0].text) for item in items.data]
    assert sorted(texts) == [("developer", "Be brief"), ("user", "Remember me")]
    assert items.object == "list"
    assert deleted.http_response.json() == {"id": created.id, "object": "response", "deleted": True}
    assert not [r for r in emulator.requests("openai") if created.id in r["path"]], \
        "a stored response is answered by the sidecar, not the passthrough provider"
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    with pytest.raises(openai.BadRequestError) as continued:
        client.responses.create(model=model, input="again", previous_response_id=created.id)
    assert continued.value.body["code"] == "previous_response_not_found"


def test_native_stored_responses_are_the_providers(sidecar, emulator):
    client = sidecar.client()
    created = client.responses.create(model="gpt-4o-mini", input="keep me")
    retrieved = client.responses.retrieve(created.id)
    second = client.responses.create(model="gpt-4o-mini", input="and me", previous_response_id=created.id)
    client.responses.delete(created.id)

    assert retrieved.output_text == created.output_text
    assert second.usage.input_tokens == 2 + tokens(created.output_text) + 2
    paths = [(r["method"], r["path"]) for r in emulator.requests("openai")]
    assert ("GET", f"/openai/v1/responses/{created.id}") in paths
    assert ("DELETE", f"/openai/v1/responses/{created.id}") in paths
    assert emulator.requests("openai")[2]["body"]["previous_response_id"] == created.id


@pytest.mark.parametrize("model", ["deepseek-chat", "claude-test", "demo"])
def test_store_false_is_not_kept(sidecar, emulator, model):
    client = sidecar.client()
    response = client.responses.create(model=model, input="forget me", store=False)
    assert_reached(emulator, model)

    assert response.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.BadRequestError) as continued:
        client.responses.create(model=model, input="again", previous_response_id=response.id)
    assert continued.value.body["param"] == "previous_response_id"


@pytest.mark.parametrize("model", MODELS)
def test_an_unknown_previous_response_id_is_openais_400(sidecar, emulator, model):
    with pytest.raises(openai.BadRequestError) as caught:
        sidecar.client().responses.create(model=model, input="hi", previous_response_id="resp_never_made")

    assert caught.value.status_code == 400
    assert caught.value.body["type"] == "invalid_request_error"
    assert (caught.value.body["param"], caught.value.body["code"]) == (
        "previous_response_id", "previous_response_not_found")
    assert "resp_never_made" in caught.value.body["message"]
    if model in TRANSLATED:
        assert emulator.requests() == [], "the sidecar's own store answers for translated models"


def test_an_unknown_id_goes_to_the_passthrough_provider(sidecar, emulator):
    with pytest.raises(openai.NotFoundError) as caught:
        sidecar.client().responses.retrieve("resp_only_the_provider_knows")

    assert caught.value.body["message"] == "Response with id 'resp_only_the_provider_knows' not found."
    sent = emulator.requests("openai")[-1]
    assert (sent["method"], sent["path"]) == ("GET", "/openai/v1/responses/resp_only_the_provider_knows")
    assert sent["headers"]["authorization"] == "Bearer " + emulator.key("openai")


# MARK: What translation cannot do


@pytest.mark.parametrize("tool", HOSTED_TOOLS, ids=[tool["type"] for tool in HOSTED_TOOLS])
@pytest.mark.parametrize("model", ["deepseek-chat", "claude-test", "gemini-test"])
def test_built_in_tools_on_a_translated_route_are_a_400_naming_the_tool(sidecar, emulator, model, tool):
    with pytest.raises(openai.BadRequestError) as caught:
        sidecar.client().responses.create(model=model, input="search the web", tools=[WEATHER_TOOL, tool])

    assert caught.value.body["param"] in ("tools", "tools[1]", "tools[1].type")
    assert caught.value.body["type"] == "invalid_request_error"
    assert tool["type"] in caught.value.body["message"]
    assert emulator.requests() == []


def test_built_in_tools_pass_through_to_a_native_provider(sidecar, emulator):
    response = sidecar.client().responses.create(model="gpt-4o-mini", input="search the web", tools=HOSTED_TOOLS)

    assert response.status == "completed"
    assert upstream(emulator, "gpt-4o-mini")["body"]["tools"] == HOSTED_TOOLS


@pytest.mark.parametrize("model", ["deepseek-chat", "gemini-test", "demo"])
def test_background_on_a_translated_route_is_a_400(sidecar, emulator, model):
    with pytest.raises(openai.BadRequestError) as caught:
        sidecar.client().responses.create(model=model, input="later", background=True)

    assert caught.value.body["param"] == "background"
    assert emulator.requests() == []


@pytest.mark.parametrize("model", EMULATED)
def test_the_output_limit_makes_an_incomplete_response(sidecar, emulator, model):
    client = sidecar.client()
    whole = client.responses.create(model=model, input="cut me short please", max_output_tokens=3)
    events = list(client.responses.create(model=model, input="cut me short please", max_output_tokens=3, stream=True))
    final = check_stream(events)

    for answer in (whole, final):
        assert (answer.status, answer.incomplete_details.reason) == ("incomplete", "max_output_tokens")
        assert answer.output_text == "Hello from the"
    assert events[-1].type == "response.incomplete"
    assert_reached(emulator, model)


# MARK: Errors and the rest of the pipeline


@pytest.mark.parametrize(("model", "flavour", "behaviour", "error"), [
    ("gpt-4o-mini", "openai", {"status": 429}, openai.RateLimitError),
    ("deepseek-chat", "deepseek", {"status": 429}, openai.RateLimitError),
    ("claude-test", "anthropic", {"status": 529}, openai.InternalServerError),
    ("gemini-test", "gemini", {"status": 400}, openai.BadRequestError),
])
def test_provider_errors_are_openai_errors(sidecar, emulator, model, flavour, behaviour, error):
    emulator.cycle(flavour, [behaviour])  # every retry fails the same way
    rid = request_id()
    try:
        with pytest.raises(error) as caught:
            sidecar.client().responses.create(model=model, input="fail", **named(rid))
    finally:
        emulator.cycle(flavour, [])

    assert set(caught.value.body) >= {"message", "type", "param", "code"}
    assert sidecar.usage_for(rid)["outcome"] != "success"


MID_STREAM_FAULTS = {"error": {"stream_error": {"type": "server_error", "message": "boom"}},
                     "garbage": {"garbage": True}, "reset": {"reset_after_chunks": 3}}


@pytest.mark.parametrize("fault", list(MID_STREAM_FAULTS))
@pytest.mark.parametrize(("model", "flavour"), [("deepseek-chat", "deepseek"), ("claude-test", "anthropic"),
                                                ("gemini-test", "gemini"), ("gpt-4o-mini", "openai")])
def test_a_provider_failing_mid_stream_ends_in_failure_not_completion(sidecar, emulator, model, flavour, fault):
    emulator.behaviours(flavour, [MID_STREAM_FAULTS[fault]])
    rid = request_id()
    events = []
    try:
        for event in sidecar.client().responses.create(model=model, input="break", stream=True, **named(rid)):
            events.append(event)
    except openai.APIError:
        pass
    names = [event.type for event in events]

    assert names and names[0] == "response.created"
    assert "response.completed" not in names
    assert names[-1] in ("response.failed", "error"), names
    assert sidecar.usage_for(rid)["outcome"] != "success"


def test_metadata_task_type_and_header_route_auto(emulator, tmp_path):
    text = configuration(emulator) + """
routes:
  translation: { primary: [deepseek-chat] }
  code_generation: { primary: [claude-test] }
  default: { primary: [gpt-4o-mini] }
"""
    process = SidecarProcess(tmp_path / "routed", text, provider_keys(emulator))
    try:
        client = process.client()
        by_metadata = client.responses.with_raw_response.create(model="auto", input="route me",
                                                                 metadata={"task_type": "translation"})
        by_header = client.responses.with_raw_response.create(model="auto", input="route me",
                                                               extra_headers={"X-Task-Type": "code_generation"})
        by_default = client.responses.with_raw_response.create(model="auto", input="route me")
        lines = [process.usage_for(raw.headers["x-request-id"]) for raw in (by_metadata, by_header, by_default)]
    finally:
        process.stop()

    assert by_metadata.parse().output_text == reply("deepseek-chat", "route me")
    assert by_header.parse().output_text == reply("claude-test", "route me")
    assert by_default.parse().output_text == reply("gpt-4o-mini", "route me")
    assert [line["task_type"] for line in lines][:2] == ["translation", "code_generation"]
    assert lines[2]["task_type"] in (None, "default")
    assert all(line["api"] == "responses" for line in lines)


def test_a_failing_native_primary_falls_back_to_a_translated_model(emulator, tmp_path):
    text = configuration(emulator, extra_models="""  resp-primary:
    provider: openai
    upstream_model: gpt-4o-mini
    fallbacks: [deepseek-chat]
""")
    process = SidecarProcess(tmp_path / "fallback", text, provider_keys(emulator))
    emulator.cycle("openai", [{"status": 500}])
    try:
        raw = process.client().responses.with_raw_response.create(model="resp-primary", input="fall back")
        events = list(process.client().responses.create(model="resp-primary", input="fall back", stream=True))
        line = process.usage_for(raw.headers["x-request-id"])
    finally:
        emulator.cycle("openai", [])
        process.stop()

    assert raw.parse().output_text == reply("deepseek-chat", "fall back")
    assert raw.headers["x-sidecar-route"].startswith("model=deepseek-chat; deployment=deepseek/deepseek-chat; "
                                                     "role=fallback; after=openai/gpt-4o-mini:upstream_error")
    assert check_stream(events).output_text == reply("deepseek-chat", "fall back")
    assert [step["outcome"] for step in line["route"]][-1] == "served"
    assert any(r["path"].endswith("/responses") for r in emulator.requests("openai"))


# MARK: Clients, quotas, metrics


def test_client_tokens_restrict_models_and_name_the_client(emulator, tmp_path):
    digest = hashlib.sha256(BOB.encode()).hexdigest()
    text = configuration(emulator) + f"\nclients:\n  bob:\n    token_sha256: {digest}\n    models: [deepseek-chat]\n"
    process = SidecarProcess(tmp_path / "clients", text, provider_keys(emulator))
    try:
        bob = process.client(api_key=BOB)
        rid = request_id()
        allowed = bob.responses.create(model="deepseek-chat", input="for bob", **named(rid))
        with pytest.raises(openai.PermissionDeniedError) as denied:
            bob.responses.create(model="claude-test", input="not for bob")
        with pytest.raises(openai.AuthenticationError) as unknown:
            process.client(api_key="sk-not-a-client").responses.create(model="deepseek-chat", input="who?")
        line = process.usage_for(rid)
    finally:
        process.stop()

    assert allowed.output_text == reply("deepseek-chat", "for bob")
    assert line["client"] == "bob" and line["api"] == "responses"
    assert denied.value.body["type"] and unknown.value.status_code == 401
    assert [request["flavour"] for request in emulator.requests()] == ["deepseek"]


def test_quotas_count_responses_requests(emulator, tmp_path):
    text = configuration(emulator) + "\nquotas:\n  global:\n    requests_per_minute: 2\n"
    process = SidecarProcess(tmp_path / "quota", text, provider_keys(emulator))
    if time.time() % 60 > 50:  # keep the three requests inside one quota window
        time.sleep(60 - time.time() % 60 + 0.1)
    try:
        client = process.client()
        client.responses.create(model="deepseek-chat", input="one")
        client.responses.create(model="gpt-4o-mini", input="two")
        with pytest.raises(openai.RateLimitError) as limited:
            client.responses.create(model="deepseek-chat", input="three", stream=True)
    finally:
        process.stop()

    assert limited.value.body["code"] == "quota_exceeded"
    assert "retry-after" in limited.value.response.headers
    assert len(emulator.requests()) == 2


def test_metrics_name_the_responses_api(sidecar):
    sidecar.client().responses.create(model="deepseek-chat", input="count me")
    with httpx.Client(timeout=10) as http:
        text = http.get(sidecar.base_url + "/metrics").text

    samples = [line for line in text.splitlines() if line.startswith("llm_sidecar_requests_total{")]
    assert any(re.search(r'api="responses"', line) and 'operation="chat"' in line and 'model="deepseek-chat"' in line
               for line in samples), samples


def test_the_responses_provider_option_chooses_native_or_translated(emulator, tmp_path):
    providers = f"""providers:
  custom-native:
    dialect: openai-compatible
    base_url: {emulator.base_url("custom")}
    responses: native
  openai-translated:
    dialect: openai
    base_url: {emulator.base_url("openai")}
    api_key_env: E2E_OPENAI_KEY
    responses: translate
"""
    models = "  native-llama:\n    provider: custom-native\n  translated-gpt:\n    provider: openai-translated\n"
    text = configuration(emulator, extra_models=models).replace("providers:\n", providers, 1)
    process = SidecarProcess(tmp_path / "options", text, provider_keys(emulator))
    try:
        client = process.client()
        native = client.responses.create(model="native-llama", input="natively")
        translated = client.responses.create(model="translated-gpt", input="translated")
        streamed = check_stream(list(client.responses.create(model="translated-gpt", input="translated", stream=True)))
    finally:
        process.stop()

    assert native.output_text == "Hello from the custom emulator. You said: natively"
    assert translated.output_text == streamed.output_text == "Hello from the openai emulator. You said: translated"
    paths = [(request["flavour"], request["path"]) for request in emulator.requests()]
    assert paths == [("custom", "/custom/v1/responses"), ("openai", "/openai/v1/chat/completions"),
                     ("openai", "/openai/v1/chat/completions")]


def test_concurrent_streams_each_get_their_own_answer_and_line(sidecar):
    results: dict[str, tuple[str, str]] = {}

    def run(index: int) -> None:
        model = ["deepseek-chat", "claude-test", "gemini-test", "gpt-4o-mini"][index % 4]
        rid = f"resp-conc-{uuid.uuid4().hex[:8]}-{index}"
        events = list(sidecar.client().responses.create(model=model, input=f"number {index}", stream=True, **named(rid)))
        results[rid] = (model, check_stream(events).output_text)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 32
    for rid, (model, text) in results.items():
        assert text == reply(model, f"number {rid.rsplit('-', 1)[1]}")
        line = sidecar.usage_for(rid)
        assert line["outcome"] == "success" and line["api"] == "responses"


def test_each_stored_response_request_writes_one_usage_line(sidecar):
    """The sidecar's promise of one usage line per request holds for the requests its store
    answers, as it does when the passthrough provider answers them."""
    client = sidecar.client()
    created = client.responses.create(model="deepseek-chat", input="account for me")
    rids = {name: request_id() for name in ("retrieve", "input_items", "delete")}
    client.responses.retrieve(created.id, **named(rids["retrieve"]))
    client.responses.input_items.list(created.id, **named(rids["input_items"]))
    client.responses.delete(created.id, **named(rids["delete"]))

    for name, rid in rids.items():
        line = sidecar.usage_for(rid)
        assert line["http.response.status_code"] == 200 and line["outcome"] == "success", name


def test_stored_response_requests_count_against_the_quota(emulator, tmp_path):
    text = configuration(emulator) + "\nquotas:\n  global:\n    requests_per_minute: 2\n"
    process = SidecarProcess(tmp_path / "store-quota", text, provider_keys(emulator))
    if time.time() % 60 > 50:  # keep the three requests inside one quota window
        time.sleep(60 - time.time() % 60 + 0.1)
    try:
        client = process.client()
        created = client.responses.create(model="deepseek-chat", input="one")
        client.responses.retrieve(created.id)
        with pytest.raises(openai.RateLimitError) as limited:
            client.responses.retrieve(created.id)
    finally:
        process.stop()

    assert limited.value.body["code"] == "quota_exceeded"


def test_a_stored_response_belongs_to_the_client_that_made_it(emulator, tmp_path):
    clients = "".join(f"\n  {name}:\n    token_sha256: {hashlib.sha256(token.encode()).hexdigest()}"
                      for name, token in (("bob", BOB), ("alice", ALICE)))
    process = SidecarProcess(tmp_path / "owners", configuration(emulator) + "\nclients:" + clients + "\n",
                             provider_keys(emulator))
    try:
        bob, alice = process.client(api_key=BOB), process.client(api_key=ALICE)
        created = bob.responses.create(model="deepseek-chat", input="mine")
        with pytest.raises(openai.NotFoundError):
            alice.responses.retrieve(created.id)
        with pytest.raises(openai.NotFoundError):
            alice.responses.delete(created.id)
        with pytest.raises(openai.BadRequestError):
            alice.responses.create(model="deepseek-chat", input="steal", previous_response_id=created.id)
        with pytest.raises(openai.AuthenticationError):
            process.client(api_key="sk-nobody").responses.retrieve(created.id)
        still_there = bob.responses.retrieve(created.id)
    finally:
        process.stop()

    assert still_there.output_text == created.output_text


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("model", ["gpt-4o-mini", "deepseek-chat"])
def test_a_provider_that_reports_no_usage_is_estimated_like_chat(sidecar, emulator, model, stream):
    """Without provider usage the sidecar estimates it, so the request is neither free nor outside
    the token quotas: as over chat for the same conversation."""
    emulator.behaviours(FLAVOURS[model], [{"no_usage": True}, {"no_usage": True}])
    chat_rid, responses_rid = request_id(), request_id()
    answer = sidecar.client().chat.completions.create(
        model=model, messages=[{"role": "user", "content": "one two three four"}], stream=stream, **named(chat_rid))
    if stream:
        list(answer)
    answer = sidecar.client().responses.create(model=model, input="one two three four", stream=stream,
                                               **named(responses_rid))
    if stream:
        list(answer)
    chat_line, line = sidecar.usage_for(chat_rid), sidecar.usage_for(responses_rid)

    assert line["usage_source"] == "estimated"
    assert line["gen_ai.usage.input_tokens"] > 0 and line["gen_ai.usage.output_tokens"] > 0 and line["cost"] > 0
    assert line["gen_ai.usage.output_tokens"] == chat_line["gen_ai.usage.output_tokens"]


def test_a_stored_conversation_continues_on_another_translated_provider(sidecar, emulator):
    """Stored conversations are provider-neutral: a tool call Claude made is answered on Gemini,
    then on DeepSeek, each turn continuing the previous one."""
    client = sidecar.client()
    first = client.responses.create(model="claude-test", input=TOOL_QUESTION, tools=[WEATHER_TOOL])
    [call] = [item for item in first.output if item.type == "function_call"]
    second = client.responses.create(model="gemini-test", previous_response_id=first.id, tools=[WEATHER_TOOL],
                                     input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    third = client.responses.create(model="deepseek-chat", previous_response_id=second.id, input="Thanks!")

    assert second.output_text == "The tool said: sunny"
    assert third.output_text == reply("deepseek-chat", "Thanks!")
    messages = emulator.requests("deepseek")[-1]["body"]["messages"]
    assert [message["role"] for message in messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert messages[1]["tool_calls"][0]["id"] == messages[2]["tool_call_id"] == call.call_id


@pytest.mark.parametrize("model", THINKERS)
def test_thinking_then_a_tool_call_streams_as_two_items(sidecar, model):
    events = list(sidecar.client().responses.create(
        model=model, input=TOOL_QUESTION, tools=[WEATHER_TOOL], stream=True,
        reasoning={"effort": "high", "summary": "auto"}))
    final = check_stream(events)

    assert [item.type for item in final.output] == ["reasoning", "function_call"]
    assert final.output[0].summary[0].text == thought(TOOL_QUESTION)
    assert json.loads(final.output[1].arguments) == ARGS
    added = [event.item.type for event in events if event.type == "response.output_item.added"]
    assert added == ["reasoning", "function_call"]


@pytest.mark.parametrize("model", ["deepseek-reasoner", "claude-test", "demo"])
def test_a_streamed_response_is_stored_as_streamed(sidecar, model):
    client = sidecar.client()
    final = check_stream(list(client.responses.create(model=model, input="keep the stream", stream=True)))
    stored = client.responses.retrieve(final.id)

    assert [item.id for item in stored.output] == [item.id for item in final.output]
    assert stored.output_text == final.output_text and stored.status == "completed"
    assert (stored.usage.input_tokens, stored.usage.output_tokens) == (final.usage.input_tokens,
                                                                       final.usage.output_tokens)


@pytest.mark.parametrize("model", ["gpt-4o-mini", "deepseek-chat"])
def test_retrieving_a_stored_response_as_a_stream_replays_it_or_says_why_not(sidecar, model):
    """`GET /v1/responses/{id}?stream=true`: OpenAI replays the response's events. A store that
    cannot replay must say so (400 naming `stream`), not answer JSON the SDK reads as no events."""
    client = sidecar.client()
    created = client.responses.create(model=model, input="replay me")
    try:
        events = list(client.responses.retrieve(created.id, stream=True))
    except openai.BadRequestError as error:
        assert error.body["param"] == "stream"
        return
    assert events and events[-1].type == "response.completed"
    assert check_stream(events).id == created.id and events[-1].response.output_text == created.output_text


def test_a_stored_conversation_falls_back_to_a_native_provider_in_full(emulator, tmp_path):
    """A native fallback does not know the sidecar's response ids: it gets the stored turns as input."""
    text = configuration(emulator, extra_models="""  resp-translated:
    provider: deepseek
    upstream_model: deepseek-chat
    fallbacks: [gpt-4o-mini]
""")
    process = SidecarProcess(tmp_path / "fallback-native", text, provider_keys(emulator))
    try:
        client = process.client()
        first = client.responses.create(model="resp-translated", input="My name is Ada")
        emulator.cycle("deepseek", [{"status": 500}])
        raw = client.responses.with_raw_response.create(model="resp-translated", input="What is my name?",
                                                        previous_response_id=first.id)
    finally:
        emulator.cycle("deepseek", [])
        process.stop()

    assert "role=fallback" in raw.headers["x-sidecar-route"]
    assert raw.parse().output_text == reply("gpt-4o-mini", "What is my name?")
    sent = emulator.requests("openai")[-1]["body"]
    assert "previous_response_id" not in sent
    assert "My name is Ada" in json.dumps(sent["input"]) and first.output_text in json.dumps(sent["input"])
