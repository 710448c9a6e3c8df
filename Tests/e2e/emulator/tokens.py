"""The emulator's token rule: one token per whitespace-separated word."""

from __future__ import annotations

import json
import re
from typing import Any

_WORD = re.compile(r"\s*\S+")


def count(text: str | None) -> int:
    """tokens(text) = len(text.split())."""
    return len(text.split()) if text else 0


def pieces(text: str) -> list[str]:
    """Split text into one piece per word, keeping the whitespace.

    Each piece carries the whitespace before its word, the last one also any
    trailing whitespace, so "".join(pieces(t)) == t and len(pieces(t)) ==
    count(t). A text without words is a single piece (or none when empty).
    """
    parts = _WORD.findall(text)
    if not parts:
        return [text] if text else []
    parts[-1] += text[sum(map(len, parts)):]
    return parts


def compact_json(value: Any) -> str:
    """The JSON text the emulator emits for tool arguments and JSON replies."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
