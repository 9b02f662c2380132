"""Pacing per rate-limit identity, and 429 answers.

Before a request is sent it waits (without blocking the reactor) for an identity with
allowance; answers update that identity from ``X-Ratelimit-*`` headers. A 429 cools only
its identity down (``Retry-After``, else the reset, else exponential backoff with jitter)
and the request goes back to the scheduler — never retried at once, and never by Scrapy's
RetryMiddleware (429 is not in our ``RETRY_HTTP_CODES``). After ``REDDIT_429_RETRIES`` (default
5) the 429 reaches the spider, which records the part as failed.

In a distributed crawl (``REDIS_URL``) the workers sharing an identity also share its
pace through Redis (:mod:`reddit_crawler.distributed.pacing`).

Stats: ``reddit/429``, ``reddit/429/gave_up``, ``reddit/ratelimit/waited`` (seconds, summed).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector

from reddit_crawler.access.allowance import RateHeaders, parse_seconds
from reddit_crawler.access.context import access_context
from reddit_crawler.access.pool import Identity
from reddit_crawler.distributed.pacing import SharedPacer

logger = logging.getLogger(__name__)

IDENTITY = "reddit_identity"
TICKET = "reddit_ticket"
RETRIES_429 = "reddit_429_retries"
TOKEN_REQUEST = "reddit_token_request"


class RateLimitMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.pool = access_context(crawler).pool
        self.max_429 = crawler.settings.getint("REDDIT_429_RETRIES", 5)
        assert crawler.stats is not None
        self.stats: StatsCollector = crawler.stats
        self.shared = SharedPacer.from_crawler(crawler)
        if self.shared is not None:
            crawler.signals.connect(self.shared.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RateLimitMiddleware:
        return cls(crawler)

    def _settle(self, request: Request) -> tuple[Identity, float, int] | None:
        key, ticket = request.meta.pop(IDENTITY, None), request.meta.pop(TICKET, None)
        if key is None or ticket is None:
            return None
        return self.pool.settle(key, ticket)

    async def process_request(self, request: Request) -> None:
        if request.meta.get(TOKEN_REQUEST):
            return
        stale = self._settle(request)  # a re-sent copy of a request whose answer never came
        if stale is not None:
            stale[0].allowance.abandoned(stale[2])
            self.pool.notify()
        identity, ticket, waited = await self.pool.acquire()
        if self.shared is not None:  # distributed: the other workers' sends count too
            waited += await self.shared.turn(identity.key)
        request.meta[IDENTITY], request.meta[TICKET] = identity.key, ticket
        if logger.isEnabledFor(logging.DEBUG):
            allowance = identity.allowance
            logger.debug(
                "rate: %s sends %s (ref %s remaining %s, window end %.3f..%.3f, in flight %d)",
                identity.key, request.url, allowance.ref_sent, allowance.ref_remaining,
                allowance.end_low, allowance.end_high, allowance.in_flight,
            )  # fmt: skip
        if waited > 0:
            self.stats.inc_value("reddit/ratelimit/waited", round(waited, 3))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        settled = self._settle(request)
        if settled is None:
            return response
        identity, sent_at, seq = settled
        now = self.pool.clock()
        headers = RateHeaders.parse(response.headers)  # type: ignore[arg-type]
        try:
            if response.status != 429:
                identity.allowance.finished(now, headers, sent_at, seq)
                if self.shared is not None:
                    self.shared.tell(identity.key, headers, None)
                return response
            retry_after = parse_seconds(response.headers.get("Retry-After"))
            delay = identity.allowance.throttled(now, retry_after, headers, sent_at, seq)
            if self.shared is not None:
                self.shared.tell(identity.key, headers, delay)
            return self._retry_429(request, response)
        finally:
            self.pool.notify()

    def _retry_429(self, request: Request, response: Response) -> Request | Response:
        self.stats.inc_value("reddit/429")
        attempts = int(request.meta.get(RETRIES_429, 0))
        if attempts >= self.max_429:
            self.stats.inc_value("reddit/429/gave_up")
            return response
        retry = request.replace(dont_filter=True)
        retry.meta[RETRIES_429] = attempts + 1
        return retry

    def process_exception(self, request: Request, exception: Exception) -> Any:
        settled = self._settle(request)
        if settled is not None:
            settled[0].allowance.abandoned(settled[2])
            self.pool.notify()
        return None
