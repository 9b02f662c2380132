"""The ``reddit`` spider: subreddits, their rules and posts, their users, and discovery.

Per subreddit it sends five requests at once (about, rules, hot, top week, top year);
per selected user two (about, submitted). Answers are joined by
:class:`~reddit_crawler.crawlstate.CrawlState`; this module only turns fetches into
requests and responses into answers.

Spider arguments: see :mod:`reddit_crawler.plan`. Settings read: those of
:mod:`reddit_crawler.access.mode` (which base URL to use) and of :mod:`reddit_crawler.refresh`
(run lock, refresh seeds and skip lists from the database, read before the engine starts);
``RETRY_TIMES`` (via Scrapy's ``get_retry_request``) bounds the retries of bad answers.
Stats: ``reddit/subreddit/skipped_review``, ``reddit/subreddit/skipped_fresh``,
``reddit/user/skipped_fresh`` count what earlier crawls spared; ``reddit/failed/<part>`` parts
failed for good; ``retry/reason_count/reddit/bad_body`` and ``…/reddit/redirect`` answers
retried; ``reddit/invalid_name/<kind>`` names in Reddit's data that are not valid names.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from reddit_crawler.access.context import access_context
from reddit_crawler.crawlstate import CrawlState, Step
from reddit_crawler.distributed import redis_url
from reddit_crawler.fetches import Fetch
from reddit_crawler.parsers.common import BadBody, decode_json
from reddit_crawler.parsers.subreddit import is_search_redirect
from reddit_crawler.plan import CrawlPlan, build_plan, build_refresh_options
from reddit_crawler.refresh import SKIP_REVIEW, CrawlStart, open_crawl
from reddit_crawler.units import Answer

logger = logging.getLogger(__name__)

# Answers that are states, not errors: the callback reads them.
STATE_STATUSES = [301, 302, 303, 307, 403, 404]
REDIRECTS = (301, 302, 303, 307)
MAX_RESENDS = 3
PUBLIC_MODE_WARNING = (
    "public mode: Reddit has blocked unauthenticated JSON since May 2026; set "
    "REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET to crawl through OAuth"
)
ITEM_STATS = "reddit/{unit}/{status}"


class RedditSpider(Spider):
    name = "reddit"

    plan: CrawlPlan
    crawl_state: CrawlState  # not "state": Scrapy's SpiderState extension owns spider.state
    crawl_start: CrawlStart
    _resends: Counter[Fetch]
    base_url: str

    distributed = False  # the Redis-fed worker (reddit_crawler.distributed.spider) sets True

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> RedditSpider:
        if not cls.distributed and redis_url(crawler.settings):
            from reddit_crawler.distributed.spider import DistributedRedditSpider

            return DistributedRedditSpider.from_crawler(crawler, *args, **kwargs)
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.crawl_args = {k: v for k, v in kwargs.items() if isinstance(v, (str, int, float))}
        access = access_context(crawler).access
        spider.base_url = access.api_url
        if access.mode == "public":
            spider.logger.warning(PUBLIC_MODE_WARNING)
        spider.setup_crawl(kwargs)
        return spider

    def setup_crawl(self, kwargs: dict[str, Any]) -> None:
        """Single-process crawl: the plan from the arguments, the crawl state in memory."""
        crawler = self.crawler
        self.plan = build_plan(kwargs, crawler.settings)
        options = build_refresh_options(kwargs, crawler.settings)
        # Takes the run lock (released when the engine stops, or at exit) and reads the database.
        start = open_crawl(kwargs, crawler.settings, self.name, self.plan, options)
        crawler.signals.connect(start.release, signal=signals.engine_stopped)
        self.crawl_start, self.plan = start, start.plan
        self.crawl_state = CrawlState(
            self.plan, skip_subs=start.skip_subs, fresh_users=start.fresh_users
        )
        self._resends = Counter()
        crawler.signals.connect(self._on_idle, signal=signals.spider_idle)

    async def start(self) -> AsyncIterator[Any]:
        self.logger.info(
            "crawl plan: %d seed subreddits, depth=%d, users_per_sub=%d, max_subs=%d",
            len(self.plan.seeds),
            self.plan.depth,
            self.plan.users_per_sub,
            self.plan.max_subs,
        )
        saved = self._saved_state()
        if saved is not None:
            self.crawl_state = saved
            self.logger.info("resuming the crawl saved in JOBDIR (level %d)", saved.level)
            return
        self._save_state()
        for name in self.crawl_start.skipped_seeds:  # discovery does not report them again
            self.crawl_state.skips_reported.add(name.lower())
            self._skipped("subreddit", name, SKIP_REVIEW)
        for output in self._emit(self.crawl_state.start()):
            yield output

    # -- JOBDIR ---------------------------------------------------------------------
    # Scrapy's SpiderState extension pickles ``spider.state`` (a dict) into JOBDIR at close
    # and restores it at open; the crawl state rides in it. Requests lost in between (in
    # flight at the stop) are sent again when the engine goes idle (see _on_idle).
    def _saved_state(self) -> CrawlState | None:
        jobstate = getattr(self, "state", None)
        saved = jobstate.get("crawl") if isinstance(jobstate, dict) else None
        if not isinstance(saved, CrawlState):
            return None
        refresh = bool(self.crawl_args.get("refresh"))
        if _comparable(saved.plan, refresh) != _comparable(self.plan, refresh):
            self.logger.warning("JOBDIR holds a crawl with other arguments: starting anew")
            return None
        return saved

    def _save_state(self) -> None:
        jobstate = getattr(self, "state", None)
        if isinstance(jobstate, dict):
            jobstate["crawl"] = self.crawl_state

    # -- requests -------------------------------------------------------------------
    def request_for(self, fetch: Fetch) -> Request:
        return Request(
            self.base_url + fetch.path(),
            callback=self.parse_answer,
            errback=self.parse_failure,
            dont_filter=True,
            meta={
                "reddit": fetch.as_meta(),
                "dont_redirect": True,
                "handle_httpstatus_list": STATE_STATUSES,
            },
        )

    def _emit(self, step: Step) -> Iterator[Any]:
        for kind, name, why in step.skipped:
            self._skipped(kind, name, why)
        for item in step.items:
            self._count(item)
            yield item
        for fetch in step.fetches:
            yield self.request_for(fetch)

    def _count(self, item: Any) -> None:
        stats = self.crawler.stats
        assert stats is not None
        kind = getattr(item, "kind", "item")
        stats.inc_value(f"reddit/items/{kind}")
        status = getattr(item, "status", None)
        if status is not None:
            stats.inc_value(ITEM_STATS.format(unit=kind, status=status))
            if status != "ok":
                self.logger.info("%s %s: %s", kind, item.name, status)

    def _skipped(self, kind: str, name: str, why: str) -> None:
        self.crawler.stats.inc_value(f"reddit/{kind}/skipped_{why}")  # type: ignore[union-attr]
        if kind == "user":
            self.logger.debug("user %s not fetched: fetched within user_fresh_for", name)
        elif why == SKIP_REVIEW:
            status = self.crawl_start.review_statuses.get(name.lower())
            self.logger.info(
                "subreddit %s not crawled: review status %r is in SKIP_REVIEW_STATUSES",
                name,
                status,
            )
        else:
            self.logger.info("subreddit %s not crawled: crawled within stale_after", name)

    # -- answers --------------------------------------------------------------------
    # Bad answers that a retry may mend — a 200 whose body is not JSON (truncated, empty,
    # an HTML maintenance page, garbage) and a redirect anywhere but /subreddits/search
    # (the login page, the over-18 interstitial) — are retried here within the request's
    # RETRY_TIMES budget, shared with Scrapy's RetryMiddleware (5xx, network errors,
    # timeouts); when it is spent the part fails with the reason. A 302 to
    # /subreddits/search (a subreddit that does not exist) is a state, never retried.
    def parse_answer(self, response: Response) -> Iterator[Any]:
        fetch = Fetch.from_meta(response.meta["reddit"])
        answer = self._answer(fetch, response)
        if answer.error is not None:
            retry = self._retry(response, fetch, answer.error)
            if retry is not None:
                yield retry
                return
            self._failed(fetch, answer.error)
        yield from self.handle_answer(response.request, fetch, answer)

    def _answer(self, fetch: Fetch, response: Response) -> Answer:
        location = response.headers.get("Location", b"").decode("latin-1")
        if response.status in REDIRECTS:
            if is_search_redirect(location):
                return Answer(response.status, location=location)
            where = urlsplit(location).path or "?"
            return Answer(
                response.status, location=location, error=f"HTTP {response.status} to {where}"
            )
        try:
            body = decode_json(response.body)
        except BadBody as exc:
            if response.status == 200:
                self.crawler.stats.inc_value(f"reddit/parse_error/{fetch.part}")  # type: ignore[union-attr]
                return Answer(response.status, error=f"HTTP 200 {exc}")
            body = None
        return Answer(response.status, body)

    def _retry(self, response: Response, fetch: Fetch, reason: str) -> Request | None:
        """A retry of a bad answer within the request's budget, or None when it is spent."""
        request = response.request
        if request is None or request.meta.get("dont_retry"):
            return None
        key = "redirect" if response.status in REDIRECTS else "bad_body"
        retry = get_retry_request(request, spider=self, reason=f"reddit/{key}")
        if retry is not None:
            self.logger.debug(
                "%s %s %s: retrying after %s", fetch.unit, fetch.name, fetch.part, reason
            )
        return retry

    def _failed(self, fetch: Fetch, reason: str) -> None:
        """Count and log a part that failed for good (its unit records the reason)."""
        self.crawler.stats.inc_value(f"reddit/failed/{fetch.part}")  # type: ignore[union-attr]
        self.logger.warning("%s %s %s failed: %s", fetch.unit, fetch.name, fetch.part, reason)

    def _report_rejected(self, fetch: Fetch) -> None:
        units = self.crawl_state.subs if fetch.unit == "sub" else self.crawl_state.users
        self.report_rejected(fetch.unit, fetch.name, units.get(fetch.name.lower()))

    def report_rejected(self, unit_kind: str, unit_name: str, unit: Any) -> None:
        """Count and log names in a unit's data that are not valid names (never fetched)."""
        rejected = getattr(unit, "rejected", None)
        if not rejected:
            return
        stats = self.crawler.stats
        assert stats is not None
        for kind, name in rejected:
            stats.inc_value(f"reddit/invalid_name/{kind}")
            self.logger.warning(
                "%s %s: invalid %s name %r in its posts: not crawled",
                "subreddit" if unit_kind == "sub" else "user",
                unit_name,
                kind,
                name[:100],
            )
        rejected.clear()

    def parse_failure(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        fetch = Fetch.from_meta(request.meta["reddit"])
        if failure.check(HttpError):
            reason = f"HTTP {failure.value.response.status}"
        else:
            reason = f"{failure.type.__name__}: {str(failure.value)[:120]}"
        self._failed(fetch, reason)
        yield from self.handle_answer(request, fetch, Answer(0, error=reason))

    def handle_answer(self, request: Request | None, fetch: Fetch, answer: Answer) -> Iterator[Any]:
        """Feed an answer (or final failure) of ``request`` to the crawl; yield what follows."""
        yield from self._emit(self.crawl_state.record(fetch, answer))
        self._report_rejected(fetch)

    # -- end of crawl ---------------------------------------------------------------
    def _on_idle(self) -> None:
        if self.crawl_state.finished:
            return
        lost = [f for f in self.crawl_state.lost_fetches() if self._resends[f] < MAX_RESENDS]
        if not lost:
            busy = sorted(self.crawl_state.busy)[:10]
            self.logger.error("crawl idle with unfinished units: %s", busy)
            return
        self.logger.warning("sending again %d requests that were never answered", len(lost))
        engine = self.crawler.engine
        assert engine is not None
        for fetch in lost:
            self._resends[fetch] += 1
            engine.crawl(self.request_for(fetch))
        raise DontCloseSpider


def _comparable(plan: CrawlPlan, refresh: bool) -> CrawlPlan:
    """A refresh's seeds come from the database and change as it stores results: a resumed
    refresh compares its other arguments only."""
    return dataclasses.replace(plan, seeds=[]) if refresh else plan
