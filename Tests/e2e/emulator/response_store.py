"""The emulator's stored Responses API answers (see responses.py)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

STORE_LIMIT = 10_000  # stored responses per emulator process; the oldest is dropped beyond it


@dataclass
class Stored:
    response: dict[str, Any]
    input_items: list[dict[str, Any]]  # this request's input, with ids
    conversation: list[dict[str, Any]]  # every item a continuation sees: earlier turns, this input, this output


class ResponseStore:
    """The emulator's own stored responses, oldest first, at most `STORE_LIMIT`."""

    def __init__(self) -> None:
        self.entries: OrderedDict[str, Stored] = OrderedDict()

    def put(self, stored: Stored) -> None:
        self.entries[stored.response["id"]] = stored
        while len(self.entries) > STORE_LIMIT:
            self.entries.popitem(last=False)

    def get(self, response_id: str) -> Stored | None:
        return self.entries.get(response_id)

    def delete(self, response_id: str) -> bool:
        return self.entries.pop(response_id, None) is not None

    def clear(self) -> None:
        self.entries.clear()
