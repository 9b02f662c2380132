"""The ``reddit`` spider as a distributed worker, fed by scrapy-redis.

Chosen by ``RedditSpider.from_crawler`` (:mod:`reddit_crawler.spiders.reddit`) when
``REDIS_URL`` is set. The plan comes from Redis (``scrapy enqueue``); the worker's
only argument is ``crawl`` (the crawl name, default ``reddit``). It leases units from the
shared queue through scrapy-redis' data feed (``next_requests`` → ``fetch_data`` →
``make_request_from_data``), crawls each as the single-process spider does — a subreddit's
five requests and its join, a user's two, in this process — and records the result in the
frontier. Its ``start()`` keeps feeding while the crawl runs (scrapy-redis' ``RedisSpider``
still relies on the removed ``start_requests()``); the worker closes when the crawl is
finished and nothing is leased anywhere, or after ``MAX_IDLE_TIME_BEFORE_CLOSE`` seconds
without work (scrapy-redis' setting; 0, the default, waits for the crawl to finish).

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
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.asyncio import create_looping_call
from scrapy_redis.spiders import RedisMixin

from reddit_crawler.crawlstate import level_discoveries, next_level_names
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
        self.fetch_data = self._take_units
        self.count_size = lambda key: self.frontier.queued()
        self._plan: CrawlPlan | None = None
        self._heartbeat: Any = None
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
        if self._plan is None:
            self._plan = self.frontier.plan()
            if self._plan is None:
                raise RuntimeError(f"crawl {self.frontier.crawl!r} has units but no plan")
        return self._plan

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
                if self.frontier.is_done():
                    self.logger.info("crawl %r is finished: worker closing", self.frontier.crawl)
                    return
                if self.max_idle_time and time.monotonic() - idle_since >= self.max_idle_time:
                    self.logger.info("no work for %d s: worker closing", self.max_idle_time)
                    return
            else:
                idle_since = time.monotonic()
            outputs = list(self.next_requests()) if len(self.ledger) < self.max_units else []
            for output in outputs:
                yield output
            if not outputs:
                await asyncio.sleep(self.poll_interval)

    def next_requests(self) -> Iterator[Any]:
        """scrapy-redis' feed, less its per-request INFO line (and items allowed)."""
        for data in self.fetch_data(self.redis_key, self.redis_batch_size):
            yield from self.make_request_from_data(data)

    def _take_units(self, key: str, count: int) -> list[str]:
        count = min(count, self.max_units - len(self.ledger))
        units, requeued = self.frontier.take(count, self.lease_ms)
        stats = self.crawler.stats
        assert stats is not None
        if requeued:
            stats.inc_value("redis/units/requeued", requeued)
            self.logger.warning("%d expired lease(s) returned to the queue", requeued)
        stats.inc_value("redis/units/taken", len(units))
        if units:
            self._report(len(self.ledger) + len(units))
        return units

    def make_request_from_data(self, data: str | bytes) -> list[Any]:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        try:
            kind, level, name = parse_unit(text)
        except ValueError:
            self.logger.error("not a unit in the queue, dropped: %r", text[:200])
            self.frontier.ack(text)
            return []
        if kind == "level":
            self.ledger.hold(text, None)
            return self._close_level(text, level)
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
        stats = self.crawler.stats
        assert stats is not None
        if kind == "sub":
            item, posts = held.unit.build(now_utc())
            items: list[Any] = [item, *posts]
            source = str((held.unit.about or {}).get("name", name))
            applied, fresh = self.frontier.sub_done(level, name, source, held.unit.users)
            for user in fresh:
                self._skipped("user", user, "fresh")
        else:
            items = held.unit.build(now_utc())
            applied = self.frontier.user_done(level, name, held.unit.subs)
        if not applied:
            stats.inc_value("redis/units/redone")
        for item in items:
            self._count(item)
        self.report_rejected(kind, name, held.unit)
        if self.ledger.track(text, items):
            self._ack(text)
        yield from items

    def _skipped(self, kind: str, name: str, why: str) -> None:
        self.crawler.stats.inc_value(f"reddit/{kind}/skipped_{why}")  # type: ignore[union-attr]
        if kind == "subreddit":
            because = SKIP_REASONS.get(why, why)
            self.logger.info("subreddit %s not crawled: %s", name, because)

    def _close_level(self, text: str, level: int) -> list[Any]:
        """Emit a complete level's discoveries and start the next level (or finish)."""
        plan = self.crawl_plan
        inputs = self.frontier.level_inputs(level)
        discoveries, candidates = level_discoveries(
            inputs.names, inputs.sources, inputs.selected, inputs.user_subs, now_utc()
        )
        names: list[str] = []
        if level < plan.depth:
            taken = self.frontier.taken_subs()
            names, skipped = next_level_names(
                candidates, taken, self.frontier.skip_subs(), plan.max_subs - len(taken)
            )
            for kind, name, why in skipped:
                self._skipped(kind, name, why)
        finish = level >= plan.depth or not names
        if self.frontier.close_level(level, names, finish, len(discoveries)):
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
        released = self.frontier.release(units)
        self.crawler.stats.inc_value("redis/units/released", released)  # type: ignore[union-attr]
        self.logger.error("%d unit(s) whose items were not stored returned to the queue", released)

    def _stored_one(self, item: Any, **kwargs: Any) -> None:
        self._stored([item])

    def _ack(self, text: str) -> None:
        self.frontier.ack(text)
        self.crawler.stats.inc_value("redis/units/acked")  # type: ignore[union-attr]

    def _beat(self) -> None:
        self.frontier.renew(self.ledger.held, self.lease_ms)
        self._report(len(self.ledger))

    def _report(self, held: int) -> None:
        """What this worker holds, for ``scrapy frontier`` (at each heartbeat and take)."""
        stats = self.crawler.stats
        assert stats is not None
        acked = stats.get_value("redis/units/acked", 0)
        self.frontier.heartbeat(self.worker, {"at": time.time(), "held": held, "acked": acked})

    def spider_idle(self) -> None:  # scrapy-redis' idle hook: wait for stored items only
        if self.ledger:
            raise DontCloseSpider

    def _closed(self, reason: str) -> None:
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        released = self.frontier.release(self.ledger.held)
        if released:
            self.crawler.stats.inc_value("redis/units/released", released)  # type: ignore[union-attr]
            self.logger.info("%d unfinished unit(s) returned to the queue", released)
        self.frontier.client.hdel(self.frontier.keys.workers, self.worker)
