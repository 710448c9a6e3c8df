"""Mutable emulator state: expected keys, behaviour queues, recorded requests."""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from typing import Any

from aiohttp import web

from .behaviours import Behaviour

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
                 float_embeddings: bool = False) -> None:
        self.startup_keys = dict(keys)
        self.chunk_delay_ms = chunk_delay_ms
        self.float_embeddings = float_embeddings  # ignore encoding_format=base64 (see README)
        self.keys = dict(keys)
        self.queues: dict[str, deque[Behaviour]] = defaultdict(deque)
        self.records: list[dict[str, Any]] = []

    def expected_key(self, flavour: str) -> str | None:
        return self.keys[flavour]

    def set_key(self, flavour: str, key: str | None) -> None:
        self.keys[flavour] = key

    def push(self, flavour: str, behaviours: list[Behaviour]) -> None:
        self.queues[flavour].extend(behaviours)

    def pop(self, flavour: str) -> Behaviour:
        queue = self.queues[flavour]
        return queue.popleft() if queue else Behaviour()

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
        self.records.clear()
