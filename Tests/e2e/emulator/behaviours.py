"""Behaviour overrides queued through the control API (see README)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

USAGE_KEYS = frozenset({"prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
                        "cache_creation_tokens"})

_UNSET: Any = object()


@dataclass(frozen=True)
class Behaviour:
    """How to answer one upstream request. The default instance answers normally."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = _UNSET  # JSON value, or a raw string sent verbatim
    hang_before_headers_s: float = 0.0
    reset: bool = False
    reset_after_chunks: int | None = None
    hang_after_chunks: int | None = None
    hang_s: float = 0.0
    garbage: bool = False
    no_usage: bool = False
    chunk_delay_ms: float | None = None
    first_chunk_delay_ms: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)
    reply: str | None = None
    stream_error: dict[str, str] | None = None
    stream_tail: list[str] | None = None
    gate: str | None = None
    gate_after_chunks: int = 1

    @property
    def has_body(self) -> bool:
        return self.body is not _UNSET

    @property
    def cut_after_chunks(self) -> int | None:
        """After how many stream events the connection is hung up/reset, if at all."""
        points = [k for k in (self.reset_after_chunks, self.hang_after_chunks) if k is not None]
        return min(points) if points else None

    @classmethod
    def parse(cls, raw: Any) -> Behaviour:
        """Validate one behaviour object from the control API; raise ValueError if malformed."""
        if not isinstance(raw, dict):
            raise ValueError("a behaviour must be a JSON object")
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown behaviour keys: {sorted(unknown)}")
        values = dict(raw)
        if "status" in values:
            values["status"] = _int(values, "status", 100, 599)
        for key in ("reset_after_chunks", "hang_after_chunks", "gate_after_chunks"):
            if key in values:
                values[key] = _int(values, key, 0)
        for key in ("hang_before_headers_s", "hang_s", "chunk_delay_ms", "first_chunk_delay_ms"):
            if key in values:
                values[key] = _number(values, key)
        if not isinstance(values.get("gate", ""), str):
            raise ValueError("gate must be a string")
        for key in ("reset", "garbage", "no_usage"):
            if not isinstance(values.get(key, False), bool):
                raise ValueError(f"{key} must be a boolean")
        headers = values.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, (str, int, float)) for v in headers.values()):
            raise ValueError("headers must be an object of strings")
        values["headers"] = {str(k): str(v) for k, v in headers.items()}
        usage = values.get("usage", {})
        if (not isinstance(usage, dict) or set(usage) - USAGE_KEYS
                or not all(isinstance(v, int) and v >= 0 for v in usage.values())):
            raise ValueError(f"usage must map some of {sorted(USAGE_KEYS)} to non-negative integers")
        if values.get("reply") is not None and not isinstance(values["reply"], str):
            raise ValueError("reply must be a string")
        stream_error = values.get("stream_error")
        if stream_error is not None and (not isinstance(stream_error, dict)
                                         or not all(isinstance(v, str) for v in stream_error.values())
                                         or set(stream_error) - {"type", "message"}):
            raise ValueError('stream_error must be {"type": str, "message": str}')
        tail = values.get("stream_tail")
        if tail is not None and (not isinstance(tail, list) or not all(isinstance(piece, str) for piece in tail)):
            raise ValueError("stream_tail must be a list of strings")
        return cls(**values)


def _int(values: dict[str, Any], key: str, low: int, high: int | None = None) -> int:
    value = values[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        raise ValueError(f"{key} must be an integer >= {low}" + (f" and <= {high}" if high is not None else ""))
    return value


def _number(values: dict[str, Any], key: str) -> float:
    value = values[key]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} must be a non-negative number")
    return float(value)
