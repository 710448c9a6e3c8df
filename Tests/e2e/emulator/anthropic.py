"""Anthropic Messages API (protocol README §2)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
from typing import Any

from aiohttp import web

from . import errors, replies, tokens, wire
from .api import Call, Provider, Route
from .replies import Prompt, Reply, Tool, Usage

PREFIX = "/anthropic/v1"
STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
MODELS = [("claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-22T00:00:00Z"),
          ("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z")]


def _random_id(prefix: str) -> str:
    return prefix + "".join(random.choices(string.ascii_letters + string.digits, k=24))


def _blocks_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _event(name: str, data: dict[str, Any], padding: int = 0) -> bytes:
    """`event: name\\ndata: json\\n\\n`; like the real API, some JSON is padded with spaces before the last brace."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name}\ndata: {text[:-1]}{' ' * padding}}}\n\n".encode()


def signature(thinking: str) -> str:
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest() * 3).decode()


class Anthropic(Provider):
    flavour = "anthropic"

    def __init__(self) -> None:
        self.framing = wire.StreamFraming("text/event-stream; charset=utf-8",
                                       b"event: content_block_delta\ndata: {not json\n\n", self._stream_error)

    def routes(self) -> list[Route]:
        return [Route("POST", PREFIX + "/messages", self.messages),
                Route("POST", PREFIX + "/messages/count_tokens", self.count_tokens),
                Route("GET", PREFIX + "/models", self.models, consumes_behaviour=False)]

    def authenticate(self, request: web.Request, expected_key: str | None) -> web.Response | None:
        # The API takes `x-api-key`; the official SDK (2.x) sends the key as `Authorization: Bearer`.
        bearer = request.headers.get("Authorization", "")
        given = request.headers.get("x-api-key") or (bearer[7:] if bearer.startswith("Bearer ") else None)
        if expected_key is not None and given != expected_key:
            message = "x-api-key header is required" if given is None else "invalid x-api-key"
            return self._json(errors.anthropic_error("authentication_error", message), 401)
        if "anthropic-version" not in request.headers:
            return self.bad_request("anthropic-version: header is required")
        return None

    def error_body(self, status: int) -> Any:
        return errors.for_status(errors.ANTHROPIC, status)

    def bad_request(self, message: str) -> web.Response:
        return self._json({**errors.anthropic_error("invalid_request_error", message),
                           "request_id": _random_id("req_011C")}, 400)

    def _json(self, document: Any, status: int = 200) -> web.Response:
        return web.Response(status=status, body=json.dumps(document, ensure_ascii=False).encode(),
                            content_type="application/json", headers={"request-id": _random_id("req_011C")})

    async def models(self, call: Call) -> web.StreamResponse:
        data = [{"type": "model", "id": model, "display_name": name, "created_at": created}
                for model, name, created in MODELS]
        return self._json({"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})

    async def count_tokens(self, call: Call) -> web.StreamResponse:
        """`{"input_tokens": N}`: the emulator's token rule over the prompt's texts (system,
        text blocks, tool calls and results, tool names and schemas)."""
        body = call.body
        for field in ("model", "messages"):
            if field not in body:
                return self.bad_request(f"{field}: Field required")
        if "max_tokens" in body:
            return self.bad_request("max_tokens: Extra inputs are not permitted")
        prompt = self._prompt({**body, "max_tokens": 1})
        texts = prompt.texts + [t.name + " " + tokens.compact_json(t.parameters or {}) for t in prompt.tools]
        return self._json({"input_tokens": sum(tokens.count(text) for text in texts)})

    # -- messages -------------------------------------------------------------

    async def messages(self, call: Call) -> web.StreamResponse:
        body = call.body
        for field in ("model", "max_tokens", "messages"):
            if field not in body:
                return self.bad_request(f"{field}: Field required")
        messages = body["messages"]
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            return self.bad_request("messages: at least one message object is required")
        prompt = self._prompt(body)
        reply = replies.plan_reply(self.flavour, prompt, call.behaviour, lambda _: _random_id("toolu_01"))
        message_id = _random_id("msg_01")
        headers = {"request-id": _random_id("req_011C")}
        if body.get("stream"):
            frames = self._stream_frames(body["model"], message_id, reply)
            return await wire.send_stream(call.request, call.behaviour, frames, self.framing,
                                          default_delay_ms=call.state.chunk_delay_ms, headers=headers)
        message = {"model": body["model"], "id": message_id, "type": "message", "role": "assistant",
                   "content": self._content(reply), "stop_reason": STOP_REASONS[reply.finish], "stop_sequence": None}
        if reply.usage:
            message["usage"] = self._usage(reply.usage, reply.usage.completion)
        return await wire.send_body(call.request, call.behaviour, status=200, headers=headers,
                                    body=json.dumps(message, ensure_ascii=False).encode(),
                                    content_type="application/json")

    def _prompt(self, body: dict[str, Any]) -> Prompt:
        texts = [_blocks_text(body.get("system"))]
        messages = body["messages"]
        for message in messages:
            content = message.get("content")
            blocks = content if isinstance(content, list) else [{"type": "text", "text": _blocks_text(content)}]
            for block in blocks:
                if not isinstance(block, dict):
                    continue
                if block.get("type") == "text":
                    texts.append(block.get("text", ""))
                elif block.get("type") == "tool_use":
                    texts += [block.get("name", ""), tokens.compact_json(block.get("input", {}))]
                elif block.get("type") == "tool_result":
                    texts.append(_blocks_text(block.get("content")))
        last = messages[-1]
        last_content = last.get("content")
        results = [_blocks_text(b.get("content")) for b in last_content if isinstance(b, dict)
                   and b.get("type") == "tool_result"] if isinstance(last_content, list) else []
        user_texts = [_blocks_text(m.get("content")) for m in messages if m.get("role") == "user"]
        user_text = next((text for text in reversed(user_texts) if text), "")

        choice = body.get("tool_choice") if isinstance(body.get("tool_choice"), dict) else {}
        kind = choice.get("type", "auto")
        thinking = body.get("thinking")
        max_tokens = body.get("max_tokens")
        return Prompt(
            texts=texts,
            last_role="tool" if results else ("user" if last.get("role") == "user" else "assistant"),
            last_user_text=user_text,
            tool_results=results,
            tools=[Tool(t["name"], t.get("input_schema")) for t in body.get("tools") or []
                   if isinstance(t, dict) and "name" in t],
            tool_choice={"any": "required", "tool": "required", "none": "none"}.get(kind, "auto"),
            forced_tool=choice.get("name") if kind == "tool" else None,
            parallel_tool_calls=not choice.get("disable_parallel_tool_use", False),
            reasoning=isinstance(thinking, dict) and thinking.get("type") == "enabled",
            max_output_tokens=max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None,
        )

    def _content(self, reply: Reply) -> list[dict[str, Any]]:
        content: list[dict[str, Any]] = []
        if reply.reasoning is not None:
            content.append({"type": "thinking", "thinking": reply.reasoning, "signature": signature(reply.reasoning)})
        if reply.text is not None:
            content.append({"type": "text", "text": reply.text})
        content += [{"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments,
                     "caller": {"type": "direct"}} for call in reply.tool_calls]
        return content

    @staticmethod
    def _usage(usage: Usage, output_tokens: int) -> dict[str, Any]:
        return {"input_tokens": usage.uncached_prompt, "cache_creation_input_tokens": usage.cache_creation,
                "cache_read_input_tokens": usage.cached,
                "cache_creation": {"ephemeral_5m_input_tokens": usage.cache_creation, "ephemeral_1h_input_tokens": 0},
                "output_tokens": output_tokens, "service_tier": "standard", "inference_geo": "not_available"}

    # -- streaming ------------------------------------------------------------

    def _stream_frames(self, model: str, message_id: str, reply: Reply) -> list[bytes]:
        start: dict[str, Any] = {"model": model, "id": message_id, "type": "message", "role": "assistant",
                                 "content": [], "stop_reason": None, "stop_sequence": None}
        if reply.usage:
            start["usage"] = self._usage(reply.usage, 1)
        frames = [_event("message_start", {"type": "message_start", "message": start}, 3)]
        for index, block in enumerate(self._content(reply)):
            kind = block["type"]
            opening = ({"type": "thinking", "thinking": "", "signature": ""} if kind == "thinking"
                       else {"type": "text", "text": ""} if kind == "text"
                       else {**block, "input": {}})
            frames.append(_event("content_block_start",
                                 {"type": "content_block_start", "index": index, "content_block": opening}))
            if index == 0:
                frames.append(b'event: ping\ndata: {"type": "ping"}\n\n')
            if kind == "thinking":
                deltas = [{"type": "thinking_delta", "thinking": p} for p in tokens.pieces(block["thinking"])]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            elif kind == "text":
                deltas = [{"type": "text_delta", "text": p} for p in tokens.pieces(block["text"])]
            else:
                arguments = tokens.compact_json(block["input"])
                deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *tokens.pieces(arguments)]]
            frames += [_event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta},
                              position % 7) for position, delta in enumerate(deltas)]
            frames.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}, 2))
        delta: dict[str, Any] = {"type": "message_delta",
                                 "delta": {"stop_reason": STOP_REASONS[reply.finish], "stop_sequence": None}}
        if reply.usage:
            delta["usage"] = {"input_tokens": reply.usage.uncached_prompt,
                              "cache_creation_input_tokens": reply.usage.cache_creation,
                              "cache_read_input_tokens": reply.usage.cached,
                              "output_tokens": reply.usage.completion}
        frames.append(_event("message_delta", delta, 5))
        frames.append(_event("message_stop", {"type": "message_stop"}, 4))
        return frames

    @staticmethod
    def _stream_error(type_: str | None, message: str | None) -> bytes:
        data = {"type": "error", "error": {"type": type_ or "overloaded_error", "message": message or "Overloaded"}}
        return f"event: error\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
