"""A worker's leased units and the items each still waits to see stored.

A unit is acknowledged in Redis only when every item it produced is durably handled —
committed or dead-lettered by the PostgreSQL pipeline (its ``items_stored`` signal), or,
with storage off, through the item pipelines — so a worker that dies before that loses
no data: the lease expires and another worker crawls the unit again. Pure Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class Held:
    """A leased unit: its crawl state (a subreddit or user unit, or None) and items unstored."""

    unit: Any
    waiting: int = 0
    built: bool = False


class Ledger:
    def __init__(self) -> None:
        self.held: dict[str, Held] = {}
        self._owners: dict[int, tuple[str, Any]] = {}  # id(item) -> (unit text, item)

    def __len__(self) -> int:
        return len(self.held)

    def hold(self, text: str, unit: Any) -> Held:
        held = self.held.get(text)
        if held is None:
            held = self.held[text] = Held(unit)
        return held

    def get(self, text: str) -> Held | None:
        return self.held.get(text)

    def track(self, text: str, items: Iterable[Any]) -> bool:
        """The unit is built and yields ``items``: True when nothing is left to wait for."""
        held = self.held[text]
        held.built = True
        for item in items:
            self._owners[id(item)] = (text, item)
            held.waiting += 1
        return self._complete(text)

    def stored(self, items: Iterable[Any]) -> list[str]:
        """Items are durably handled: the units that are now complete (to acknowledge)."""
        done = []
        for item in items:
            owner = self._owners.pop(id(item), None)
            if owner is None:
                continue
            held = self.held.get(owner[0])
            if held is not None:
                held.waiting -= 1
                if self._complete(owner[0]):
                    done.append(owner[0])
        return done

    def lost(self, items: Iterable[Any]) -> list[str]:
        """Items will never be stored: their units, dropped here, to give back to the queue."""
        texts = {owner[0] for item in items if (owner := self._owners.get(id(item)))}
        for text in texts:
            self.held.pop(text, None)
        for key, (text, _) in list(self._owners.items()):
            if text in texts:
                del self._owners[key]
        return sorted(texts)

    def _complete(self, text: str) -> bool:
        held = self.held[text]
        if held.built and held.waiting <= 0:
            del self.held[text]
            return True
        return False
