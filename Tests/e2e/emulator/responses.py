"""OpenAI's Responses API for the openai and custom flavours (README "Responses API").

`POST /responses` answers with the same deterministic rules as chat (`replies.plan_reply`):
a `response` object whose `output` holds a `reasoning` item (reasoning models), a `message`
with one `output_text` part, or `function_call` items; streams are named SSE events with
`sequence_number`s from 0. Created responses are kept (unless `store: false`) for
`previous_response_id`, `GET|DELETE /responses/{id}`, `/cancel` and `/input_items`.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import replace
from typing import Any

from aiohttp import web

from . import errors, replies, tokens, wire
from .api import Call, Route
from .behaviours import Behaviour
from .replies import Prompt, Reply, Tool
from .response_store import Stored

# Models that reason: their output starts with a `reasoning` item, whose summary is shown
# only when the request asks for one (`reasoning.summary`).
REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
SUMMARY_MODES = ("auto", "concise", "detailed")
TEXT_PART_TYPES = ("input_text", "output_text", "text")
# What a request's settings default to in the answer when it does not set them.
ECHOED_DEFAULTS: dict[str, Any] = {
    "instructions": None, "max_output_tokens": None, "max_tool_calls": None, "metadata": {},
    "parallel_tool_calls": True, "previous_response_id": None, "prompt_cache_key": None,
    "reasoning": {"effort": None, "summary": None}, "safety_identifier": None, "service_tier": "default",
    "store": True, "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
    "tool_choice": "auto", "tools": [], "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled", "user": None,
}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(25)}"


def part_text(content: Any) -> str:
    """Text of a Responses content: a string or the text parts of a list (images, files: none)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content
                        if isinstance(part, dict) and part.get("type") in TEXT_PART_TYPES)
    return ""


def input_items(raw: Any) -> list[dict[str, Any]]:
    """A request's `input` as items with ids and list contents, as `/input_items` lists them."""
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    items = []
    for item in raw:
        kind = item.get("type", "message")
        entry = {**item, "type": kind, "id": item.get("id") or new_id(_ITEM_PREFIXES.get(kind, "item"))}
        if kind == "message":
            role = item.get("role", "user")
            content = item.get("content")
            if isinstance(content, str):
                part_type = "output_text" if role == "assistant" else "input_text"
                content = [{"type": part_type, "text": content, **({"annotations": []} if role == "assistant" else {})}]
            entry.update(role=role, content=content or [], status=item.get("status", "completed"))
        elif kind in ("function_call", "function_call_output"):
            entry.setdefault("status", "completed")
        items.append(entry)
    return items


_ITEM_PREFIXES = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}


def responses_prompt(body: dict[str, Any], conversation: list[dict[str, Any]], *, reasoning: bool) -> Prompt:
    """The provider-neutral prompt of a Responses request over the whole conversation."""
    instructions = body.get("instructions")
    texts = [instructions] if isinstance(instructions, str) else []
    user_texts: list[str] = []
    last_role = "user"
    trailing_results: list[str] = []
    for item in conversation:
        kind = item.get("type")
        if kind == "message":
            text = part_text(item.get("content"))
            texts.append(text)
            last_role = item.get("role", "user")
            if last_role == "user":
                user_texts.append(text)
            trailing_results = []
        elif kind == "function_call":
            texts += [item.get("name", ""), item.get("arguments", "")]
            last_role, trailing_results = "assistant", []
        elif kind == "function_call_output":
            output = part_text(item.get("output"))
            texts.append(output)
            last_role = "tool"
            trailing_results.append(output)
    tools = [Tool(t.get("name", ""), t.get("parameters")) for t in body.get("tools") or []
             if isinstance(t, dict) and t.get("type") == "function"]
    choice = body.get("tool_choice", "auto")
    forced = None
    if isinstance(choice, dict):
        forced = choice.get("name") if choice.get("type") == "function" else None
        choice = "required"
    text_format = (body.get("text") or {}).get("format") or {}
    kind = text_format.get("type") if isinstance(text_format, dict) else None
    limit = body.get("max_output_tokens")
    return Prompt(
        texts=texts,
        last_role=last_role,
        last_user_text=next((text for text in reversed(user_texts) if text), ""),
        tool_results=trailing_results if last_role == "tool" else [],
        tools=tools,
        tool_choice=choice if choice in ("auto", "none", "required") else "auto",
        forced_tool=forced,
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        reasoning=reasoning,
        json_mode=kind in ("json_object", "json_schema"),
        json_schema=text_format.get("schema") if kind == "json_schema" else None,
        max_output_tokens=limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None,
    )


def output_items(reply: Reply, *, summary: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reply.reasoning is not None:
        items.append({"id": new_id("rs"), "type": "reasoning",
                      "summary": [{"type": "summary_text", "text": reply.reasoning}] if summary else []})
    if reply.text is not None:
        status = "incomplete" if reply.finish == "length" else "completed"
        items.append({"id": new_id("msg"), "type": "message", "status": status, "role": "assistant",
                      "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": reply.text}]})
    for call in reply.tool_calls:
        items.append({"id": new_id("fc"), "type": "function_call", "status": "completed",
                      "arguments": call.arguments_json, "call_id": call.id, "name": call.name})
    return items


def usage_object(reply: Reply) -> dict[str, Any] | None:
    usage = reply.usage
    if usage is None:
        return None
    return {"input_tokens": usage.prompt,
            "input_tokens_details": {"cached_tokens": usage.cached, "cache_write_tokens": usage.cache_creation},
            "output_tokens": usage.completion, "output_tokens_details": {"reasoning_tokens": usage.reasoning},
            "total_tokens": usage.total}


def response_object(body: dict[str, Any], model: str, output: list[dict[str, Any]], reply: Reply) -> dict[str, Any]:
    created = int(time.time())
    incomplete = reply.finish == "length"
    echoed = {key: body.get(key, default) if body.get(key) is not None else default
              for key, default in ECHOED_DEFAULTS.items()}
    return {
        "id": new_id("resp"), "object": "response", "created_at": created,
        "status": "incomplete" if incomplete else "completed", "background": body.get("background") is True,
        "completed_at": None if incomplete else created, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        **echoed, "model": model, "output": output, "usage": usage_object(reply),
    }


def stream_events(response: dict[str, Any], failure: dict[str, str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The (type, payload) events that stream `response`, without sequence numbers; with
    `failure` ({type, message}) only `response.created`, then `error` and `response.failed`."""
    start = {**response, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None,
             "completed_at": None}
    events: list[tuple[str, dict[str, Any]]] = [("response.created", {"response": start}),
                                                ("response.in_progress", {"response": start})]
    if failure is not None:
        code = failure.get("type") or "server_error"
        message = failure.get("message") or errors.OPENAI[500]["error"]["message"]
        failed = {**start, "status": "failed", "error": {"code": code, "message": message}}
        return events[:1] + [("error", {"code": code, "message": message, "param": None}),
                             ("response.failed", {"response": failed})]
    for index, item in enumerate(response["output"]):
        events += _item_events(index, item)
    final = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(response["status"],
                                                                                         "response.failed")
    return events + [(final, {"response": response})]


def _item_events(index: int, item: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    where = {"item_id": item["id"], "output_index": index}
    kind = item["type"]
    if kind == "reasoning":
        events = [("response.output_item.added", {"output_index": index, "item": {**item, "summary": []}})]
        for summary_index, part in enumerate(item["summary"]):
            at = {**where, "summary_index": summary_index}
            events.append(("response.reasoning_summary_part.added", {**at, "part": {**part, "text": ""}}))
            events += [("response.reasoning_summary_text.delta", {**at, "delta": piece})
                       for piece in tokens.pieces(part["text"])]
            events += [("response.reasoning_summary_text.done", {**at, "text": part["text"]}),
                       ("response.reasoning_summary_part.done", {**at, "part": part})]
    elif kind == "message":
        events = [("response.output_item.added",
                   {"output_index": index, "item": {**item, "status": "in_progress", "content": []}})]
        for content_index, part in enumerate(item["content"]):
            at = {**where, "content_index": content_index}
            events.append(("response.content_part.added", {**at, "part": {**part, "text": ""}}))
            events += [("response.output_text.delta", {**at, "delta": piece, "logprobs": []})
                       for piece in tokens.pieces(part["text"])]
            events += [("response.output_text.done", {**at, "text": part["text"], "logprobs": []}),
                       ("response.content_part.done", {**at, "part": part})]
    else:
        events = [("response.output_item.added",
                   {"output_index": index, "item": {**item, "status": "in_progress", "arguments": ""}})]
        events += [("response.function_call_arguments.delta", {**where, "delta": piece})
                   for piece in tokens.pieces(item["arguments"])]
        events.append(("response.function_call_arguments.done",
                       {**where, "name": item["name"], "arguments": item["arguments"]}))
    return events + [("response.output_item.done", {"output_index": index, "item": item})]


def sse_event(kind: str, payload: dict[str, Any], sequence_number: int) -> bytes:
    data = json.dumps({"type": kind, **payload, "sequence_number": sequence_number}, separators=(",", ":"),
                      ensure_ascii=False)
    return f"event: {kind}\ndata: {data}\n\n".encode()


def numbered_frames(events: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    return [sse_event(kind, payload, number) for number, (kind, payload) in enumerate(events)]


class ResponsesAPI:
    """The Responses endpoints of one OpenAI-family flavour (`family`: its `OpenAIFamily`)."""

    def __init__(self, family: Any) -> None:
        self.family = family

    def routes(self, prefix: str) -> list[Route]:
        p = prefix + "/responses"
        return [
            Route("POST", p, self.create),
            Route("POST", p + "/input_tokens", self.count_input_tokens, consumes_behaviour=False),
            Route("POST", p + "/compact", self.compact),
            Route("GET", p + "/{id}", self.retrieve, consumes_behaviour=False),
            Route("DELETE", p + "/{id}", self.delete, consumes_behaviour=False),
            Route("POST", p + "/{id}/cancel", self.cancel, consumes_behaviour=False, takes_body=False),
            Route("GET", p + "/{id}/input_items", self.list_input_items, consumes_behaviour=False),
        ]

    # -- create ---------------------------------------------------------------

    def _conversation(self, call: Call) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | web.Response:
        """(this request's input items, the whole conversation), or the 400 OpenAI answers."""
        body = call.body
        raw = body.get("input")
        if raw is not None and not isinstance(raw, (str, list)):
            return self._bad(f"Invalid type for 'input': expected one of a string or array of input items, but got "
                             f"{_json_kind(raw)} instead.", "input", "invalid_type")
        if isinstance(raw, list):
            for index, item in enumerate(raw):
                if not isinstance(item, dict):
                    return self._bad(f"Invalid type for 'input[{index}]': expected an input item, but got "
                                     f"{_json_kind(item)} instead.", f"input[{index}]", "invalid_type")
        items = input_items(raw)
        earlier: list[dict[str, Any]] = []
        previous = body.get("previous_response_id")
        if previous is not None:
            stored = call.state.responses.get(previous) if isinstance(previous, str) else None
            if stored is None and not call.state.mock_responses:
                return self._bad(f"Previous response with id '{previous}' not found.", "previous_response_id",
                                 "previous_response_not_found")
            earlier = stored.conversation if stored else []
        return items, earlier + items

    def _model(self, call: Call) -> str | web.Response:
        model = call.body.get("model")
        if isinstance(model, str) and model:
            return model
        if call.state.mock_responses:
            return "gpt-4o"
        return self._bad("Missing required parameter: 'model'.", "model", "missing_required_parameter")

    def _answer(self, call: Call, model: str, conversation: list[dict[str, Any]]) -> dict[str, Any]:
        body = call.body
        prompt = responses_prompt(body, conversation, reasoning=REASONING_MODEL.match(model) is not None)
        reply = replies.plan_reply(self.family.flavour, prompt, call.behaviour, self.family._tool_id)
        summary = (body.get("reasoning") or {}).get("summary") in SUMMARY_MODES
        return response_object(body, model, output_items(reply, summary=summary), reply)

    async def create(self, call: Call) -> web.StreamResponse:
        model = self._model(call)
        if isinstance(model, web.Response):
            return model
        conversation = self._conversation(call)
        if isinstance(conversation, web.Response):
            return conversation
        items, whole = conversation
        response = self._answer(call, model, whole)
        if call.body.get("store") is not False:
            call.state.responses.put(Stored(response, items, whole + response["output"]))
        if call.body.get("stream"):
            return await self._stream(call, response)
        return await wire.send_body(call.request, call.behaviour, status=200,
                                    body=self.family._encode(response), content_type="application/json")

    async def _stream(self, call: Call, response: dict[str, Any]) -> web.StreamResponse:
        behaviour: Behaviour = call.behaviour
        frames = numbered_frames(stream_events(response))
        if behaviour.stream_error is not None:
            # The in-stream failure replaces everything after `response.created`.
            failure = numbered_frames(stream_events(response, behaviour.stream_error))
            behaviour = _without_stream_error(behaviour)
            frames = failure
        framing = wire.StreamFraming("text/event-stream; charset=utf-8", b"event: response.output_text.delta\n"
                                     b"data: {not json\n\n", _unused_error)
        return await wire.send_stream(call.request, behaviour, frames, framing,
                                      default_delay_ms=call.state.chunk_delay_ms)

    # -- other endpoints --------------------------------------------------------

    async def count_input_tokens(self, call: Call) -> web.StreamResponse:
        conversation = self._conversation(call)
        if isinstance(conversation, web.Response):
            return conversation
        prompt = responses_prompt(call.body, conversation[1], reasoning=False)
        count = sum(tokens.count(text) for text in prompt.texts)
        return self.family._json({"object": "response.input_tokens", "input_tokens": count})

    async def compact(self, call: Call) -> web.StreamResponse:
        model = self._model(call)
        if isinstance(model, web.Response):
            return model
        conversation = self._conversation(call)
        if isinstance(conversation, web.Response):
            return conversation
        prompt = responses_prompt(call.body, conversation[1], reasoning=False)
        count = sum(tokens.count(text) for text in prompt.texts)
        usage = {"input_tokens": count, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                 "output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": count}
        compacted = {"id": new_id("resp"), "object": "response.compaction", "created_at": int(time.time()),
                     "output": [{"id": new_id("cmp"), "type": "compaction",
                                 "encrypted_content": secrets.token_urlsafe(24)}], "usage": usage}
        return await wire.send_body(call.request, call.behaviour, status=200, body=self.family._encode(compacted),
                                    content_type="application/json")

    def _lookup(self, call: Call) -> Stored | web.Response:
        response_id = call.request.match_info["id"]
        stored = call.state.responses.get(response_id)
        if stored is not None:
            return stored
        if call.state.mock_responses:
            return self._synthetic(call, response_id)
        return self.family._json(errors.openai_error(f"Response with id '{response_id}' not found.",
                                                     "invalid_request_error"), 404)

    def _synthetic(self, call: Call, response_id: str) -> Stored:
        """A stored-looking response for an id the emulator never created (--mock-responses)."""
        body = {"model": "gpt-4o", "input": "Hello"}
        items = input_items(body["input"])
        response = self._answer(Call(call.request, Behaviour(), body, call.state), "gpt-4o", items)
        return Stored({**response, "id": response_id}, items, items + response["output"])

    async def retrieve(self, call: Call) -> web.StreamResponse:
        stored = self._lookup(call)
        if isinstance(stored, web.Response):
            return stored
        if call.request.query.get("stream") == "true":
            after = call.request.query.get("starting_after")
            frames = numbered_frames(stream_events(stored.response))
            if after is not None and after.isdigit():
                frames = frames[int(after) + 1:]
            framing = wire.StreamFraming("text/event-stream; charset=utf-8", b"", _unused_error)
            return await wire.send_stream(call.request, Behaviour(), frames, framing, default_delay_ms=0)
        return self.family._json(stored.response)

    async def delete(self, call: Call) -> web.StreamResponse:
        stored = self._lookup(call)
        if isinstance(stored, web.Response):
            return stored
        call.state.responses.delete(stored.response["id"])
        return self.family._json({"id": stored.response["id"], "object": "response", "deleted": True})

    async def cancel(self, call: Call) -> web.StreamResponse:
        stored = self._lookup(call)
        if isinstance(stored, web.Response):
            return stored
        if not stored.response.get("background") and not call.state.mock_responses:
            return self._bad("Only responses created with background=true can be cancelled.", None, None)
        return self.family._json({**stored.response, "status": "cancelled"})

    async def list_input_items(self, call: Call) -> web.StreamResponse:
        stored = self._lookup(call)
        if isinstance(stored, web.Response):
            return stored
        items = list(stored.input_items)
        if call.request.query.get("order", "desc") == "desc":
            items.reverse()
        after = call.request.query.get("after")
        ids = [item["id"] for item in items]
        if after in ids:
            items = items[ids.index(after) + 1:]
        limit = call.request.query.get("limit", "20")
        count = max(1, min(int(limit), 100)) if limit.isdigit() else 20
        page = items[:count]
        return self.family._json({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                                  "last_id": page[-1]["id"] if page else None, "has_more": len(items) > count})

    def _bad(self, message: str, param: str | None, code: str | None) -> web.Response:
        return self.family._json(errors.openai_error(message, "invalid_request_error", param, code), 400)


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null" if value is None else "an array" if isinstance(value, list) else "a string"


def _without_stream_error(behaviour: Behaviour) -> Behaviour:
    return replace(behaviour, stream_error=None)


def _unused_error(type_: str | None, message: str | None) -> bytes:
    raise AssertionError("Responses streams render their failure themselves")

