"""DashScope native API: text-generation and text-embedding (protocol README §5b)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from . import errors, replies, tokens, wire
from .api import Call, Provider, Route
from .openai_family import chat_prompt
from .replies import Reply, Usage

PREFIX = "/dashscope/api/v1/services"


def _dumps(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _event(event_id: int, document: Any, *, event: str = "result", status: int = 200) -> bytes:
    """`id:N / event:result / :HTTP_STATUS/200 / data:{...}`, no space after the colons."""
    return f"id:{event_id}\nevent:{event}\n:HTTP_STATUS/{status}\ndata:{_dumps(document)}\n\n".encode()


def _request_id() -> str:
    return str(uuid.uuid4())


class DashScopeNative(Provider):
    flavour = "dashscope"

    def __init__(self) -> None:
        self.framing = wire.StreamFraming("text/event-stream;charset=UTF-8",
                                       b"id:2\nevent:result\n:HTTP_STATUS/200\ndata:{not json\n\n",
                                       self._stream_error)

    def routes(self) -> list[Route]:
        return [Route("POST", PREFIX + "/aigc/text-generation/generation", self.generation),
                Route("POST", PREFIX + "/embeddings/text-embedding/text-embedding", self.embedding)]

    def authenticate(self, request: web.Request, expected_key: str | None) -> web.Response | None:
        if expected_key is None or request.headers.get("Authorization") == f"Bearer {expected_key}":
            return None
        return self._json(self.error_body(401), 401)

    def error_body(self, status: int) -> Any:
        return {**errors.for_status(errors.DASHSCOPE_NATIVE, status), "request_id": _request_id()}

    def bad_request(self, message: str, code: str = "InvalidParameter") -> web.Response:
        return self._json({"code": code, "message": message, "request_id": _request_id()}, 400)

    def _json(self, document: Any, status: int = 200) -> web.Response:
        return web.Response(status=status, body=_dumps(document).encode(), content_type="application/json")

    # -- text generation ------------------------------------------------------

    async def generation(self, call: Call) -> web.StreamResponse:
        body = call.body
        if not body.get("model"):
            return self.bad_request("Model not specified", "BadRequest.EmptyModel")
        source = body.get("input") if isinstance(body.get("input"), dict) else {}
        messages = source.get("messages") or ([{"role": "user", "content": source["prompt"]}]
                                              if isinstance(source.get("prompt"), str) else None)
        if not messages:
            return self.bad_request("Required input parameter missing from request.", "BadRequest.EmptyInput")
        parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
        prompt = chat_prompt({**parameters, "messages": messages}, reasoning=parameters.get("enable_thinking") is True)
        reply = replies.plan_reply(self.flavour, prompt, call.behaviour, lambda _: "call_" + uuid.uuid4().hex[:22])
        as_message = parameters.get("result_format") == "message"
        request_id = _request_id()
        headers = call.request.headers
        if headers.get("X-DashScope-SSE") == "enable" or "text/event-stream" in headers.get("Accept", ""):
            frames = self._stream_frames(reply, as_message, parameters.get("incremental_output") is True, request_id)
            return await wire.send_stream(call.request, call.behaviour, frames, self.framing,
                                          default_delay_ms=call.state.chunk_delay_ms)
        document = self._document(self._message(reply, reply.text or "", reply.reasoning, len(reply.tool_calls)),
                                  reply.finish, as_message, reply.usage, request_id)
        return await wire.send_body(call.request, call.behaviour, status=200, body=_dumps(document).encode(),
                                    content_type="application/json")

    @staticmethod
    def _message(reply: Reply, content: str, reasoning: str | None, calls: int) -> dict[str, Any]:
        message: dict[str, Any] = {"content": content}
        if reasoning is not None:
            message["reasoning_content"] = reasoning
        message["role"] = "assistant"
        if calls:
            message["tool_calls"] = [{"index": i, "id": c.id, "type": "function",
                                      "function": {"name": c.name, "arguments": c.arguments_json}}
                                     for i, c in enumerate(reply.tool_calls[:calls])]
        return message

    @staticmethod
    def _document(message: dict[str, Any], finish: str, as_message: bool, usage: Usage | None,
                  request_id: str) -> dict[str, Any]:
        output = ({"choices": [{"message": message, "finish_reason": finish}]} if as_message
                  else {"text": message["content"], "finish_reason": finish})
        document: dict[str, Any] = {"output": output}
        if usage is not None:
            counts: dict[str, Any] = {"total_tokens": usage.total, "output_tokens": usage.completion,
                                      "input_tokens": usage.prompt}
            if usage.cached:
                counts["prompt_tokens_details"] = {"cached_tokens": usage.cached}
            if usage.reasoning:
                counts["output_tokens_details"] = {"reasoning_tokens": usage.reasoning}
            document["usage"] = counts
        return {**document, "request_id": request_id}

    def _stream_frames(self, reply: Reply, as_message: bool, incremental: bool, request_id: str) -> list[bytes]:
        """One event per reasoning word, per text word and per tool call; finish_reason is the
        string "null" until the last event; usage is cumulative on every event."""
        thinking = reply.reasoning is not None
        # (content, reasoning, tool calls so far, reasoning tokens so far, visible tokens so far)
        steps: list[tuple[str, str, int, int, int]] = []
        reasoning_done = text_done = ""
        visible = 0
        reasoning_pieces = tokens.pieces(reply.reasoning or "")
        for index, piece in enumerate(reasoning_pieces, 1):
            reasoning_done += piece
            steps.append(("", piece if incremental else reasoning_done, 0, index, 0))
        thought = len(reasoning_pieces)
        for piece in tokens.pieces(reply.text or ""):
            text_done += piece
            visible += tokens.count(piece)
            steps.append((piece if incremental else text_done, "" if incremental else reasoning_done,
                          0, thought, visible))
        for index, call in enumerate(reply.tool_calls, 1):
            visible += tokens.count(call.arguments_json)
            steps.append(("" if incremental else text_done, "" if incremental else reasoning_done,
                          index, thought, visible))
        frames = []
        for event_id, (content, reasoning, calls, thought_so_far, visible_so_far) in enumerate(steps, 1):
            usage = reply.usage.so_far(thought_so_far, visible_so_far) if reply.usage else None
            message = self._message(reply, content, reasoning if thinking else None, calls)
            if incremental and calls:
                message["tool_calls"] = message["tool_calls"][-1:]
            frames.append(_event(event_id, self._document(message, "null", as_message, usage, request_id)))
        final = (self._message(reply, "", "" if thinking else None, 0) if incremental
                 else self._message(reply, reply.text or "", reply.reasoning, len(reply.tool_calls)))
        frames.append(_event(len(steps) + 1, self._document(final, reply.finish, as_message, reply.usage,
                                                            request_id)))
        return frames

    @staticmethod
    def _stream_error(type_: str | None, message: str | None) -> bytes:
        code = type_ or "InternalError"
        status = next((s for s, body in errors.DASHSCOPE_NATIVE.items() if body["code"] == code), 500)
        document = {"code": code, "message": message or errors.DASHSCOPE_NATIVE[500]["message"],
                    "request_id": _request_id()}
        return _event(2, document, event="error", status=status)

    # -- embeddings -------------------------------------------------------------

    async def embedding(self, call: Call) -> web.StreamResponse:
        source = call.body.get("input") if isinstance(call.body.get("input"), dict) else {}
        texts = source.get("texts")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts:
            return self.bad_request("Required input parameter missing from request.", "BadRequest.EmptyInput")
        parameters = call.body.get("parameters") if isinstance(call.body.get("parameters"), dict) else {}
        dimension = parameters.get("dimension")
        embeddings = [{"text_index": i, "embedding": replies.embedding(str(text), dimension)}
                      for i, text in enumerate(texts)]
        document: dict[str, Any] = {"output": {"embeddings": embeddings}}
        if not call.behaviour.no_usage:
            total = call.behaviour.usage.get("prompt_tokens", replies.embedding_input_tokens(texts))
            document["usage"] = {"total_tokens": total}
        document["request_id"] = _request_id()
        return await wire.send_body(call.request, call.behaviour, status=200, body=_dumps(document).encode(),
                                    content_type="application/json")
