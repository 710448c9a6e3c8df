"""OpenAI Chat Completions and its dialects: openai, deepseek, dashscope (compatible mode), custom.

The dialects share the request format and differ in ids, message fields,
usage shape and where usage appears in a stream (protocol README §1, §4, §5a).
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import string
import struct
import time
import uuid
from typing import Any

from aiohttp import web

from . import errors, replies, tokens, wire
from .api import Call, Provider, Route
from .behaviours import Behaviour
from .replies import Prompt, Reply, Tool, Usage
from .responses import ResponsesAPI

PREFIXES = {
    "openai": "/openai/v1",
    "deepseek": "/deepseek",
    "dashscope": "/dashscope/compatible-mode/v1",
    "custom": "/custom/v1",
}
ERRORS = {"openai": errors.OPENAI, "deepseek": errors.DEEPSEEK, "dashscope": errors.DASHSCOPE_COMPAT,
          "custom": errors.OPENAI}
FINGERPRINTS = {"openai": "fp_emulator", "custom": "fp_emulator", "deepseek": "fp_emulator_prod0820_fp8_kvcache",
                "dashscope": None}
MODELS = {
    "openai": [("gpt-4o", 1715367049), ("gpt-4o-mini", 1721172741), ("o4-mini", 1744225351),
               ("text-embedding-3-small", 1705948997)],
    "custom": [("custom-model", 1700000000)],
}
DONE = b"data: [DONE]\n\n"
_NO_KEY: Any = object()  # a chunk without any "usage" key


def _sse(chunk: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


def _random_id(length: int) -> str:
    return "".join(random.choices(string.ascii_letters + string.digits, k=length))


def content_text(content: Any) -> str:
    """Text of an OpenAI message content: a string or the text parts of an array."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content  # DashScope native parts have no "type"
                        if isinstance(part, dict) and part.get("type", "text") == "text")
    return ""


def chat_prompt(body: dict[str, Any], *, reasoning: bool) -> Prompt:
    """Prompt of an OpenAI-layout chat request (also used by DashScope native)."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    texts: list[str] = []
    for message in messages:
        texts.append(content_text(message.get("content")))
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            texts += [function.get("name", ""), function.get("arguments", "")]
    trailing_results: list[str] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing_results.insert(0, content_text(message.get("content")))
    last_role = messages[-1].get("role", "user") if messages else "user"
    user_texts = [content_text(m.get("content")) for m in messages if m.get("role") == "user"]

    tools = [Tool(t["function"].get("name", ""), t["function"].get("parameters"))
             for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    choice = body.get("tool_choice", "auto")
    forced = None
    if isinstance(choice, dict):
        forced = (choice.get("function") or {}).get("name")
        choice = "required"
    response_format = body.get("response_format") or {}
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    n = body.get("n")
    return Prompt(
        texts=texts,
        last_role=last_role,
        last_user_text=next((text for text in reversed(user_texts) if text), ""),
        tool_results=trailing_results,
        tools=tools,
        tool_choice=choice if choice in ("auto", "none", "required") else "auto",
        forced_tool=forced,
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        reasoning=reasoning,
        json_mode=kind in ("json_object", "json_schema"),
        json_schema=(response_format.get("json_schema") or {}).get("schema") if kind == "json_schema" else None,
        max_output_tokens=limit if isinstance(limit, int) and limit > 0 else None,
        n=n if isinstance(n, int) and n > 1 else 1,
    )


def embedding_items(raw: Any) -> list[str]:
    """Normalise an embeddings `input` into one string per vector."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(v, int) for v in raw):
        return [json.dumps(raw)]
    if isinstance(raw, list):
        return [v if isinstance(v, str) else json.dumps(v) for v in raw]
    return []


class OpenAIFamily(Provider):
    def __init__(self, flavour: str) -> None:
        self.flavour = flavour
        self.prefix = PREFIXES[flavour]
        self.errors = ERRORS[flavour]
        self.framing = wire.StreamFraming("text/event-stream; charset=utf-8", b"data: {not json\n\n",
                                          self._stream_error)

    # -- Provider interface -------------------------------------------------

    def routes(self) -> list[Route]:
        p = self.prefix
        routes = [Route("POST", p + "/chat/completions", self.chat)]
        if self.flavour == "deepseek":
            return routes + [Route("POST", p + "/v1/chat/completions", self.chat),
                             Route("GET", p + "/models", self.deepseek_models, consumes_behaviour=False),
                             Route("GET", p + "/v1/models", self.deepseek_models, consumes_behaviour=False)]
        routes.append(Route("POST", p + "/embeddings", self.embeddings))
        if self.flavour == "dashscope":
            return routes
        return routes + ResponsesAPI(self).routes(p) + [
            Route("POST", p + "/debug/echo", self.debug_echo),
            Route("GET", p + "/models", self.list_models, consumes_behaviour=False),
            Route("GET", p + "/models/{model}", self.retrieve_model, consumes_behaviour=False),
            Route("DELETE", p + "/models/{model}", self.delete_model, consumes_behaviour=False),
            Route("GET", p + "/chat/completions", self.list_stored, consumes_behaviour=False),
            Route("GET", p + "/chat/completions/{id}", self.get_stored, consumes_behaviour=False),
            Route("POST", p + "/chat/completions/{id}", self.get_stored, consumes_behaviour=False),
            Route("DELETE", p + "/chat/completions/{id}", self.delete_stored, consumes_behaviour=False),
            Route("GET", p + "/chat/completions/{id}/messages", self.stored_messages, consumes_behaviour=False),
        ]

    def authenticate(self, request: web.Request, expected_key: str | None) -> web.Response | None:
        if expected_key is None:
            return None
        header = request.headers.get("Authorization", "")
        if header == f"Bearer {expected_key}":
            return None
        body = self.errors[401]
        if self.flavour == "deepseek":
            given = header.removeprefix("Bearer ")
            body = errors.openai_error(f"Authentication Fails, Your api key: ****{given[-4:]} is invalid",
                                       "authentication_error", code="invalid_request_error")
        return self._json(self._identified(body), 401)

    def error_body(self, status: int) -> Any:
        return self._identified(errors.for_status(self.errors, status))

    def bad_request(self, message: str, param: str | None = None) -> web.Response:
        return self._json(self._identified(errors.openai_error(message, "invalid_request_error", param)), 400)

    def _identified(self, error: dict[str, Any]) -> dict[str, Any]:
        """DashScope adds a request_id beside the OpenAI error object."""
        return {**error, "request_id": str(uuid.uuid4())} if self.flavour == "dashscope" else error

    # -- chat completions ---------------------------------------------------

    async def chat(self, call: Call) -> web.StreamResponse:
        body = call.body
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return self.bad_request("Missing required parameter: 'messages'.", "messages")
        if not isinstance(body.get("model"), str) or not body["model"]:
            return self.bad_request("Missing required parameter: 'model'.", "model")
        if self.flavour == "deepseek":
            rejected = self._deepseek_content_parts(body["messages"])
            if rejected is not None:
                return rejected
        prompt = chat_prompt(body, reasoning=self._reasoning(body))
        reply = replies.plan_reply(self.flavour, prompt, call.behaviour, self._tool_id)
        meta = {"id": self._completion_id(), "created": int(time.time()), "model": body["model"]}
        if body.get("stream"):
            frames = self._stream_frames(body, prompt, reply, meta)
            return await wire.send_stream(call.request, call.behaviour, frames, self.framing,
                                          default_delay_ms=call.state.chunk_delay_ms)
        completion = self._completion(meta, prompt.n, reply)
        return await wire.send_body(call.request, call.behaviour, status=200, body=self._encode(completion),
                                    content_type="application/json")

    def _deepseek_content_parts(self, messages: list[Any]) -> web.Response | None:
        """DeepSeek takes a message's content only as a string: an array of parts is its 400."""
        for index, message in enumerate(messages):
            if isinstance(message, dict) and isinstance(message.get("content"), list):
                return self._json(errors.openai_error(
                    f"Failed to deserialize the JSON body into the target type: messages[{index}]: invalid type: "
                    "sequence, expected a string at line 1 column 1", "invalid_request_error",
                    code="invalid_request_error"), 400)
        return None

    def _reasoning(self, body: dict[str, Any]) -> bool:
        if self.flavour == "deepseek":
            thinking = body.get("thinking")
            return "reasoner" in body["model"] or (isinstance(thinking, dict) and thinking.get("type") == "enabled")
        return self.flavour == "dashscope" and body.get("enable_thinking") is True

    def _completion_id(self) -> str:
        if self.flavour == "deepseek":
            return str(uuid.uuid4())
        if self.flavour == "dashscope":
            return f"chatcmpl-{uuid.uuid4()}"
        return "chatcmpl-" + _random_id(29)

    def _tool_id(self, index: int) -> str:
        if self.flavour == "deepseek":
            return f"call_{index:02d}_{_random_id(24)}"
        if self.flavour == "dashscope":
            return "call_" + uuid.uuid4().hex[:22]
        return "call_" + _random_id(24)

    def _tool_calls(self, reply: Reply) -> list[dict[str, Any]]:
        calls = []
        for index, call in enumerate(reply.tool_calls):
            entry = {"id": call.id, "type": "function",
                     "function": {"name": call.name, "arguments": call.arguments_json}}
            calls.append({"index": index, **entry} if self.flavour in ("deepseek", "dashscope") else entry)
        return calls

    def _message(self, reply: Reply) -> dict[str, Any]:
        calls = self._tool_calls(reply) or None
        if self.flavour == "dashscope":
            message: dict[str, Any] = {"content": reply.text or "", "role": "assistant"}
            if reply.reasoning is not None:
                message["reasoning_content"] = reply.reasoning
            return {**message, "function_call": None, "tool_calls": calls}
        if self.flavour == "deepseek":
            message = {"role": "assistant", "content": reply.text or ""}
            if reply.reasoning is not None:
                message["reasoning_content"] = reply.reasoning
            return {**message, "tool_calls": calls} if calls else message
        message = {"role": "assistant", "content": reply.text}
        if calls:
            message["tool_calls"] = calls
        return {**message, "refusal": None, "annotations": []}

    def _completion(self, meta: dict[str, Any], n: int, reply: Reply) -> dict[str, Any]:
        message = self._message(reply)
        if self.flavour == "dashscope":
            choices = [{"finish_reason": reply.finish, "index": i, "logprobs": None, "message": message}
                       for i in range(n)]
            result = {"id": meta["id"], "choices": choices, "created": meta["created"], "model": meta["model"],
                      "object": "chat.completion", "service_tier": None, "system_fingerprint": None}
            return {**result, "usage": self._usage(reply.usage)} if reply.usage else result
        choices = [{"index": i, "message": message, "logprobs": None, "finish_reason": reply.finish}
                   for i in range(n)]
        result = {**self._envelope(meta, "chat.completion"), "choices": choices}
        if reply.usage:
            result["usage"] = self._usage(reply.usage)
        if self.flavour != "deepseek":
            result["service_tier"] = "default"
        result["system_fingerprint"] = FINGERPRINTS[self.flavour]
        return result

    def _envelope(self, meta: dict[str, Any], kind: str) -> dict[str, Any]:
        return {"id": meta["id"], "object": kind, "created": meta["created"], "model": meta["model"]}

    def _usage(self, usage: Usage) -> dict[str, Any]:
        counts = {"prompt_tokens": usage.prompt, "completion_tokens": usage.completion, "total_tokens": usage.total}
        if self.flavour == "dashscope":
            counts = {"completion_tokens": usage.completion, "prompt_tokens": usage.prompt,
                      "total_tokens": usage.total}
            if usage.reasoning:
                counts["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning}
            if usage.cached:
                counts["prompt_tokens_details"] = {"cached_tokens": usage.cached}
            return counts
        if self.flavour == "deepseek":
            counts["prompt_tokens_details"] = {"cached_tokens": usage.cached}
            if usage.reasoning:
                counts["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning}
            return {**counts, "prompt_cache_hit_tokens": usage.cached,
                    "prompt_cache_miss_tokens": max(usage.prompt - usage.cached, 0)}
        prompt_details = {"cached_tokens": usage.cached, "audio_tokens": 0}
        if usage.cache_creation:
            prompt_details["cache_write_tokens"] = usage.cache_creation
        return {**counts, "prompt_tokens_details": prompt_details,
                "completion_tokens_details": {"reasoning_tokens": usage.reasoning, "audio_tokens": 0,
                                              "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}

    def _encode(self, document: Any) -> bytes:
        """OpenAI pretty-prints its JSON responses; DeepSeek and DashScope send them compact."""
        if self.flavour in ("openai", "custom"):
            return json.dumps(document, indent=2, ensure_ascii=False).encode()
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()

    def _json(self, document: Any, status: int = 200) -> web.Response:
        return web.Response(status=status, body=self._encode(document), content_type="application/json")

    # -- streaming ----------------------------------------------------------

    def _stream_frames(self, body: dict[str, Any], prompt: Prompt, reply: Reply,
                       meta: dict[str, Any]) -> list[bytes]:
        options = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
        include_usage = options.get("include_usage") is True
        obfuscate = self.flavour in ("openai", "custom") and options.get("include_obfuscation") is not False
        deltas = [(i, delta, None) for i in range(prompt.n) for delta in self._deltas(reply)]
        finishes = [(i, self._finish_delta(reply), reply.finish) for i in range(prompt.n)]
        # Choices stream one after another; every finish chunk follows all content.
        events = deltas + finishes
        frames = []
        for position, (index, delta, finish) in enumerate(events):
            choice = ({"delta": delta, "index": index, "logprobs": None, "finish_reason": finish}
                      if self.flavour == "dashscope" else
                      {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish})
            usage_value: Any = _NO_KEY
            if self.flavour == "dashscope" or (include_usage and self.flavour != "deepseek"):
                usage_value = None
            if self.flavour == "deepseek" and position == len(events) - 1 and reply.usage:
                usage_value = self._usage(reply.usage)
            frames.append(_sse(self._chunk(meta, [choice], usage_value, obfuscate)))
        if include_usage and self.flavour != "deepseek" and reply.usage:
            frames.append(_sse(self._chunk(meta, [], self._usage(reply.usage), obfuscate)))
        frames.append(DONE)
        return frames

    def _chunk(self, meta: dict[str, Any], choices: list[Any], usage: Any, obfuscate: bool) -> dict[str, Any]:
        if self.flavour == "dashscope":
            return {"choices": choices, "object": "chat.completion.chunk", "usage": usage, "created": meta["created"],
                    "system_fingerprint": None, "model": meta["model"], "id": meta["id"]}
        chunk = self._envelope(meta, "chat.completion.chunk")
        if self.flavour != "deepseek":
            chunk["service_tier"] = "default"
        chunk["system_fingerprint"] = FINGERPRINTS[self.flavour]
        chunk["choices"] = choices
        if usage is not _NO_KEY:
            chunk["usage"] = usage
        if obfuscate:
            chunk["obfuscation"] = _random_id(random.randint(0, 15))
        return chunk

    def _deltas(self, reply: Reply) -> list[dict[str, Any]]:
        """The content deltas of one choice, one per word (or argument fragment)."""
        thinking = reply.reasoning is not None and self.flavour in ("deepseek", "dashscope")
        calls = self._tool_calls(reply)
        if self.flavour == "dashscope":
            first: dict[str, Any] = ({"content": None, "role": "assistant", "reasoning_content": ""} if thinking
                                     else {"content": "", "role": "assistant"})
        elif self.flavour == "deepseek":
            first = ({"role": "assistant", "content": None, "reasoning_content": ""} if thinking
                     else {"role": "assistant", "content": ""})
        elif calls:
            first = {"role": "assistant", "content": None}
        else:
            first = {"role": "assistant", "content": "", "refusal": None}
        deltas = [first]
        if thinking:
            deltas += [{"content": None, "reasoning_content": piece} for piece in tokens.pieces(reply.reasoning or "")]
        for piece in tokens.pieces(reply.text or ""):
            deltas.append({"content": piece, "reasoning_content": None} if thinking else {"content": piece})
        for index, call in enumerate(calls):
            header = {"index": index, "id": call["id"], "type": "function",
                      "function": {"name": call["function"]["name"], "arguments": ""}}
            if self.flavour in ("openai", "custom") and index == 0:
                deltas[0] = {**deltas[0], "tool_calls": [header], "refusal": None}
            else:
                deltas.append({"tool_calls": [header]})
            deltas += [{"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                       for piece in tokens.pieces(call["function"]["arguments"])]
        return deltas

    def _finish_delta(self, reply: Reply) -> dict[str, Any]:
        if self.flavour in ("openai", "custom"):
            return {}
        if reply.reasoning is not None:
            return {"content": "", "reasoning_content": None}
        return {"content": ""}

    def _stream_error(self, type_: str | None, message: str | None) -> bytes:
        default = self.errors[500]["error"]
        return _sse(errors.openai_error(message or default["message"], type_ or default["type"]))

    # -- embeddings -----------------------------------------------------------

    async def embeddings(self, call: Call) -> web.StreamResponse:
        body = call.body
        items = embedding_items(body.get("input"))
        if not items:
            return self.bad_request("'input' is a required property", "input")
        dimensions = body.get("dimensions")
        as_base64 = body.get("encoding_format") == "base64" and not call.state.float_embeddings
        data = []
        for index, item in enumerate(items):
            vector = replies.embedding(item, dimensions if isinstance(dimensions, int) else None)
            encoded: Any = (base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                            if as_base64 else vector)
            data.append({"object": "embedding", "embedding": encoded, "index": index})
        result: dict[str, Any] = {"object": "list", "data": data, "model": body.get("model", "")}
        if not call.behaviour.no_usage:
            prompt_tokens = call.behaviour.usage.get("prompt_tokens", replies.embedding_input_tokens(body.get("input")))
            result["usage"] = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
        if self.flavour == "dashscope":
            result["id"] = str(uuid.uuid4())
        return await wire.send_body(call.request, call.behaviour, status=200, body=self._encode(result),
                                    content_type="application/json")

    # -- debug echo -------------------------------------------------------------

    async def debug_echo(self, call: Call) -> web.StreamResponse:
        """A debug endpoint that echoes the request's headers, as some providers' debug fields
        do, written 5 bytes per chunk so an echoed key is split across network reads."""
        body = json.dumps({"object": "debug.echo", "headers": dict(call.request.headers)}).encode()
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(call.request)
        for start in range(0, len(body), 5):
            await response.write(body[start:start + 5])
            await asyncio.sleep(0.001)
        await response.write_eof()
        return response

    # -- models ---------------------------------------------------------------

    def _model(self, model_id: str, created: int = 1686935002) -> dict[str, Any]:
        owner = "vllm" if self.flavour == "custom" else "system"
        return {"id": model_id, "object": "model", "created": created, "owned_by": owner}

    async def list_models(self, call: Call) -> web.StreamResponse:
        return self._json({"object": "list", "data": [self._model(m, c) for m, c in MODELS[self.flavour]]})

    async def retrieve_model(self, call: Call) -> web.StreamResponse:
        model_id = call.request.match_info["model"]
        created = dict(MODELS[self.flavour]).get(model_id, 1686935002)
        return self._json(self._model(model_id, created))

    async def delete_model(self, call: Call) -> web.StreamResponse:
        return self._json({"id": call.request.match_info["model"], "object": "model", "deleted": True})

    async def deepseek_models(self, call: Call) -> web.StreamResponse:
        # DeepSeek's listing has no "created" field.
        return self._json({"object": "list", "data": [
            {"id": model, "object": "model", "owned_by": "deepseek"} for model in ("deepseek-chat", "deepseek-reasoner")
        ]})

    # -- stored chat completions (minimal, schema-correct) ----------------------

    def _stored(self, completion_id: str, metadata: Any = None) -> dict[str, Any]:
        reply = replies.plan_reply(self.flavour, Prompt(), Behaviour(), self._tool_id)
        completion = self._completion({"id": completion_id, "created": 1741569952, "model": "gpt-4o-2024-08-06"},
                                      1, reply)
        return {**completion, "metadata": metadata if isinstance(metadata, dict) else {}}

    async def list_stored(self, call: Call) -> web.StreamResponse:
        completion = self._stored("chatcmpl-stored0")
        return self._json({"object": "list", "data": [completion], "first_id": completion["id"],
                           "last_id": completion["id"], "has_more": False})

    async def get_stored(self, call: Call) -> web.StreamResponse:
        metadata = call.body.get("metadata") if call.body else None
        return self._json(self._stored(call.request.match_info["id"], metadata))

    async def delete_stored(self, call: Call) -> web.StreamResponse:
        return self._json({"object": "chat.completion.deleted", "id": call.request.match_info["id"],
                           "deleted": True})

    async def stored_messages(self, call: Call) -> web.StreamResponse:
        completion_id = call.request.match_info["id"]
        message = {**self._stored(completion_id)["choices"][0]["message"], "id": f"{completion_id}-0",
                   "content_parts": None}
        return self._json({"object": "list", "data": [message], "first_id": message["id"],
                           "last_id": message["id"], "has_more": False})
