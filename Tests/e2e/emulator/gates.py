"""Gates: a stream whose behaviour names a `gate` stops after `gate_after_chunks` events (default
1) until the test opens the gate (`POST /_emulator/gate`), so a test can prove that a proxy
forwarded those events before the provider sent more: by order, not by timing. A gate nobody
opens lets the stream go on after `TIMEOUT_S`, so a buffering proxy fails the test instead of
hanging it."""

from __future__ import annotations

import asyncio

TIMEOUT_S = 30.0

_events: dict[str, asyncio.Event] = {}
_waiting: set[str] = set()


async def wait(name: str) -> None:
    """Hold the calling stream at gate `name` until it is opened or `TIMEOUT_S` passed."""
    event = _events.setdefault(name, asyncio.Event())
    _waiting.add(name)
    try:
        await asyncio.wait_for(event.wait(), TIMEOUT_S)
    except TimeoutError:
        pass
    finally:
        _waiting.discard(name)
        _events.pop(name, None)


def open_gate(name: str) -> bool:
    """Open gate `name`; whether a stream was waiting at it."""
    waiting = name in _waiting
    _events.setdefault(name, asyncio.Event()).set()
    return waiting
