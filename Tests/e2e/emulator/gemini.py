"""Google Gemini Generative Language API (protocol README §3)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
from typing import Any

from aiohttp import web

from . import errors, replies, tokens, wire
from .api import Call, Provider, Route
from .replies import Prompt, Reply, Tool, Usage

PREFIX = "/gemini/{version:v1beta|v1|v1alpha}/models"
FINISH_REASONS = {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS"}
STATUS_CODES = {"INVALID_ARGUMENT": 400, "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "RESOURCE_EXHAUSTED": 429,
                "INTERNAL": 500, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504}
MODELS = [
    {"name": "models/gemini-2.5-flash", "version": "001", "displayName": "Gemini 2.5 Flash",
     "description": "Stable version of Gemini 2.5 Flash.", "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
     "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
     "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2, "thinking": True},
    {"name": "models/gemini-embedding-001", "version": "001", "displayName": "Gemini Embedding 001",
     "description": "Obtain a distributed representation of a text.", "inputTokenLimit": 2048,
     "outputTokenLimit": 1, "supportedGenerationMethods": ["embedContent", "countTextTokens", "countTokens"]},
]


def _dumps_pretty(document: Any) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def _sse(document: Any) -> bytes:
    """Gemini streams `data: <json>\\r\\n\\r\\n` with `": "` after keys and no space after commas."""
    return b"data: " + json.dumps(document, separators=(",", ": "), ensure_ascii=False).encode() + b"\r\n\r\n"


def _nonzero(**counts: int) -> dict[str, int]:
    """Proto3 JSON leaves out zero counts."""
    return {key: value for key, value in counts.items() if value}


def _field(message: Any, name: str) -> Any:
    """A request field by its lowerCamelCase name or, as the API also accepts (and the
    SDK sends for some nested configs), its snake_case proto name."""
    if not isinstance(message, dict):
        return None
    if name in message:
        return message[name]
    return message.get(re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), name))


def _result_text(response: Any) -> str:
    if isinstance(response, dict) and isinstance(response.get("result"), str):
        return response["result"]
    return tokens.compact_json(response)


def _parts_text(parts: list[Any]) -> str:
    return " ".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
                    and not p.get("thought"))


def prompt_texts(body: dict[str, Any]) -> list[str]:
    """Everything counted as prompt tokens: system instruction, texts, function calls and results."""
    system = _field(body, "systemInstruction") or {}
    texts = [_parts_text(system.get("parts") or [])]
    for content in body.get("contents") or []:
        for part in content.get("parts") or []:
            if isinstance(part.get("text"), str) and not part.get("thought"):
                texts.append(part["text"])
            elif isinstance(_field(part, "functionCall"), dict):
                call = _field(part, "functionCall")
                texts += [call.get("name", ""), tokens.compact_json(call.get("args", {}))]
            elif isinstance(_field(part, "functionResponse"), dict):
                texts.append(_result_text(_field(part, "functionResponse").get("response")))
    return texts


class Gemini(Provider):
    flavour = "gemini"
    error_content_type = "application/json; charset=UTF-8"

    def __init__(self) -> None:
        self.sse = wire.StreamFraming("text/event-stream", b"data: {not json\r\n\r\n",
                                      lambda t, m: _sse(self._stream_error(t, m)))
        self.array = wire.StreamFraming("application/json; charset=UTF-8", b",\r\n{not json",
                                        lambda t, m: b",\r\n" + _dumps_pretty(self._stream_error(t, m)))

    def routes(self) -> list[Route]:
        return [
            Route("POST", PREFIX + "/{model}:generateContent", self.generate),
            Route("POST", PREFIX + "/{model}:streamGenerateContent", self.generate),
            Route("POST", PREFIX + "/{model}:embedContent", self.embed),
            Route("POST", PREFIX + "/{model}:batchEmbedContents", self.batch_embed),
            Route("POST", PREFIX + "/{model}:countTokens", self.count_tokens, consumes_behaviour=False),
            Route("GET", PREFIX, self.list_models, consumes_behaviour=False),
            Route("GET", PREFIX + "/{model}", self.get_model, consumes_behaviour=False),
        ]

    def authenticate(self, request: web.Request, expected_key: str | None) -> web.Response | None:
        given = request.headers.get("x-goog-api-key") or request.query.get("key")
        if expected_key is None or given == expected_key:
            return None
        return self._json(errors.GEMINI_API_KEY_INVALID, 400)

    def error_body(self, status: int) -> Any:
        if status in errors.GEMINI:
            return errors.GEMINI[status]
        return errors.gemini_error(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT",
                                   f"Emulated HTTP {status}.")

    def bad_request(self, message: str) -> web.Response:
        return self._json(errors.gemini_error(400, "INVALID_ARGUMENT", message), 400)

    def _json(self, document: Any, status: int = 200) -> web.Response:
        return web.Response(status=status, body=_dumps_pretty(document),
                            headers={"Content-Type": "application/json; charset=UTF-8"})

    # -- generateContent / streamGenerateContent -----------------------------

    async def generate(self, call: Call) -> web.StreamResponse:
        body = call.body
        if not body.get("contents"):
            return self.bad_request("* GenerateContentRequest.contents: contents is not specified\n")
        model = call.request.match_info["model"]
        prompt = self._prompt(body)
        reply = replies.plan_reply(self.flavour, prompt, call.behaviour, lambda _: "")
        response_id = "".join(random.choices(string.ascii_letters + string.digits + "-_", k=23))
        if call.request.path.endswith(":streamGenerateContent"):
            chunks = self._chunks(reply, model, response_id)
            if call.request.query.get("alt") == "sse":
                frames, framing = [_sse(chunk) for chunk in chunks], self.sse
            else:  # without alt=sse the stream is one JSON array, sent element by element
                frames = [(b"[" if i == 0 else b",\r\n") + _dumps_pretty(c) for i, c in enumerate(chunks)] + [b"]"]
                framing = self.array
            return await wire.send_stream(call.request, call.behaviour, frames, framing,
                                          default_delay_ms=call.state.chunk_delay_ms)
        document = self._response(self._parts(reply), reply, reply.usage, model, response_id, final=True)
        return await wire.send_body(call.request, call.behaviour, status=200, body=_dumps_pretty(document),
                                    content_type="application/json; charset=UTF-8")

    def _prompt(self, body: dict[str, Any]) -> Prompt:
        contents = [c for c in body["contents"] if isinstance(c, dict)]
        last_parts = contents[-1].get("parts") or [] if contents else []
        results = [_result_text(_field(p, "functionResponse").get("response")) for p in last_parts
                   if isinstance(_field(p, "functionResponse"), dict)]
        last_role = contents[-1].get("role", "user") if contents else "user"
        user_texts = [_parts_text(c.get("parts") or []) for c in contents if c.get("role", "user") == "user"]
        declarations = [d for t in body.get("tools") or [] for d in (_field(t, "functionDeclarations") or [])]
        calling = _field(_field(body, "toolConfig"), "functionCallingConfig") or {}
        mode = calling.get("mode", "AUTO")
        allowed = _field(calling, "allowedFunctionNames") or []
        config = _field(body, "generationConfig") or {}
        limit = _field(config, "maxOutputTokens")
        return Prompt(
            texts=prompt_texts(body),
            last_role="tool" if results else ("user" if last_role == "user" else "assistant"),
            last_user_text=next((text for text in reversed(user_texts) if text), ""),
            tool_results=results,
            tools=[Tool(d.get("name", ""), d.get("parameters") or _field(d, "parametersJsonSchema"))
                   for d in declarations],
            tool_choice={"NONE": "none", "ANY": "required"}.get(mode, "auto"),
            forced_tool=allowed[0] if mode == "ANY" and len(allowed) == 1 else None,
            reasoning=_field(_field(config, "thinkingConfig"), "includeThoughts") is True,
            json_mode=_field(config, "responseMimeType") == "application/json",
            json_schema=_field(config, "responseJsonSchema") or _field(config, "responseSchema"),
            max_output_tokens=limit if isinstance(limit, int) and limit > 0 else None,
        )

    def _parts(self, reply: Reply) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if reply.reasoning is not None:
            parts.append({"text": reply.reasoning, "thought": True})
        if reply.text is not None:
            parts.append({"text": reply.text})
        parts += self._call_parts(reply)
        return parts

    @staticmethod
    def _call_parts(reply: Reply) -> list[dict[str, Any]]:
        parts = [{"functionCall": {"name": call.name, "args": call.arguments}} for call in reply.tool_calls]
        if parts:  # like the real API, only the first call of a turn carries the thought signature
            digest = hashlib.sha256(reply.tool_calls[0].arguments_json.encode()).digest()
            parts[0]["thoughtSignature"] = base64.b64encode(digest * 4).decode()
        return parts

    def _response(self, parts: list[dict[str, Any]], reply: Reply, usage: Usage | None, model: str,
                  response_id: str, *, final: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
        if final:
            candidate["finishReason"] = FINISH_REASONS[reply.finish]
        candidate["index"] = 0
        if final and reply.tool_calls:
            candidate["finishMessage"] = "Model generated function call(s)."
        document: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            document["usageMetadata"] = self._usage(usage)
        return {**document, "modelVersion": model, "responseId": response_id}

    @staticmethod
    def _usage(usage: Usage) -> dict[str, Any]:
        metadata = _nonzero(promptTokenCount=usage.prompt, candidatesTokenCount=usage.visible_completion,
                            totalTokenCount=usage.total)
        metadata["promptTokensDetails"] = [{"modality": "TEXT", **_nonzero(tokenCount=usage.prompt)}]
        return {**metadata, **_nonzero(thoughtsTokenCount=usage.reasoning, cachedContentTokenCount=usage.cached)}

    def _chunks(self, reply: Reply, model: str, response_id: str) -> list[dict[str, Any]]:
        """One chunk per thought word and per text word, all function calls in one chunk,
        usageMetadata with running counts on every chunk; the last chunk carries finishReason."""
        steps: list[tuple[list[dict[str, Any]], int, int]] = []  # (parts, thought tokens, visible tokens)
        thought = visible = 0
        for piece in tokens.pieces(reply.reasoning or ""):
            thought += 1
            steps.append(([{"text": piece, "thought": True}], thought, visible))
        text_pieces = tokens.pieces(reply.text or "")
        if reply.text is not None and not text_pieces:
            text_pieces = [""]  # an empty answer still sends one (empty) text part
        for piece in text_pieces:
            visible += tokens.count(piece)
            steps.append(([{"text": piece}], thought, visible))
        if reply.tool_calls:
            visible += sum(tokens.count(call.arguments_json) for call in reply.tool_calls)
            steps.append((self._call_parts(reply), thought, visible))
        chunks = []
        for position, (parts, thought_so_far, visible_so_far) in enumerate(steps):
            final = position == len(steps) - 1
            usage = reply.usage
            if usage is not None and not final:
                usage = usage.so_far(thought_so_far, visible_so_far)
            chunks.append(self._response(parts, reply, usage, model, response_id, final=final))
        return chunks

    @staticmethod
    def _stream_error(type_: str | None, message: str | None) -> dict[str, Any]:
        status = type_ or "INTERNAL"
        return errors.gemini_error(STATUS_CODES.get(status, 500), status,
                                   message or errors.GEMINI[500]["error"]["message"])

    # -- embeddings, tokens, models ---------------------------------------------

    async def embed(self, call: Call) -> web.StreamResponse:
        content = call.body.get("content")
        if not isinstance(content, dict):
            return self.bad_request("* EmbedContentRequest.content: content is not specified\n")
        values = replies.embedding(_parts_text(content.get("parts") or []), _field(call.body, "outputDimensionality"))
        return await self._send(call, {"embedding": {"values": values}})

    async def batch_embed(self, call: Call) -> web.StreamResponse:
        requests = call.body.get("requests")
        if not isinstance(requests, list) or not requests:
            return self.bad_request("* BatchEmbedContentsRequest.requests: requests is not specified\n")
        embeddings = [{"values": replies.embedding(_parts_text((r.get("content") or {}).get("parts") or []),
                                                   _field(r, "outputDimensionality"))} for r in requests]
        return await self._send(call, {"embeddings": embeddings})

    async def _send(self, call: Call, document: Any) -> web.StreamResponse:
        return await wire.send_body(call.request, call.behaviour, status=200, body=_dumps_pretty(document),
                                    content_type="application/json; charset=UTF-8")

    async def count_tokens(self, call: Call) -> web.StreamResponse:
        request = _field(call.body, "generateContentRequest") or call.body
        total = sum(tokens.count(text) for text in prompt_texts(request))
        return self._json({"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]})

    async def list_models(self, call: Call) -> web.StreamResponse:
        return self._json({"models": MODELS})

    async def get_model(self, call: Call) -> web.StreamResponse:
        name = "models/" + call.request.match_info["model"]
        model = next((m for m in MODELS if m["name"] == name), None)
        return self._json(model) if model else self._json(errors.GEMINI[404], 404)
