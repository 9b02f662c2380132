"""The write path: one connection, owned by one writer thread, that stores batches.

:meth:`Writer.flush` writes a :class:`Job` (units of several kinds) in one transaction:
per table a COPY into a temporary staging table and one upsert (see
:mod:`~reddit_crawler.pipelines.tables`). When PostgreSQL rejects a row, the transaction
is rolled back and written again with each kind's group in a savepoint, split in halves
until the bad unit is alone: the good ones are written, the bad one is dead-lettered.
When the connection breaks (server restart, ``pg_terminate_backend``, network) the
writer reconnects and retries the whole job with exponential backoff, ``retries``
times; after that the job's items are dead-lettered with the error (and until a write
succeeds again, later jobs get a single retry, so a dead server cannot stall the close).
Dead letters are written only after the commit, so a retried job never reports one
twice. Never raises from :meth:`flush`. Reads no settings (the pipeline passes them).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg

from reddit_crawler.db.connection import connect
from reddit_crawler.db.dsn import mask_dsn, one_line, scrub
from reddit_crawler.pipelines.copydata import CopyBlocks, CopyFormatter, send
from reddit_crawler.pipelines.deadletter import DeadLetter, DeadLetterFile
from reddit_crawler.pipelines.rows import KINDS, Unit
from reddit_crawler.pipelines.tables import (
    DELETE_STALE_RULES,
    KIND_TABLES,
    Table,
    create_staging,
    staging_types,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")
APPLICATION_NAME = "reddit_crawler-pipeline"
# Errors after which the same statement may well succeed: retry the job, do not split.
# serialization_failure, deadlock_detected, lock_not_available, query_canceled,
# admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, and the
# connection_exception class (08xxx).
TRANSIENT_SQLSTATES = frozenset(
    ("40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300", "08000", "08003",
     "08006", "08001", "08004")
)  # fmt: skip


@dataclass
class Job:
    """Units to write in one transaction, plus items already rejected before the database."""

    units: list[Unit]
    rejected: list[DeadLetter] = field(default_factory=list)
    # The units' rows already in binary COPY format, per table (see copydata).
    copied: dict[str, CopyBlocks] = field(default_factory=dict)


@dataclass
class FlushResult:
    """What a flush did; applied to the Scrapy stats on the reactor thread."""

    written: int = 0
    deadlettered: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    committed: bool = False


class Writer:
    """Synchronous storage operations; call from a single thread."""

    def __init__(
        self,
        dsn: str,
        deadletters: DeadLetterFile,
        *,
        retries: int = 8,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
    ) -> None:
        self.dsn = dsn
        self.deadletters = deadletters
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._conn: psycopg.Connection[Any] | None = None
        self._gave_up = False
        self._types: dict[str, list[int]] = {}
        # Staging tables created on the current connection (each on first use).
        self._staged: set[str] = set()
        # Staging tables holding rows of a savepoint already released in this transaction.
        self._dirty: set[str] = set()

    # -- connection ---------------------------------------------------------------------
    def connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            conn = connect(self.dsn, autocommit=True, application_name=APPLICATION_NAME)
            try:
                _prefer_lz4(conn)
                self._types = staging_types(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
            self._staged = set()
        return self._conn

    def copy_formatter(self) -> CopyFormatter | None:
        """A formatter of COPY data for the staging tables, to use on another thread.

        Its adaptation context is a connection of its own, closed at once: formatting
        never touches the writer's connection (libpq is not safe to share between
        threads). A closed connection encodes text as UTF-8, so there is no formatter
        when the writer's connection uses another client encoding, nor when the second
        connection fails: the writer then formats rows itself."""
        try:
            if self.connection().info.encoding != "utf-8":
                return None
            context = connect(self.dsn, autocommit=True, application_name=APPLICATION_NAME)
        except Exception as exc:
            logger.debug("Rows will be formatted by the writer: %s", self.describe(exc))
            return None
        context.close()
        return CopyFormatter(context, self._types)

    def backend_pid(self) -> int | None:
        return None if self._conn is None or self._conn.closed else self._conn.info.backend_pid

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.deadletters.close()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # it is broken already
                self._conn.close()
            self._conn = None

    def is_transient(self, exc: BaseException) -> bool:
        """A connection-level or retryable failure (as opposed to a rejected row)."""
        if self._conn is None or self._conn.closed or isinstance(exc, psycopg.InterfaceError):
            return True
        if not isinstance(exc, psycopg.Error):
            return False
        sqlstate = exc.sqlstate
        return sqlstate in TRANSIENT_SQLSTATES or (
            sqlstate is None and isinstance(exc, psycopg.OperationalError)
        )

    def run(
        self, operation: Callable[[psycopg.Connection[Any]], T], *, any_error: bool = False
    ) -> tuple[T, int]:
        """Run ``operation`` on a live connection, reconnecting and retrying transient
        failures (or any failure with ``any_error``); return its result and the retries."""
        attempt = 0
        # Once a job has been given up, the next ones only try once until one succeeds.
        retries = 1 if self._gave_up else self.retries
        while True:
            try:
                result = operation(self.connection())
                self._gave_up = False
                return result, attempt
            except Exception as exc:
                if not (any_error or self.is_transient(exc)) or attempt >= retries:
                    raise
                delay = min(self.max_backoff, self.backoff * 2**attempt)
                attempt += 1
                logger.warning(
                    "PostgreSQL write failed (%s); retry %d/%d in %.1fs",
                    self.describe(exc), attempt, retries, delay,
                )  # fmt: skip
                self._drop_connection()
                time.sleep(delay)

    def describe(self, exc: BaseException) -> str:
        text = one_line(scrub(str(exc), self.dsn)) or type(exc).__name__
        return f"{type(exc).__name__}: {text}"[:1000]

    # -- flushing -----------------------------------------------------------------------
    def flush(self, job: Job) -> FlushResult:
        """Write a job in one transaction; every unit ends written or dead-lettered."""
        result = FlushResult()
        letters = list(job.rejected)
        if job.units:
            try:
                outcome, result.retries = self.run(
                    lambda conn: self._flush_once(conn, job), any_error=True
                )
                letters.extend(outcome.letters)
                result.written, result.rows, result.committed = outcome.written, outcome.rows, True
            except Exception as exc:
                result.retries = 1 if self._gave_up else self.retries
                self._gave_up = True
                error = f"PostgreSQL unavailable at {mask_dsn(self.dsn)}: {self.describe(exc)}"
                logger.error("Giving up on a batch of %d items: %s", len(job.units), error)
                letters.extend(
                    DeadLetter(u.item, error, getattr(exc, "sqlstate", None)) for u in job.units
                )
        self.deadletters.write(letters)
        result.deadlettered = len(letters)
        return result

    def _flush_once(self, conn: psycopg.Connection[Any], job: Job) -> _Outcome:
        """One transaction; optimistic (no savepoints) first, isolating only on a rejection."""
        units = job.units
        groups = [(kind, [u for u in units if u.kind == kind]) for kind in KINDS]
        groups = [(kind, group) for kind, group in groups if group]
        for kind, _ in groups:
            for table in KIND_TABLES[kind]:
                if table.name not in self._staged:
                    create_staging(conn, table)  # autocommit: outlives a rolled-back flush
                    self._staged.add(table.name)
        outcome = _Outcome()
        self._dirty = set()
        try:
            with conn.transaction():
                for kind, group in groups:
                    outcome.rows.update(self._write_group(conn, kind, group, job.copied))
                    self._dirty.update(table.name for table in KIND_TABLES[kind])
            outcome.written = len(units)
            return outcome
        except Exception as exc:
            if self.is_transient(exc):
                raise
        outcome = _Outcome()
        self._dirty = set()
        with conn.transaction():
            for kind, group in groups:
                self._write_isolating(conn, kind, group, outcome)
        return outcome

    def _write_isolating(
        self, conn: psycopg.Connection[Any], kind: str, units: list[Unit], outcome: _Outcome
    ) -> None:
        """Write ``units`` in a savepoint; on a rejected row, split to isolate it."""
        try:
            with conn.transaction():
                rows = self._write_group(conn, kind, units)
        except Exception as exc:
            if self.is_transient(exc):
                raise
            if len(units) == 1:
                logger.warning("Dead-lettering an item (kind %s): %s", kind, self.describe(exc))
                outcome.letters.append(
                    DeadLetter(units[0].item, self.describe(exc), getattr(exc, "sqlstate", None))
                )
                return
            half = len(units) // 2
            self._write_isolating(conn, kind, units[:half], outcome)
            self._write_isolating(conn, kind, units[half:], outcome)
            return
        outcome.written += len(units)
        outcome.rows.update(rows)
        self._dirty.update(table.name for table in KIND_TABLES[kind])

    def _write_group(
        self,
        conn: psycopg.Connection[Any],
        kind: str,
        units: list[Unit],
        copied: dict[str, CopyBlocks] | None = None,
    ) -> Counter[str]:
        counts: Counter[str] = Counter()
        with conn.cursor() as cur:
            for table in KIND_TABLES[kind]:
                rows = _rows_for(table, units)
                owners = [u.rule_owner for u in units if u.rule_owner]
                is_rules = table.name == "subreddit_rules"
                if not rows and not (is_rules and owners):
                    continue
                if table.name in self._dirty:
                    cur.execute(f"TRUNCATE {table.staging}".encode())
                blocks = (copied or {}).get(table.name)
                with cur.copy(table.copy.encode()) as copy:
                    if blocks is not None and _covers(blocks, table, units, rows):
                        send(copy, blocks.blocks)
                    else:
                        copy.set_types(self._types[table.name])
                        for row in rows:
                            copy.write_row(row)
                if is_rules:
                    cur.execute(DELETE_STALE_RULES, [owners])
                cur.execute(table.upsert.encode())
                counts[table.name] += max(cur.rowcount, 0)
        return counts


@dataclass
class _Outcome:
    written: int = 0
    rows: Counter[str] = field(default_factory=Counter)
    letters: list[DeadLetter] = field(default_factory=list)


def _covers(blocks: CopyBlocks, table: Table, units: list[Unit], rows: list[Any]) -> bool:
    """Whether the pre-formatted blocks hold exactly these rows (every unit's, each once)."""
    return blocks.rows == len(rows) == sum(len(u.rows.get(table.name, ())) for u in units)


def _rows_for(table: Table, units: list[Unit]) -> list[tuple[Any, ...]]:
    """The table's rows from these units, each key once (the last row wins)."""
    if table.name == "posts":
        rows = [row for unit in units for row in unit.rows["posts"]]
        if len({row[0] for row in rows}) == len(rows):  # the common case: each post once
            return rows
        return table.latest_per_key(_merge_post_listings(rows))
    if table.name != "subreddit_rules":
        return table.latest_per_key([row for u in units for row in u.rows.get(table.name, ())])
    # Only the last crawl of a subreddit in the batch defines its rules.
    latest: dict[str, Unit] = {}
    for unit in units:
        if unit.rule_owner:
            latest[unit.rule_owner] = unit
    return [row for unit in latest.values() for row in unit.rows["subreddit_rules"]]


def _merge_post_listings(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A post met twice in one batch: only the last row is written, so give it every listing."""
    merged: dict[Any, dict[str, Any]] = {}
    for row in rows:
        merged.setdefault(row[0], {}).update(json.loads(row[-1]))
    return [(*row[:-1], json.dumps(merged[row[0]])) for row in rows]


def _prefer_lz4(conn: psycopg.Connection[Any]) -> None:
    """Compress long texts with lz4 (several times cheaper than pglz) when the server can.

    Staged values are compressed once, in the staging table, and copied as they are.
    """
    with contextlib.suppress(psycopg.Error):
        conn.execute("SET default_toast_compression = 'lz4'")
