"""The dead-letter file: items PostgreSQL would not take, one JSON object per line.

Each line holds the time, crawl run id, item kind, the error (and SQLSTATE when
PostgreSQL gave one) and the full item, so it can be inspected and replayed. The file
is created on the first dead letter only. Written from the writer thread only.
Reads no settings (the pipeline passes the path from ``POSTGRES_DEADLETTER_FILE``).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from reddit_crawler.pipelines.rows import item_kind_of


@dataclass(frozen=True)
class DeadLetter:
    """One rejected item and why."""

    item: Any
    error: str
    sqlstate: str | None = None


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


def item_as_json(item: Any) -> Any:
    """A JSON-ready copy of an item (dataclass or mapping)."""
    if dataclasses.is_dataclass(item) and not isinstance(item, type):
        return dataclasses.asdict(item)
    return item


class DeadLetterFile:
    """Appends dead letters to ``path`` (created with its folder on first use)."""

    def __init__(self, path: Path, run_id: int | None = None) -> None:
        self.path = path
        self.run_id = run_id
        self.count = 0
        self._fh: IO[str] | None = None
        self._lock = threading.Lock()

    def write(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
        lines = [self._line(letter) for letter in letters]
        with self._lock:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("a", encoding="utf-8")
            self._fh.writelines(lines)
            self._fh.flush()
            self.count += len(letters)

    def _line(self, letter: DeadLetter) -> str:
        record = {
            "time": datetime.now(UTC).isoformat(),
            "run_id": self.run_id,
            "kind": item_kind_of(letter.item),
            "error": letter.error,
            "sqlstate": letter.sqlstate,
            "item": item_as_json(letter.item),
        }
        return json.dumps(record, default=_json_default, ensure_ascii=True) + "\n"

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
