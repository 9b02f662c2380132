"""The ``reddit`` spider as a distributed worker, fed by scrapy-redis.

Chosen by ``RedditSpider.from_crawler`` (:mod:`reddit_crawler.spiders.reddit`) when
``REDIS_URL`` is set. The plan comes from Redis (``scrapy enqueue``); the worker's
only argument is ``crawl`` (the crawl name, default ``reddit``). Its ``start()`` leases
units from the shared queue while the crawl runs (scrapy-redis' ``RedisSpider`` still
relies on the removed ``start_requests()``, and its feed calls Redis on the reactor
thread), crawls each as the single-process spider does — a subreddit's five requests and
its join, a user's two, in this process — and records the result in the frontier. Every
Redis call runs on one thread of its own, in order, and waits out Redis outages
(:mod:`~reddit_crawler.distributed.calls`). The worker closes when the crawl is finished
and nothing is leased anywhere, or after ``MAX_IDLE_TIME_BEFORE_CLOSE`` seconds without
work (scrapy-redis' setting; 0, the default, waits for the crawl to finish).

Settings: ``REDIS_URL``; ``REDIS_UNITS_BATCH`` (units taken at once, 8);
``REDIS_UNITS_MAX`` (units held at once, 64); ``REDIS_LEASE`` (seconds a lease lasts
without renewal, 60; renewed every third of it); ``REDIS_POLL_INTERVAL`` (seconds between
polls for work, 0.5). Stats: ``redis/units/taken``, ``redis/units/acked``,
``redis/units/released``, ``redis/units/requeued`` (expired leases this worker returned to
the queue), ``redis/units/redone`` (units whose result another worker had recorded).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeVar

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.asyncio import create_looping_call
from scrapy_redis.spiders import RedisMixin

from reddit_crawler.crawlstate import level_discoveries, next_level_names
from reddit_crawler.distributed.calls import FrontierCalls
from reddit_crawler.distributed.client import redis_client
from reddit_crawler.distributed.frontier import Frontier, worker_id
from reddit_crawler.distributed.keys import parse_unit
from reddit_crawler.distributed.ledger import Held, Ledger
from reddit_crawler.fetches import Fetch
from reddit_crawler.parsers.common import now_utc
from reddit_crawler.plan import CrawlPlan, PlanError, worker_job
from reddit_crawler.refresh import SKIP_FRESH, SKIP_REVIEW
from reddit_crawler.signals import items_lost, items_stored
from reddit_crawler.spiders.reddit import RedditSpider
from reddit_crawler.units import Answer, SubredditUnit, UserUnit

T = TypeVar("T")
UNIT = "reddit_unit"
SKIP_REASONS = {
    SKIP_REVIEW: "its review status is in SKIP_REVIEW_STATUSES",
    SKIP_FRESH: "crawled within stale_after",
}


class DistributedRedditSpider(RedisMixin, RedditSpider):
    name = "reddit"
    distributed = True
    frontier: Frontier
    ledger: Ledger

    def setup_crawl(self, kwargs: dict[str, Any]) -> None:
        settings = self.crawler.settings
        crawl = worker_job(kwargs, settings) or self.name
        self.frontier = Frontier(redis_client(settings), crawl)
        self.ledger = Ledger()
        self.worker = worker_id()
        self.redis_key = self.frontier.keys.queue
        self.redis_batch_size = settings.getint("REDIS_UNITS_BATCH", 8)
        self.max_units = settings.getint("REDIS_UNITS_MAX", 64)
        self.lease_ms = int(settings.getfloat("REDIS_LEASE", 60.0) * 1000)
        self.poll_interval = settings.getfloat("REDIS_POLL_INTERVAL", 0.5)
        if min(self.redis_batch_size, self.max_units, self.lease_ms) <= 0:
            raise PlanError("REDIS_UNITS_BATCH, REDIS_UNITS_MAX and REDIS_LEASE must be positive")
        self.setup_redis(self.crawler)
        self.server = self.frontier.client  # scrapy-redis' own client would return bytes
        self.calls = FrontierCalls()
        self._plan: CrawlPlan | None = None
        self._heartbeat: Any = None
        self._beating: Future[Any] | None = None
        self._unrecorded: set[str] = set()  # units whose result Redis never took
        self._connect_signals(self.crawler)

    def _connect_signals(self, crawler: Crawler) -> None:
        connect = crawler.signals.connect
        if crawler.settings.getbool("POSTGRES_ENABLED", True):
            connect(self._stored, signal=items_stored)
            connect(self._lost, signal=items_lost)
        else:
            connect(self._stored_one, signal=signals.item_scraped)
        connect(self._stored_one, signal=signals.item_dropped)
        connect(self._stored_one, signal=signals.item_error)
        connect(self._closed, signal=signals.spider_closed)

    @property
    def crawl_plan(self) -> CrawlPlan:
        """The crawl's plan, read from Redis with the first unit (None before: extensions
        such as the feed exporter read every attribute of the spider when it opens)."""
        return self._plan  # type: ignore[return-value]

    # -- the feed ---------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Any]:
        self.logger.info(
            "worker %s of crawl %r: taking units from Redis", self.worker, self.frontier.crawl
        )
        self._heartbeat = create_looping_call(self._beat)
        self._heartbeat.start(self.lease_ms / 3000.0, now=True)
        idle_since = time.monotonic()
        while True:
            if not self.ledger:
                if await self.calls.call(self.frontier.is_done):
                    self.logger.info("crawl %r is finished: worker closing", self.frontier.crawl)
                    return
                if self.max_idle_time and time.monotonic() - idle_since >= self.max_idle_time:
                    self.logger.info("no work for %d s: worker closing", self.max_idle_time)
                    return
            else:
                idle_since = time.monotonic()
            room = min(self.redis_batch_size, self.max_units - len(self.ledger))
            units = await self._take_units(room) if room > 0 else []
            # Every unit taken is in the ledger before the first request is handed over: a
            # stop while Scrapy has not consumed them all still gives them back.
            outputs = [output for text in units for output in await self._start_unit(text)]
            for output in outputs:
                yield output
            if not units:
                await asyncio.sleep(self.poll_interval)

    async def _take_units(self, count: int) -> list[str]:
        units, requeued = await self.calls.call(self.frontier.take, count, self.lease_ms)
        stats = self.crawler.stats
        assert stats is not None
        if requeued:
            stats.inc_value("redis/units/requeued", requeued)
            self.logger.warning("%d expired lease(s) returned to the queue", requeued)
        stats.inc_value("redis/units/taken", len(units))
        if units:
            self._report(len(self.ledger) + len(units))
        return units

    async def _start_unit(self, text: str) -> list[Any]:
        """A leased unit's first requests (or, for a level, its close)."""
        try:
            kind, level, name = parse_unit(text)
        except ValueError:
            self.logger.error("not a unit in the queue, dropped: %r", text[:200])
            self.calls.submit(self.frontier.ack, text)
            return []
        if self._plan is None:
            self._plan = await self.calls.call(self.frontier.plan)
            if self._plan is None:
                raise RuntimeError(f"crawl {self.frontier.crawl!r} has units but no plan")
        if kind == "level":
            self.ledger.hold(text, None)
            return await self._close_level(text, level)
        plan = self.crawl_plan
        unit = SubredditUnit(name=name, depth=level, plan=plan) if kind == "sub" else None
        unit = unit or UserUnit(name=name, plan=plan)
        self.ledger.hold(text, unit)
        return [self._request(fetch, text) for fetch in unit.start()]

    def _request(self, fetch: Fetch, text: str) -> Request:
        request = self.request_for(fetch)
        request.meta[UNIT] = text
        return request

    # -- answers ------------------------------------------------------------------------------
    def handle_answer(self, request: Request | None, fetch: Fetch, answer: Answer) -> Iterator[Any]:
        text = request.meta.get(UNIT) if request is not None else None
        held = self.ledger.get(text) if text else None
        if held is None or held.built or held.unit is None or held.unit.done:
            return
        for more in held.unit.record(fetch, answer):
            yield self._request(more, text)  # type: ignore[arg-type]
        if held.unit.done:
            yield from self._unit_done(text, held)  # type: ignore[arg-type]

    def _unit_done(self, text: str, held: Held) -> Iterator[Any]:
        kind, level, name = parse_unit(text)
        if kind == "sub":
            item, posts = held.unit.build(now_utc())
            items: list[Any] = [item, *posts]
            source = str((held.unit.about or {}).get("name", name))
            users = held.unit.users
            recorded = self.calls.later(
                self.frontier.sub_done, level, name, source, users, then=self._sub_recorded
            )
        else:
            items = held.unit.build(now_utc())
            recorded = self.calls.later(
                self.frontier.user_done, level, name, held.unit.subs, then=self._user_recorded
            )
        recorded.add_done_callback(partial(self._note_unrecorded, text))
        for item in items:
            self._count(item)
        self.report_rejected(kind, name, held.unit)
        # The acknowledgement, whenever it comes, is queued after the result: same thread.
        if self.ledger.track(text, items):
            self._ack(text)
        yield from items

    def _note_unrecorded(self, text: str, future: Future[Any]) -> None:
        """On the calls thread, before any later call: a unit whose result could not be
        recorded must not be acknowledged (its lease expires and it is crawled again)."""
        if future.cancelled() or future.exception() is not None:
            self._unrecorded.add(text)

    def _sub_recorded(self, future: Future[tuple[bool, list[str]]]) -> None:
        if (outcome := self._outcome(future, "a subreddit's result")) is None:
            return
        applied, fresh = outcome
        for user in fresh:
            self._skipped("user", user, "fresh")
        self._recorded(applied)

    def _user_recorded(self, future: Future[bool]) -> None:
        if (applied := self._outcome(future, "a user's result")) is not None:
            self._recorded(applied)

    def _recorded(self, applied: bool) -> None:
        if not applied:
            self.crawler.stats.inc_value("redis/units/redone")  # type: ignore[union-attr]

    def _outcome(self, future: Future[T], what: str) -> T | None:
        """A call's result; None (and an error logged) when it failed."""
        try:
            return future.result()
        except Exception as exc:  # the unit stays leased until it expires: redone elsewhere
            self.logger.error("Could not record %s in Redis: %s", what, _describe(exc))
            return None

    def _skipped(self, kind: str, name: str, why: str) -> None:
        self.crawler.stats.inc_value(f"reddit/{kind}/skipped_{why}")  # type: ignore[union-attr]
        if kind == "subreddit":
            because = SKIP_REASONS.get(why, why)
            self.logger.info("subreddit %s not crawled: %s", name, because)

    async def _close_level(self, text: str, level: int) -> list[Any]:
        """Emit a complete level's discoveries and start the next level (or finish)."""
        plan, call, frontier = self.crawl_plan, self.calls.call, self.frontier
        inputs = await call(frontier.level_inputs, level)
        discoveries, candidates = level_discoveries(
            inputs.names, inputs.sources, inputs.selected, inputs.user_subs, now_utc()
        )
        names: list[str] = []
        if level < plan.depth:
            taken = await call(frontier.taken_subs)
            names, skipped = next_level_names(
                candidates, taken, await call(frontier.skip_subs), plan.max_subs - len(taken)
            )
            for kind, name, why in skipped:
                self._skipped(kind, name, why)
        finish = level >= plan.depth or not names
        if await call(frontier.close_level, level, names, finish, len(discoveries)):
            self.logger.info(
                "level %d closed: %d discoveries; %s", level, len(discoveries),
                "crawl finished" if finish else f"level {level + 1} has {len(names)} subreddits",
            )  # fmt: skip
        for item in discoveries:
            self._count(item)
        if self.ledger.track(text, discoveries):
            self._ack(text)
        return list(discoveries)

    # -- acknowledgement ----------------------------------------------------------------------
    def _stored(self, items: list[Any]) -> None:
        for text in self.ledger.stored(items):
            self._ack(text)

    def _lost(self, items: list[Any]) -> None:
        """The pipeline could not store these: give their units back for another attempt."""
        units = self.ledger.lost(items)
        self.calls.later(self.frontier.release, units, then=self._released_lost)

    def _released_lost(self, future: Future[int]) -> None:
        if (released := self._outcome(future, "units to give back")) is not None:
            self.crawler.stats.inc_value("redis/units/released", released)  # type: ignore[union-attr]
            self.logger.error(
                "%d unit(s) whose items were not stored returned to the queue", released
            )

    def _stored_one(self, item: Any, **kwargs: Any) -> None:
        self._stored([item])

    def _ack(self, text: str) -> None:
        self.crawler.stats.inc_value("redis/units/acked")  # type: ignore[union-attr]
        self.calls.later(self._ack_if_recorded, text, then=self._acked)

    def _ack_if_recorded(self, text: str) -> None:
        """On the calls thread: acknowledge, unless the unit's result was not recorded."""
        if text in self._unrecorded:
            self._unrecorded.discard(text)
            raise RuntimeError(f"{text}: its result was not recorded")
        self.frontier.ack(text)

    def _acked(self, future: Future[None]) -> None:
        self._outcome(future, "an acknowledgement (the unit will be crawled again)")

    def _beat(self) -> None:
        """Renew this worker's leases (unless the last renewal still waits for Redis)."""
        if self._beating is not None and not self._beating.done():
            return
        held = list(self.ledger.held)
        self._beating = self.calls.submit(self.frontier.renew, held, self.lease_ms)
        self._report(len(held))

    def _report(self, held: int) -> None:
        """What this worker holds, for ``scrapy frontier`` (at each heartbeat and take)."""
        stats = self.crawler.stats
        assert stats is not None
        info = {"at": time.time(), "held": held, "acked": stats.get_value("redis/units/acked", 0)}
        self.calls.submit(self.frontier.heartbeat, self.worker, info)

    def spider_idle(self) -> None:  # scrapy-redis' idle hook: wait for stored items only
        if self.ledger:
            raise DontCloseSpider

    def _closed(self, reason: str) -> None:
        """Give back what is unfinished, waiting here (the crawl is over: nothing else to do)
        so that the final stats say so; Redis gets ``give_up_after`` seconds in all."""
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        self.calls.closing()
        frontier = self.frontier
        release = self.calls.submit(frontier.release, list(self.ledger.held))
        gone = self.calls.submit(frontier.client.hdel, frontier.keys.workers, self.worker)
        try:
            released = release.result(timeout=self.calls.give_up_after + 5)
            gone.result(timeout=5)
        except Exception as exc:
            self.logger.error("Could not give units back to Redis: %s", _describe(exc))
            return
        finally:
            self.calls.shutdown()
        if released:
            self.crawler.stats.inc_value("redis/units/released", released)  # type: ignore[union-attr]
            self.logger.info("%d unfinished unit(s) returned to the queue", released)


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
