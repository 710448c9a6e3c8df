"""Sending answers with the behaviour's transport faults applied."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from . import gates
from .behaviours import Behaviour

GARBAGE_BODY = b'{"id": "garbage", "choices": [{"message": '


@dataclass(frozen=True)
class StreamFraming:
    """Provider-specific pieces the generic stream writer needs (SSE, or Gemini's JSON array)."""

    content_type: str
    garbage: bytes  # an event whose data is not valid JSON
    error: Callable[[str | None, str | None], bytes]  # in-stream error event (type, message)


async def reset_connection(request: web.Request) -> web.Response:
    """Abort the TCP connection with a RST; the returned response is never sent."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response()


async def _cut(request: web.Request, behaviour: Behaviour) -> None:
    if behaviour.hang_after_chunks is not None and behaviour.hang_after_chunks == behaviour.cut_after_chunks:
        await asyncio.sleep(behaviour.hang_s)
    await reset_connection(request)


async def send_body(request: web.Request, behaviour: Behaviour, *, status: int, body: bytes,
                    content_type: str, headers: dict[str, str] | None = None) -> web.StreamResponse:
    """A complete (non-streaming) response.

    `garbage` replaces the body with invalid JSON; `reset_after_chunks` /
    `hang_after_chunks` send the headers and half of the body, then (stall and)
    abort the connection.
    """
    if behaviour.garbage:
        body = GARBAGE_BODY
    all_headers = {"Content-Type": content_type, **(headers or {}), **behaviour.headers}
    if behaviour.cut_after_chunks is None:
        return web.Response(status=status, body=body, headers=all_headers)
    response = web.StreamResponse(status=status, headers=all_headers)
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    await _cut(request, behaviour)
    return response


async def send_stream(request: web.Request, behaviour: Behaviour, frames: list[bytes], framing: StreamFraming,
                      *, default_delay_ms: float, headers: dict[str, str] | None = None) -> web.StreamResponse:
    """Write stream frames one HTTP chunk each (chunked transfer encoding),
    applying delays, garbage, in-stream errors and connection cuts."""
    frames = list(frames)
    if behaviour.stream_error is not None:
        frames = frames[:1] + [framing.error(behaviour.stream_error.get("type"), behaviour.stream_error.get("message"))]
    if behaviour.stream_tail is not None:
        frames = frames[:1] + [piece.encode() for piece in behaviour.stream_tail]
    if behaviour.garbage:
        frames.insert(1, framing.garbage)
    response = web.StreamResponse(status=200, headers={
        "Content-Type": framing.content_type, "Cache-Control": "no-cache", **(headers or {}), **behaviour.headers})
    response.enable_chunked_encoding()
    await response.prepare(request)
    delay_ms = behaviour.chunk_delay_ms if behaviour.chunk_delay_ms is not None else default_delay_ms
    cut = behaviour.cut_after_chunks
    for index, frame in enumerate(frames):
        if cut is not None and index >= cut:
            break
        pause_ms = behaviour.first_chunk_delay_ms if index == 0 else delay_ms
        if pause_ms:
            await asyncio.sleep(pause_ms / 1000)
        await response.write(frame)
        if behaviour.gate is not None and index + 1 == behaviour.gate_after_chunks:
            await gates.wait(behaviour.gate)
    if cut is not None:
        await _cut(request, behaviour)
        return response
    await response.write_eof()
    return response
