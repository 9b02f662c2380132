"""Binary COPY data formatted ahead of the write, on the reactor thread.

The writer thread is the pipeline's bottleneck: while it formats a batch's COPY data
(holding the GIL, which it shares with the reactor thread) PostgreSQL waits for it.
So each batch handed to the writer carries its rows already formatted in PostgreSQL's
binary COPY format (:class:`CopyBlocks`), and the writer only sends bytes (libpq waits
without the GIL). Formatting is CPU only, no I/O. The writer falls back to formatting
rows itself when blocks do not cover a table's rows exactly (a key met twice in one
flush, a flush split to isolate a rejected row).

Uses psycopg's public ``Copy`` with a :class:`~psycopg.copy.Writer` that collects the
data (as ``FileWriter`` does), over a cursor of a closed connection: an adaptation
context that never executes anything. Reads no settings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.copy import Copy, Writer

# PostgreSQL's binary COPY header (signature, flags, no extension) and trailer.
HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"


class _Collect(Writer):
    """A COPY writer that keeps the data instead of sending it."""

    def __init__(self) -> None:
        self.chunks: list[Buffer] = []

    def write(self, data: Buffer) -> None:
        self.chunks.append(data)


@dataclass
class CopyBlocks:
    """Rows of one table as binary COPY row data (no header, no trailer)."""

    blocks: list[bytes] = field(default_factory=list)
    rows: int = 0

    def add(self, other: CopyBlocks) -> None:
        self.blocks.extend(other.blocks)
        self.rows += other.rows


class CopyFormatter:
    """Formats rows for the staging tables' COPY, given each table's column types."""

    def __init__(self, conn: psycopg.Connection[Any], types: dict[str, list[int]]) -> None:
        # An adaptation context only (the connection's adapters): never used to execute.
        self._cursor = psycopg.Cursor(conn)
        self._types = types

    def format(self, table: str, rows: Sequence[Sequence[Any]]) -> CopyBlocks | None:
        """The rows' COPY data; None when they cannot be formatted (the writer will try)."""
        out = _Collect()
        try:
            with Copy(self._cursor, binary=True, writer=out) as copy:
                copy.set_types(self._types[table])
                for row in rows:
                    copy.write_row(row)
        except Exception:  # a value psycopg cannot dump: the writer isolates it
            return None
        data = b"".join(out.chunks)
        if not (data.startswith(HEADER) and data.endswith(TRAILER)):
            return None
        return CopyBlocks([data[len(HEADER) : -len(TRAILER)]], len(rows))


def merge(first: dict[str, CopyBlocks], second: dict[str, CopyBlocks]) -> dict[str, CopyBlocks]:
    """The blocks of two jobs made into one (tables of only one stay partial)."""
    merged = {name: CopyBlocks(list(b.blocks), b.rows) for name, b in first.items()}
    for name, blocks in second.items():
        merged.setdefault(name, CopyBlocks()).add(blocks)
    return merged


def send(copy: Copy, blocks: Iterable[bytes]) -> None:
    """Write pre-formatted row data as one binary COPY stream."""
    copy.write(HEADER)
    for block in blocks:
        copy.write(block)
    copy.write(TRAILER)
