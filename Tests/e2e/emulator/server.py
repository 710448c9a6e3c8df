"""The aiohttp application: every provider flavour plus the control API under /_emulator."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from . import api, gates
from .anthropic import Anthropic
from .behaviours import Behaviour
from .dashscope_native import DashScopeNative
from .gemini import Gemini
from .openai_family import OpenAIFamily
from .state import FLAVOURS, State

STATE_KEY = web.AppKey("state", State)


def create_app(state: State) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE_KEY] = state
    providers: list[api.Provider] = [OpenAIFamily(f) for f in ("openai", "deepseek", "dashscope", "custom")]
    providers += [DashScopeNative(), Anthropic(), Gemini()]
    for provider in providers:
        api.install(app, provider, state)
    app.router.add_post("/_emulator/behaviours", push_behaviours)
    app.router.add_post("/_emulator/cycle", set_cycle)
    app.router.add_get("/_emulator/requests", list_requests)
    app.router.add_post("/_emulator/reset", reset)
    app.router.add_post("/_emulator/keys", set_key)
    app.router.add_post("/_emulator/gate", open_gate)
    app.router.add_get("/_emulator/health", health)
    return app


def _problem(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _flavour_body(request: web.Request) -> tuple[str, dict[str, Any]]:
    """The JSON object body of a control request and its (validated) flavour."""
    try:
        body = await request.json()
    except ValueError as error:
        raise ValueError(f"invalid JSON: {error}") from None
    if not isinstance(body, dict) or body.get("flavour") not in FLAVOURS:
        raise ValueError(f"body must be an object whose 'flavour' is one of {list(FLAVOURS)}")
    return body["flavour"], body


async def _behaviours_body(request: web.Request) -> tuple[str, list[Behaviour]]:
    """The flavour and the validated behaviours of a /behaviours or /cycle request."""
    flavour, body = await _flavour_body(request)
    raw = body.get("behaviours")
    if not isinstance(raw, list):
        raise ValueError("'behaviours' must be a list")
    return flavour, [Behaviour.parse(item) for item in raw]


async def push_behaviours(request: web.Request) -> web.Response:
    try:
        flavour, behaviours = await _behaviours_body(request)
    except ValueError as error:
        return _problem(str(error))
    state = request.app[STATE_KEY]
    state.push(flavour, behaviours)
    return web.json_response({"queued": len(state.queues[flavour])})


async def set_cycle(request: web.Request) -> web.Response:
    try:
        flavour, behaviours = await _behaviours_body(request)
    except ValueError as error:
        return _problem(str(error))
    request.app[STATE_KEY].set_cycle(flavour, behaviours)
    return web.json_response({"cycle": len(behaviours)})


async def list_requests(request: web.Request) -> web.Response:
    flavour = request.query.get("flavour")
    if flavour is not None and flavour not in FLAVOURS:
        return _problem(f"unknown flavour {flavour!r}")
    records = request.app[STATE_KEY].requests(flavour)
    return web.Response(text=json.dumps(records, ensure_ascii=False), content_type="application/json")


async def reset(request: web.Request) -> web.Response:
    request.app[STATE_KEY].reset()
    return web.json_response({"ok": True})


async def set_key(request: web.Request) -> web.Response:
    try:
        flavour, body = await _flavour_body(request)
    except ValueError as error:
        return _problem(str(error))
    key = body.get("key")
    if key is not None and not isinstance(key, str):
        return _problem("'key' must be a string, or null to accept any key")
    request.app[STATE_KEY].set_key(flavour, key)
    return web.json_response({"ok": True})


async def open_gate(request: web.Request) -> web.Response:
    body = await request.json()
    if not isinstance(body, dict) or not isinstance(body.get("gate"), str):
        return _problem("body must be an object with a string 'gate'")
    return web.json_response({"waiting": gates.open_gate(body["gate"])})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})
