"""Proxies: round-robin over healthy proxies, each its own download slot, dead-proxy backoff.

In public mode the rate-limit identity chosen by :mod:`.ratelimit` *is* a proxy, and that
proxy is used; in oauth mode proxies are taken round-robin. Credentials go into the
``Proxy-Authorization`` header only: the password is never in a URL, log line, stat or
exception text. A proxy that fails (connection error, 407, Reddit's block page) is dead for an
exponentially growing time and the request is re-sent through another (up to
``PROXY_RETRIES``, default 5, times); after the backoff it is tried again.

A public-mode crawl whose every way out (every proxy, or the direct connection) meets Reddit's
block page for unauthenticated access stops with finish reason ``public_access_blocked``.

Settings read: ``PROXY_LIST``, ``PROXY_FILE``, ``PROXY_RETRIES``, ``PROXY_BACKOFF_BASE``,
``PROXY_BACKOFF_MAX`` (see :mod:`reddit_crawler.access`). Stats: ``proxy/<host:port>/ok``,
``…/error``, ``…/429``, ``…/blocked``, ``proxy/none_healthy``.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import TunnelError
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadConnectionRefusedError, DownloadFailedError
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.error import ConnectError, ConnectionDone, ConnectionLost
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.web._newclient import ResponseNeverReceived

from reddit_crawler.access.context import AccessContext, access_context
from reddit_crawler.access.proxyring import ProxyState
from reddit_crawler.middlewares.ratelimit import IDENTITY

logger = logging.getLogger(__name__)

# Errors that say the proxy (not Reddit) is unreachable or went away; a slow answer
# (download timeout) is left to Scrapy's RetryMiddleware.
# Scrapy 2.19 wraps Twisted's errors in its own; both kinds are listed.
PROXY_FAILURES = (
    DownloadConnectionRefusedError,
    DownloadFailedError,
    TunnelError,
    ConnectError,
    ConnectionLost,
    ConnectionDone,
    ResponseNeverReceived,
)

PROXY_KEY = "reddit_proxy"
PROXY_RETRIES = "reddit_proxy_retries"
BLOCKED_REASON = "public_access_blocked"
BLOCK_MESSAGE = (
    "Reddit blocks unauthenticated access (403 'blocked by network security') on every way out; "
    "set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET to crawl through OAuth"
)


def is_block_page(response: Response) -> bool:
    content_type = response.headers.get("Content-Type", b"") or b""
    return (
        response.status == 403
        and b"json" not in content_type.lower()
        and b"blocked" in response.body[:20000].lower()
    )


class ProxyMiddleware:
    def __init__(self, crawler: Crawler, context: AccessContext) -> None:
        self.crawler = crawler
        self.context = context
        self.ring = context.ring
        self.max_retries = crawler.settings.getint("PROXY_RETRIES", 5)
        self.stats = crawler.stats
        self.closing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyMiddleware:
        return cls(crawler, access_context(crawler))

    def _inc(self, key: str) -> None:
        assert self.stats is not None
        self.stats.inc_value(key)

    # -- choosing ---------------------------------------------------------------------
    def _choose(self, request: Request) -> ProxyState | None:
        identity = request.meta.get(IDENTITY)
        state = self.context.proxy_of(identity) if identity else None
        if state is not None:
            return state
        now = self.context.pool.clock()
        state = self.ring.next_healthy(now)
        if state is None:
            self._inc("proxy/none_healthy")
            state = min(self.ring.states, key=lambda s: s.dead_until)
        return state

    def process_request(self, request: Request) -> None:
        if not len(self.ring):
            return
        state = self._choose(request)
        assert state is not None
        request.meta["proxy"] = state.entry.url
        request.meta[PROXY_KEY] = state.entry.key
        request.meta["download_slot"] = state.entry.key
        request.meta.pop("_auth_proxy", None)  # a re-sent copy: let HttpProxyMiddleware keep ours
        header = state.entry.auth_header()
        if header is not None:
            request.headers["Proxy-Authorization"] = header
        elif "Proxy-Authorization" in request.headers:
            del request.headers["Proxy-Authorization"]

    # -- outcomes -----------------------------------------------------------------------
    def _state(self, request: Request) -> ProxyState | None:
        return self.ring.by_key.get(request.meta.get(PROXY_KEY, ""))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        state = self._state(request)
        blocked = self.context.access.mode == "public" and is_block_page(response)
        if state is None:
            if blocked:
                self._stop_blocked()
            return response
        key = state.entry.key
        if response.status == 407 or blocked:
            self._inc(f"proxy/{key}/{'blocked' if blocked else 'error'}")
            state.blocked = state.blocked or blocked
            return self._fail_over(request, state, f"HTTP {response.status}", response)
        if response.status == 429:
            self._inc(f"proxy/{key}/429")
            return response
        self._inc(f"proxy/{key}/ok")
        self.ring.succeeded(state)
        return response

    def process_exception(self, request: Request, exception: Exception) -> Any:
        state = self._state(request)
        if state is None or isinstance(exception, TwistedTimeoutError):
            return None
        if not isinstance(exception, PROXY_FAILURES):
            return None
        self._inc(f"proxy/{state.entry.key}/error")
        return self._fail_over(request, state, type(exception).__name__, None)

    def _fail_over(
        self, request: Request, state: ProxyState, reason: str, response: Response | None
    ) -> Request | Response | None:
        delay = self.ring.failed(state, self.context.pool.clock())
        logger.warning("proxy %s failed (%s); resting it %.0f s", state.entry.key, reason, delay)
        if self.ring.all_blocked():
            self._stop_blocked()
            return response
        attempts = int(request.meta.get(PROXY_RETRIES, 0))
        if attempts >= self.max_retries:
            return response
        retry = request.replace(dont_filter=True)
        retry.meta[PROXY_RETRIES] = attempts + 1
        for key in ("proxy", PROXY_KEY, "download_slot", "_auth_proxy"):
            retry.meta.pop(key, None)
        return retry

    def _stop_blocked(self) -> None:
        if self.closing:
            return
        self.closing = True
        logger.error(BLOCK_MESSAGE)
        engine = self.crawler.engine
        assert engine is not None
        deferred_from_coro(engine.close_spider_async(reason=BLOCKED_REASON))
