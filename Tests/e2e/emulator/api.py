"""The request pipeline shared by every provider flavour.

record -> authenticate -> pop a behaviour -> pre-response faults (hang, reset,
status) -> parse the JSON body -> the provider's handler.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import wire
from .behaviours import Behaviour
from .state import State


@dataclass(frozen=True)
class Call:
    request: web.Request
    behaviour: Behaviour
    body: Any  # parsed JSON object of a POST, None otherwise
    state: State


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    consumes_behaviour: bool = True  # generation and embeddings do; listings and lookups don't
    takes_body: bool = True  # False: a POST without a JSON body (e.g. cancelling a response); none is parsed


class Provider:
    """A provider flavour: its routes, authentication and error envelope."""

    flavour: str
    error_content_type = "application/json"

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def authenticate(self, request: web.Request, expected_key: str | None) -> web.Response | None:
        """None when the request may proceed, else the provider's rejection."""
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        """The provider's real error body for an HTTP status."""
        raise NotImplementedError

    def bad_request(self, message: str) -> web.Response:
        """A 400 in the provider's error shape."""
        raise NotImplementedError


def install(app: web.Application, provider: Provider, state: State) -> None:
    for route in provider.routes():
        app.router.add_route(route.method, route.path, _endpoint(provider, route, state))


def _endpoint(provider: Provider, route: Route, state: State) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        state.record(provider.flavour, request, raw)
        denied = provider.authenticate(request, state.expected_key(provider.flavour))
        if denied is not None:
            return denied
        behaviour = state.pop(provider.flavour) if route.consumes_behaviour else Behaviour()
        if behaviour.hang_before_headers_s:
            await asyncio.sleep(behaviour.hang_before_headers_s)
        if behaviour.reset:
            return await wire.reset_connection(request)
        if behaviour.status is not None:
            return await _status_response(provider, behaviour, request)
        body = None
        if request.method == "POST" and route.takes_body:
            try:
                body = json.loads(raw)
            except ValueError as error:
                return provider.bad_request(f"We could not parse the JSON body of your request. ({error})")
            if not isinstance(body, dict):
                return provider.bad_request("The request body must be a JSON object.")
        return await route.handler(Call(request, behaviour, body, state))

    return handle


async def _status_response(provider: Provider, behaviour: Behaviour, request: web.Request) -> web.StreamResponse:
    assert behaviour.status is not None
    if not behaviour.has_body:
        body = json.dumps(provider.error_body(behaviour.status), ensure_ascii=False).encode()
        content_type = provider.error_content_type
    elif isinstance(behaviour.body, str):
        body, content_type = behaviour.body.encode(), "text/plain; charset=utf-8"
    else:
        body, content_type = json.dumps(behaviour.body, ensure_ascii=False).encode(), "application/json"
    return await wire.send_body(request, behaviour, status=behaviour.status, body=body, content_type=content_type)
