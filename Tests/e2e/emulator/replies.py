"""Provider-neutral conversation model and the deterministic answer rules.

Each provider module turns its request body into a `Prompt`; `plan_reply`
decides what the "model" answers (text, reasoning, tool calls, usage) and the
provider module renders that `Reply` in its own wire format.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import tokens
from .behaviours import Behaviour

SAMPLE_STRING = "Florence, Italy"
SAMPLE_INTEGER = 42
SAMPLE_NUMBER = 1.5
DEFAULT_EMBEDDING_DIMENSIONS = 8


@dataclass(frozen=True)
class Tool:
    name: str
    parameters: Any = None  # JSON schema (Gemini may use upper-case type names)


@dataclass
class Prompt:
    """What the emulator needs to know about a chat request."""

    texts: list[str] = field(default_factory=list)  # every text counted as prompt tokens
    last_role: str = "user"  # "user", "tool" (tool results) or anything else
    last_user_text: str = ""  # text of the most recent user message that has any
    tool_results: list[str] = field(default_factory=list)  # trailing tool results, in order
    tools: list[Tool] = field(default_factory=list)
    tool_choice: str = "auto"  # "auto" | "none" | "required"
    forced_tool: str | None = None
    parallel_tool_calls: bool = True
    reasoning: bool = False
    json_mode: bool = False
    json_schema: Any = None
    max_output_tokens: int | None = None
    n: int = 1


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        return tokens.compact_json(self.arguments)


@dataclass(frozen=True)
class Usage:
    """Neutral usage numbers: prompt includes cached/cache-creation tokens,
    completion includes reasoning tokens (OpenAI semantics)."""

    prompt: int
    completion: int
    reasoning: int = 0
    cached: int = 0
    cache_creation: int = 0

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    @property
    def visible_completion(self) -> int:
        """Completion tokens without the reasoning part (Gemini candidatesTokenCount)."""
        return max(self.completion - self.reasoning, 0)

    def so_far(self, reasoning: int, visible: int) -> Usage:
        """Running counts part-way through a stream, never above the final numbers."""
        reasoning = min(reasoning, self.reasoning)
        return Usage(prompt=self.prompt, completion=reasoning + min(visible, self.visible_completion),
                     reasoning=reasoning, cached=self.cached, cache_creation=self.cache_creation)

    @property
    def uncached_prompt(self) -> int:
        """Prompt tokens that were neither read from nor written to a cache (Anthropic input_tokens)."""
        return max(self.prompt - self.cached - self.cache_creation, 0)


@dataclass(frozen=True)
class Reply:
    text: str | None  # None when the answer is only tool calls
    reasoning: str | None
    tool_calls: list[ToolCall]
    finish: str  # "stop" | "length" | "tool_calls"
    usage: Usage | None  # None when the behaviour asks for no usage


def plan_reply(
    flavour: str,
    prompt: Prompt,
    behaviour: Behaviour,
    tool_id: Callable[[int], str],
) -> Reply:
    """Apply the deterministic rules documented in Tests/e2e/README.md."""
    user_text = prompt.last_user_text.strip()
    reasoning = (f"Thinking about: {user_text}" if user_text else "Thinking about:") if prompt.reasoning else None
    calls: list[ToolCall] = []
    text: str | None
    if behaviour.reply is not None:
        text = behaviour.reply
    elif prompt.last_role == "tool":
        text = "The tool said: " + "; ".join(prompt.tool_results)
    elif prompt.tools and prompt.tool_choice != "none" and prompt.last_role == "user":
        calls = [ToolCall(tool_id(i), tool.name, example_value(tool.parameters, top_level=True))
                 for i, tool in enumerate(_chosen_tools(prompt))]
        text = None
    elif prompt.json_mode:
        document = (example_value(prompt.json_schema, top_level=True) if prompt.json_schema is not None
                    else {"message": _plain_text(flavour, user_text)})
        text = tokens.compact_json(document)
    else:
        text = _plain_text(flavour, user_text)

    finish = "tool_calls" if calls else "stop"
    if text is not None and prompt.max_output_tokens and tokens.count(text) > prompt.max_output_tokens:
        text = "".join(tokens.pieces(text)[: prompt.max_output_tokens])
        finish = "length"

    usage = None if behaviour.no_usage else _usage(prompt, text, reasoning, calls, behaviour.usage)
    return Reply(text, reasoning, calls, finish, usage)


def _plain_text(flavour: str, user_text: str) -> str:
    first = f"Hello from the {flavour} emulator."
    return f"{first} You said: {user_text}" if user_text else first


def _chosen_tools(prompt: Prompt) -> list[Tool]:
    if prompt.forced_tool is not None:
        named = [tool for tool in prompt.tools if tool.name == prompt.forced_tool]
        return named[:1] or [Tool(prompt.forced_tool)]
    if prompt.parallel_tool_calls and re.search(r"\bevery tool\b", prompt.last_user_text, re.IGNORECASE):
        return prompt.tools
    wants_parallel = re.search(r"\bparallel\b", prompt.last_user_text, re.IGNORECASE) is not None
    if wants_parallel and prompt.parallel_tool_calls and len(prompt.tools) >= 2:
        return prompt.tools[:2]
    return prompt.tools[:1]


def _usage(prompt: Prompt, text: str | None, reasoning: str | None, calls: list[ToolCall],
           overrides: dict[str, int]) -> Usage:
    reasoning_tokens = tokens.count(reasoning) * prompt.n
    visible = (tokens.count(text) + sum(tokens.count(call.arguments_json) for call in calls)) * prompt.n
    return Usage(
        prompt=overrides.get("prompt_tokens", sum(tokens.count(t) for t in prompt.texts)),
        completion=overrides.get("completion_tokens", visible + reasoning_tokens),
        reasoning=overrides.get("reasoning_tokens", reasoning_tokens),
        cached=overrides.get("cached_tokens", 0),
        cache_creation=overrides.get("cache_creation_tokens", 0),
    )


def example_value(schema: Any, *, top_level: bool = False, root: Any = None) -> Any:
    """A deterministic value satisfying a (simple) JSON schema.

    Objects get every `required` property, strings are "Florence, Italy",
    integers 42, numbers 1.5, booleans true, arrays one item; `const`, the first
    `enum` value and the first `anyOf`/`oneOf`/`allOf` branch win; a local `$ref`
    ("#/$defs/Name", as pydantic writes nested models) is followed. Type names are
    case-insensitive (Gemini sends "STRING"). A missing top-level schema gives {}.
    """
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return {} if top_level else SAMPLE_STRING
    if isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        target: Any = root
        for name in schema["$ref"][2:].split("/"):
            target = target.get(name) if isinstance(target, dict) else None
        return example_value(target, top_level=top_level, root=root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if schema.get(combinator):
            return example_value(schema[combinator][0], top_level=top_level, root=root)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema or top_level else "array" if "items" in schema else "string"
    kind = str(kind).lower()
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: example_value(properties.get(name), root=root) for name in schema.get("required") or []}
    if kind == "array":
        return [example_value(schema.get("items"), root=root)]
    return {"integer": SAMPLE_INTEGER, "number": SAMPLE_NUMBER, "boolean": True, "null": None}.get(kind, SAMPLE_STRING)


def embedding(text: str, dimensions: int | None) -> list[float]:
    """A deterministic unit-range vector derived from sha256 of the text."""
    size = dimensions if dimensions and dimensions > 0 else DEFAULT_EMBEDDING_DIMENSIONS
    values: list[float] = []
    block = 0
    while len(values) < size:
        digest = hashlib.sha256(f"{block}:{text}".encode()).digest()
        values.extend(round(n / 2**31 - 1.0, 6) for n in struct.unpack("<8I", digest))
        block += 1
    return values[:size]


def embedding_input_tokens(value: Any) -> int:
    """Prompt tokens of an embeddings input: words of strings, length of token arrays."""
    if isinstance(value, str):
        return tokens.count(value)
    if isinstance(value, list):
        if value and all(isinstance(v, int) for v in value):
            return len(value)
        return sum(embedding_input_tokens(v) for v in value)
    return 0
