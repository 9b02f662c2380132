"""Scrapy item pipeline that stores the crawl in PostgreSQL.

Items are turned into rows on the reactor thread and buffered per item kind; a buffer
is handed, with its rows already formatted as COPY data (:mod:`~.copydata`), to a
dedicated writer thread (one psycopg connection, see
:mod:`~reddit_crawler.pipelines.writer`) when it holds ``POSTGRES_BATCH_SIZE`` items,
every ``POSTGRES_FLUSH_INTERVAL`` seconds, and at close. Each flush is one transaction;
batches still queued when another is handed over are merged into one flush (group
commit, up to half the bound below): that is what keeps up when PostgreSQL is the
bottleneck. No database I/O happens on the reactor thread after start-up; when more
than ``POSTGRES_MAX_BUFFERED_BATCHES`` x ``POSTGRES_BATCH_SIZE`` items wait for the
writer, ``process_item`` waits too, so memory stays bounded.

``from_crawler`` checks the database synchronously before the engine starts (creating
it if missing and applying migrations) and raises a one-line
:class:`~reddit_crawler.db.errors.StorageError` when it cannot be used. A crawl run row is
written at open and completed (finish reason, stats) on ``spider_closed``. After a
forced shutdown (second Ctrl-C) an ``atexit`` hook flushes what is still buffered.

After each flush the pipeline sends :data:`~reddit_crawler.signals.items_stored` (on the
reactor thread) with ``items=[…]``, the item objects that flush committed or dead-lettered
(also those rejected before the database); each item is reported exactly once, after its
transaction committed; items lost to a writer failure are not reported.

Settings: see :mod:`~reddit_crawler.pipelines.config`. Stats: ``postgres/items``
(received), ``postgres/items/written``, ``postgres/deadletter``, ``postgres/rows``,
``postgres/rows/<table>``, ``postgres/retries``, ``postgres/flushes``.
"""

from __future__ import annotations

import atexit
import logging
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.asyncio import create_looping_call

from reddit_crawler.db import DatabaseUnavailable, mask_dsn, prepare_database
from reddit_crawler.futures import await_future
from reddit_crawler.pipelines.config import PostgresConfig
from reddit_crawler.pipelines.copydata import CopyBlocks, CopyFormatter, merge
from reddit_crawler.pipelines.deadletter import DeadLetter, DeadLetterFile
from reddit_crawler.pipelines.rows import KINDS, RowError, Unit, build_unit
from reddit_crawler.pipelines.runs import finish_run, insert_run, spider_args
from reddit_crawler.pipelines.tables import KIND_TABLES
from reddit_crawler.pipelines.writer import FlushResult, Job, Writer
from reddit_crawler.signals import items_lost, items_stored

logger = logging.getLogger(__name__)
COUNTERS = ("items", "items/written", "deadletter", "rows", "retries", "flushes")
GIL_YIELD_EVERY = 16  # items between GIL hand-overs to a busy writer thread
# Kinds whose rows go to one table each: their batches are handed over as COPY data
# (a subreddit's rules replace the stored ones: the writer picks which rows to stage).
PREFORMATTED = {kind: tables[0].name for kind, tables in KIND_TABLES.items() if len(tables) == 1}


@dataclass
class _Pending:
    future: Future[FlushResult]
    job: Job
    size: int


class PostgresPipeline:
    """Buffers items per kind and writes them in batches through one writer thread."""

    def __init__(self, crawler: Crawler, config: PostgresConfig) -> None:
        assert crawler.stats is not None
        self.crawler = crawler
        self.stats = crawler.stats
        self.config = config
        self.run_id: int | None = None
        self._buffers: dict[str, list[Unit]] = {kind: [] for kind in KINDS}
        self._rejected: list[DeadLetter] = []
        self._pending: deque[_Pending] = deque()
        self._writer: Writer | None = None
        self._formatter: CopyFormatter | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._timer: Any = None
        self._finished = False
        self._received = 0
        self._flush_ended = False  # set by the writer thread when a flush ends
        # Back-pressure: process_item waits while more items than this wait for the writer.
        self._bound = config.batch_size * config.max_buffered_batches
        # Largest flush made by merging batches the writer has not started yet.
        self._coalesce_limit = config.batch_size * max(1, config.max_buffered_batches // 2)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = PostgresConfig.from_settings(crawler.settings)
        prepared = prepare_database(config.dsn)
        logger.info(
            "PostgreSQL ready at %s (%s%d migration(s) applied)",
            mask_dsn(config.dsn), "database created, " if prepared.created else "",
            len(prepared.applied),
        )  # fmt: skip
        pipeline = cls(crawler, config)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    # -- Scrapy hooks -----------------------------------------------------------------
    async def open_spider(self) -> None:
        spider = self.crawler.spider
        assert spider is not None
        deadletters = DeadLetterFile(self.config.deadletter_path(spider.name))
        self._writer = Writer(self.config.dsn, deadletters, retries=self.config.retries)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="postgres-writer")
        args = spider_args(spider)
        try:
            self.run_id, _ = await self._call(
                self._writer.run, lambda conn: insert_run(conn, spider.name, args)
            )
        except Exception as exc:
            where = mask_dsn(self.config.dsn)
            detail = self._writer.describe(exc)
            raise DatabaseUnavailable(f"PostgreSQL unavailable at {where}: {detail}") from None
        deadletters.run_id = self.run_id
        self._formatter = await self._call(self._writer.copy_formatter)
        for name in COUNTERS:
            self.stats.set_value(f"postgres/{name}", 0)
        self._timer = create_looping_call(self._tick)
        self._timer.start(self.config.flush_interval, now=False)
        atexit.register(self._flush_at_exit)
        logger.info("Storing items in %s as crawl run %d", mask_dsn(self.config.dsn), self.run_id)

    async def process_item(self, item: Any) -> Any:
        self._received += 1  # published to the stats as postgres/items by _reap and at close
        if self._flush_ended:
            self._reap()
        while self._in_flight() > self._bound:
            await self._wait_oldest()
        try:
            unit = build_unit(item, self.run_id)
        except RowError as exc:
            logger.warning("Dead-lettering an item that cannot be stored: %s", exc)
            self._rejected.append(DeadLetter(item, str(exc)))
        else:
            buffer = self._buffers[unit.kind]
            buffer.append(unit)
            if len(buffer) >= self.config.batch_size:
                self._submit([unit.kind])
        if self._pending and self._received % GIL_YIELD_EVERY == 0:
            # Without this a busy reactor thread keeps the GIL for whole switch intervals
            # (5 ms) each time the writer comes back from PostgreSQL: hand it over now.
            time.sleep(0)
        return item

    async def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._submit()
        while self._pending:
            await self._wait_oldest()
        self._reap()
        self._report()

    async def spider_closed(self, reason: str) -> None:
        """Complete the crawl run row (after every other close step), then disconnect."""
        writer, run_id = self._writer, self.run_id
        if writer is None or run_id is None or self._finished:
            return
        stats = dict(self.stats.get_stats())
        try:
            await self._call(writer.run, lambda conn: finish_run(conn, run_id, reason, stats))
        except Exception as exc:
            logger.error("Could not complete crawl run %d: %s", run_id, writer.describe(exc))
        finally:
            await self._call(writer.close)
            self._finish()

    # -- buffering ------------------------------------------------------------------------
    def _submit(self, kinds: Iterable[str] = KINDS) -> None:
        units: list[Unit] = []
        for kind in kinds:
            units.extend(self._buffers[kind])
            self._buffers[kind] = []
        rejected, self._rejected = self._rejected, []
        if not units and not rejected:
            return
        last = self._pending[-1] if self._pending else None
        size = len(units) + len(rejected)
        copied = self._format(units)
        if last and last.size + size <= self._coalesce_limit and last.future.cancel():
            # The writer has not started the previous flush yet: make one flush of both.
            self._pending.pop()
            units, rejected = last.job.units + units, last.job.rejected + rejected
            copied = merge(last.job.copied, copied)
        assert self._executor is not None and self._writer is not None
        job = Job(units, rejected, copied)
        future = self._executor.submit(self._writer.flush, job)
        future.add_done_callback(self._ring)
        self._pending.append(_Pending(future, job, len(units) + len(rejected)))

    def _format(self, units: list[Unit]) -> dict[str, CopyBlocks]:
        """The units' rows as COPY data, per table (formatted here, off the writer thread)."""
        if self._formatter is None:
            return {}
        rows: dict[str, list[Any]] = {}
        for unit in units:
            table = PREFORMATTED.get(unit.kind)
            if table is not None:
                rows.setdefault(table, []).extend(unit.rows[table])
        copied = {}
        for table, table_rows in rows.items():
            blocks = self._formatter.format(table, table_rows)
            if blocks is not None:
                copied[table] = blocks
        return copied

    def _ring(self, _future: Future[FlushResult]) -> None:
        """A flush ended (called on the writer thread): tell process_item to reap it.

        A flag the reactor thread reads for every item at no cost. Asking the oldest
        future ``done()`` (it takes a lock) and updating the stats for every item took
        about a fifth of the pipeline's time on the reactor thread."""
        self._flush_ended = True

    def _in_flight(self) -> int:
        return sum(p.size for p in self._pending)

    def _tick(self) -> None:
        self._reap()
        if self._in_flight() <= self._bound:
            self._submit()

    async def _wait_oldest(self) -> None:
        future = self._pending[0].future
        try:
            await await_future(future)
        except BaseException:
            if not future.done():  # we are being cancelled ourselves
                raise
            # otherwise the writer failed (reported by _apply) or the flush was merged
        self._reap()

    def _reap(self) -> None:
        self._flush_ended = False  # before looking: a flush ending from now on rings again
        self.stats.set_value("postgres/items", self._received)
        while self._pending and self._pending[0].future.done():
            pending = self._pending.popleft()
            if not pending.future.cancelled():
                self._apply(pending)

    def _apply(self, pending: _Pending) -> None:
        try:
            result = pending.future.result()
        except Exception:
            logger.exception("PostgreSQL writer failed; %d items lost", pending.size)
            self.stats.inc_value("postgres/lost", pending.size)
            self.crawler.signals.send_catch_log(signal=items_lost, items=_items_of(pending.job))
            return
        inc = self.stats.inc_value
        inc("postgres/items/written", result.written)
        inc("postgres/deadletter", result.deadlettered)
        inc("postgres/retries", result.retries)
        inc("postgres/flushes", int(result.committed))
        inc("postgres/rows", sum(result.rows.values()))
        for table, count in result.rows.items():
            inc(f"postgres/rows/{table}", count)
        # Every item of this flush is now durably handled: committed or dead-lettered.
        items = _items_of(pending.job)
        if items:
            self.crawler.signals.send_catch_log(signal=items_stored, items=items)

    async def _call(self, fn: Any, *args: Any) -> Any:
        assert self._executor is not None
        return await await_future(self._executor.submit(fn, *args))

    def _report(self) -> None:
        get = self.stats.get_value
        received, written, dead = (
            get(f"postgres/{k}", 0) for k in ("items", "items/written", "deadletter")
        )
        if written + dead != received:
            logger.error(
                "PostgreSQL: %d items received but %d written + %d dead-lettered",
                received,
                written,
                dead,
            )
        if dead:
            assert self._writer is not None
            logger.warning(
                "PostgreSQL: %d item(s) dead-lettered to %s", dead, self._writer.deadletters.path
            )
        logger.info(
            "PostgreSQL: %d items written (%d rows), %d dead-lettered",
            written,
            get("postgres/rows", 0),
            dead,
        )

    def _finish(self) -> None:
        self._finished = True
        atexit.unregister(self._flush_at_exit)
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    def _flush_at_exit(self) -> None:
        """Forced shutdown: the writer thread has drained its queue; write the rest here."""
        if self._finished or self._writer is None or self.run_id is None:
            return
        self._reap()
        units = [unit for kind in KINDS for unit in self._buffers[kind]]
        self._buffers = {kind: [] for kind in KINDS}
        job = Job(units, self._rejected)
        self._rejected = []
        result = self._writer.flush(job)
        self._apply(_Pending(_done(result), job, len(units) + len(job.rejected)))
        run_id, stats = self.run_id, dict(self.stats.get_stats())
        try:
            self._writer.run(lambda conn: finish_run(conn, run_id, "shutdown (forced)", stats))
        except Exception as exc:
            logger.error("Could not complete crawl run %d: %s", run_id, self._writer.describe(exc))
        self._writer.close()
        self._finished = True


def _items_of(job: Job) -> list[Any]:
    return [unit.item for unit in job.units] + [letter.item for letter in job.rejected]


def _done(result: FlushResult) -> Future[FlushResult]:
    future: Future[FlushResult] = Future()
    future.set_result(result)
    return future
