"""Mutable emulator state: expected keys, behaviour queues, recorded requests."""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from typing import Any

from aiohttp import web

from .behaviours import Behaviour
from .response_store import ResponseStore

FLAVOURS = ("openai", "deepseek", "dashscope", "anthropic", "gemini", "custom")

DEFAULT_KEYS: dict[str, str | None] = {
    "openai": "test-openai-key",
    "deepseek": "test-deepseek-key",
    "dashscope": "test-dashscope-key",
    "anthropic": "test-anthropic-key",
    "gemini": "test-gemini-key",
    "custom": None,  # no authentication, like a local vLLM/Ollama
}


class State:
    def __init__(self, keys: dict[str, str | None], chunk_delay_ms: float = 0.0,
                 float_embeddings: bool = False, mock_responses: bool = False) -> None:
        self.startup_keys = dict(keys)
        self.chunk_delay_ms = chunk_delay_ms
        self.float_embeddings = float_embeddings  # ignore encoding_format=base64 (see README)
        self.mock_responses = mock_responses  # accept unknown response ids and model-less requests (see README)
        self.responses = ResponseStore()  # Responses API answers kept for previous_response_id and lookups
        self.keys = dict(keys)
        self.queues: dict[str, deque[Behaviour]] = defaultdict(deque)
        self.cycles: dict[str, list[Behaviour]] = {}
        self.cycle_positions: dict[str, int] = defaultdict(int)
        self.records: list[dict[str, Any]] = []

    def expected_key(self, flavour: str) -> str | None:
        return self.keys[flavour]

    def set_key(self, flavour: str, key: str | None) -> None:
        self.keys[flavour] = key

    def push(self, flavour: str, behaviours: list[Behaviour]) -> None:
        self.queues[flavour].extend(behaviours)

    def set_cycle(self, flavour: str, behaviours: list[Behaviour]) -> None:
        self.cycles[flavour] = behaviours
        self.cycle_positions[flavour] = 0

    def pop(self, flavour: str) -> Behaviour:
        """The next queued behaviour, else the next of the flavour's cycle, else the default."""
        queue = self.queues[flavour]
        if queue:
            return queue.popleft()
        cycle = self.cycles.get(flavour)
        if not cycle:
            return Behaviour()
        position = self.cycle_positions[flavour]
        self.cycle_positions[flavour] = position + 1
        return cycle[position % len(cycle)]

    def record(self, flavour: str, request: web.Request, raw_body: bytes) -> None:
        text = raw_body.decode("utf-8", errors="replace")
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        self.records.append({
            "flavour": flavour,
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": {name.lower(): value for name, value in request.headers.items()},
            "body": body,
            "received_at": time.time(),
        })

    def requests(self, flavour: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.records if flavour is None or r["flavour"] == flavour]

    def reset(self) -> None:
        self.keys = dict(self.startup_keys)
        self.queues.clear()
        self.cycles.clear()
        self.cycle_positions.clear()
        self.records.clear()
        self.responses.clear()
