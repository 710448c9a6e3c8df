"""The OpenAI Agents SDK (`openai-agents`) through the sidecar with its default model settings:
the Responses API (issue 15). A triage agent with two function tools and a handoff to a second
agent runs against the OpenAI emulator (native Responses) and the Anthropic and Gemini emulators
(translated through the chat model), whole and streamed.

The emulator's rules (README.md) make the run deterministic: the user text says "every tool",
so the first answer calls both tools and the handoff (`transfer_to_clock`) at once; the SDK runs
the tools, hands the conversation to the clock agent, whose request ends with the three tool
outputs, so it answers `The tool said: <weather>; <time>; {"assistant": "Clock"}`. No tracing
and no network beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"  # before the SDK reads it

import openai
import pytest
from agents import (Agent, HandoffCallItem, HandoffOutputItem, RunConfig, Runner, ToolCallItem, ToolCallOutputItem,
                    function_tool, set_default_openai_client, set_tracing_disabled)

from sidecar import CLIENT_KEY

MODELS = {"gpt-4o-mini": "openai", "claude-test": "anthropic", "gemini-test": "gemini"}
QUESTION = "Use every tool please"
TOOLS_SAID = "The tool said: sunny in Florence, Italy; noon in Florence, Italy; "


def handoff_said(model: str) -> Any:
    """How the clock agent's answer renders the handoff's output `{"assistant": "Clock"}`: Gemini
    gets a JSON tool output as a structured functionResponse `{"result": …}`, which the
    emulator shows as its JSON."""
    return {"result": {"assistant": "Clock"}} if model == "gemini-test" else {"assistant": "Clock"}


def assert_final(text: str, model: str) -> None:
    assert text.startswith(TOOLS_SAID), text
    assert json.loads(text[len(TOOLS_SAID):]) == handoff_said(model)


def agents_for(model: str, ran: list[tuple[str, str]]) -> Agent:
    """The triage agent (tools `get_weather`, `get_time`, a handoff to `Clock`), recording tool runs in `ran`."""

    @function_tool
    def get_weather(location: str) -> str:
        """The weather for a location."""
        ran.append(("weather", location))
        return f"sunny in {location}"

    @function_tool
    def get_time(zone: str) -> str:
        """The local time in a zone."""
        ran.append(("time", zone))
        return f"noon in {zone}"

    clock = Agent(name="Clock", instructions="Report what the tools said.", model=model)
    return Agent(name="Triage", instructions="Use your tools, then hand off to Clock.", model=model,
                 tools=[get_weather, get_time], handoffs=[clock])


@pytest.fixture
def agents_client(sidecar):
    client = openai.AsyncOpenAI(base_url=sidecar.base_url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    set_default_openai_client(client, use_for_tracing=False)
    set_tracing_disabled(True)
    return client


def new_usage_lines(sidecar, before: int, count: int) -> list[dict]:
    lines = sidecar.wait_for_usage_lines(before + count)[before:]
    assert len(lines) == count, [line["gen_ai.request.model"] for line in lines]
    return lines


def assert_the_run(result, ran, sidecar, emulator, model, before) -> None:
    assert ran == [("weather", "Florence, Italy"), ("time", "Florence, Italy")]
    assert result.last_agent.name == "Clock"
    assert_final(result.final_output, model)
    kinds = [type(item) for item in result.new_items]
    assert kinds.count(ToolCallItem) == 2 and kinds.count(ToolCallOutputItem) == 2
    assert HandoffCallItem in kinds and HandoffOutputItem in kinds
    assert kinds.index(HandoffOutputItem) < len(kinds) - 1, "the clock agent answered after the handoff"

    lines = new_usage_lines(sidecar, before, 2)  # one per model request: triage, then clock
    assert all(line["api"] == "responses" and line["gen_ai.operation.name"] == "chat" for line in lines)
    assert all(line["gen_ai.request.model"] == model and line["outcome"] == "success" for line in lines)
    usage = result.context_wrapper.usage
    assert usage.requests == 2
    assert usage.input_tokens == sum(line["gen_ai.usage.input_tokens"] for line in lines)
    assert usage.output_tokens == sum(line["gen_ai.usage.output_tokens"] for line in lines)

    sent = emulator.requests(MODELS[model])
    assert len(sent) == 2
    if model == "gpt-4o-mini":
        assert all(request["path"] == "/openai/v1/responses" for request in sent)
        assert sent[0]["body"]["model"] == "gpt-4o-mini-2024-07-18"
    else:
        assert all("/responses" not in request["path"] for request in sent)
    assert "noon in Florence, Italy" in str(sent[1]["body"]) and "transfer_to_clock" in str(sent[0]["body"])


@pytest.mark.parametrize("model", list(MODELS))
def test_an_agent_with_tools_and_a_handoff(sidecar, emulator, agents_client, model):
    ran: list[tuple[str, str]] = []
    before = len(sidecar.wait_for_usage_lines(0))
    result = Runner.run_sync(agents_for(model, ran), QUESTION, run_config=RunConfig(tracing_disabled=True))

    assert_the_run(result, ran, sidecar, emulator, model, before)


@pytest.mark.parametrize("model", list(MODELS))
def test_an_agent_with_tools_and_a_handoff_streamed(sidecar, emulator, agents_client, model):
    ran: list[tuple[str, str]] = []
    before = len(sidecar.wait_for_usage_lines(0))

    async def run():
        streamed = Runner.run_streamed(agents_for(model, ran), QUESTION, run_config=RunConfig(tracing_disabled=True))
        deltas = []
        async for event in streamed.stream_events():
            if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
                deltas.append(event.data.delta)
        return streamed, deltas

    result, deltas = asyncio.run(run())

    assert "".join(deltas) == result.final_output and len(deltas) > 1
    assert_the_run(result, ran, sidecar, emulator, model, before)
    assert all(line["gen_ai.request.stream"] is True for line in sidecar.usage_lines()[before:])


@pytest.mark.parametrize("model", list(MODELS))
def test_a_second_run_continues_with_previous_response_id(sidecar, emulator, agents_client, model):
    agent = Agent(name="Memory", instructions="Remember.", model=model)
    first = Runner.run_sync(agent, "My name is Ada", run_config=RunConfig(tracing_disabled=True))
    second = Runner.run_sync(agent, "What is my name?", previous_response_id=first.last_response_id,
                             run_config=RunConfig(tracing_disabled=True))

    flavour = MODELS[model]
    assert first.final_output == f"Hello from the {flavour} emulator. You said: My name is Ada"
    assert second.final_output == f"Hello from the {flavour} emulator. You said: What is my name?"
    assert second.last_response_id != first.last_response_id
    sent = emulator.requests(flavour)
    assert len(sent) == 2
    if model == "gpt-4o-mini":  # the provider keeps the conversation
        assert sent[1]["body"]["previous_response_id"] == first.last_response_id
    else:  # the sidecar sends the stored turn along
        assert "My name is Ada" in json.dumps(sent[1]["body"]) and first.final_output in json.dumps(sent[1]["body"])
