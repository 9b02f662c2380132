"""Unit tests of :class:`reddit_crawler.middlewares.ratelimit.RateLimitMiddleware`.

Hand-built requests and responses on a crawler from ``get_crawler``; the identity pool's clock
is replaced by a fake one, and ``process_request`` runs as an asyncio task under the Twisted
asyncio reactor.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionRefusedError as TxConnectionRefusedError

from reddit_crawler import settings as project_settings
from reddit_crawler.access.context import access_context
from reddit_crawler.access.pool import Identity
from reddit_crawler.middlewares.ratelimit import (
    IDENTITY,
    RETRIES_429,
    TICKET,
    TOKEN_REQUEST,
    RateLimitMiddleware,
)
from tests.support import Clock, asyncio_test

URL = "https://www.reddit.com/r/python/hot.json"


#: Every test runs without the crawler's own environment variables (tests/support.py).
pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(clock: Clock, **settings: Any) -> tuple[RateLimitMiddleware, Crawler]:
    crawler = get_crawler(settings_dict=settings)
    access_context(crawler).pool.clock = clock
    return build_from_crawler(RateLimitMiddleware, crawler), crawler


def identity_of(crawler: Crawler, key: str = "direct") -> Identity:
    return access_context(crawler).pool.by_key[key]


def stat(crawler: Crawler, key: str) -> Any:
    assert crawler.stats is not None
    return crawler.stats.get_value(key)


async def sent(middleware: RateLimitMiddleware, meta: dict[str, Any] | None = None) -> Request:
    """A request to URL that went through ``process_request``."""
    request = Request(URL, meta=meta)
    await middleware.process_request(request)
    return request


def rate_headers(used: int, remaining: str, reset: str) -> dict[str, str]:
    return {
        "X-Ratelimit-Used": str(used),
        "X-Ratelimit-Remaining": remaining,
        "X-Ratelimit-Reset": reset,
    }


# -- settings -------------------------------------------------------------------------------------


def test_429_is_left_to_our_middleware_not_to_retry() -> None:
    assert 429 not in project_settings.RETRY_HTTP_CODES
    assert {500, 502, 503, 504} <= set(project_settings.RETRY_HTTP_CODES)


def test_middleware_order() -> None:
    order = project_settings.DOWNLOADER_MIDDLEWARES
    ours = [
        order["reddit_crawler.middlewares.ratelimit.RateLimitMiddleware"],
        order["reddit_crawler.middlewares.oauth.OAuthMiddleware"],
        order["reddit_crawler.middlewares.proxies.ProxyMiddleware"],
        order["reddit_crawler.middlewares.useragents.UserAgentMiddleware"],
    ]
    assert ours == sorted(ours)
    assert min(ours) > 550  # Scrapy's RetryMiddleware sees responses after ours
    assert order["scrapy.downloadermiddlewares.useragent.UserAgentMiddleware"] is None


# -- process_request ------------------------------------------------------------------------------


@asyncio_test
async def test_process_request_sets_identity_and_ticket(clock: Clock) -> None:
    middleware, crawler = make(clock)
    first, second = Request(URL), Request(URL + "?after=t3_x")
    assert await middleware.process_request(first) is None
    await middleware.process_request(second)
    assert first.meta[IDENTITY] == second.meta[IDENTITY] == "direct"
    assert isinstance(first.meta[TICKET], int)
    assert first.meta[TICKET] != second.meta[TICKET]
    identity = identity_of(crawler)
    assert identity.allowance.in_flight == 2
    assert first.meta[TICKET] in identity.tickets
    assert stat(crawler, "reddit/ratelimit/waited") is None


@asyncio_test
async def test_identities_per_mode(clock: Clock) -> None:
    oauth, _ = make(clock, REDDIT_CLIENT_ID="cid", REDDIT_CLIENT_SECRET="s3", PROXY_LIST="a:1")
    request = Request("https://oauth.reddit.com/r/python/hot")
    await oauth.process_request(request)
    assert request.meta[IDENTITY] == "client:cid"
    public, _ = make(clock, PROXY_LIST="a:1,b:2")
    keys = []
    for _ in range(4):
        request = Request(URL)
        await public.process_request(request)
        keys.append(request.meta[IDENTITY])
    assert keys == ["proxy:a:1", "proxy:b:2"] * 2


@asyncio_test
async def test_token_requests_pass_untouched(clock: Clock) -> None:
    middleware, crawler = make(clock)
    request = Request("https://www.reddit.com/api/v1/access_token", meta={TOKEN_REQUEST: True})
    await middleware.process_request(request)
    assert IDENTITY not in request.meta
    assert identity_of(crawler).allowance.in_flight == 0
    response = Response(request.url, status=429, request=request)
    assert middleware.process_response(request, response) is response


@asyncio_test
async def test_process_request_waits_for_allowance_and_counts_the_wait(clock: Clock) -> None:
    middleware, crawler = make(clock)
    identity_of(crawler).allowance.cooldown_until = clock.now + 12.5
    request = Request(URL)
    task = asyncio.ensure_future(middleware.process_request(request))
    await asyncio.sleep(0.02)
    assert not task.done()
    clock.now += 12.5
    access_context(crawler).pool.notify()
    await asyncio.wait_for(task, timeout=2.0)
    assert request.meta[IDENTITY] == "direct"
    assert stat(crawler, "reddit/ratelimit/waited") == pytest.approx(12.5)


# -- process_response -----------------------------------------------------------------------------


@asyncio_test
async def test_response_headers_update_the_allowance(clock: Clock) -> None:
    middleware, crawler = make(clock)
    identity = identity_of(crawler)
    request = await sent(middleware)
    response = Response(URL, headers=rate_headers(600, "0.0", "30"), request=request)
    assert middleware.process_response(request, response) is response
    assert IDENTITY not in request.meta
    assert TICKET not in request.meta
    assert identity.allowance.in_flight == 0
    assert not identity.tickets
    assert identity.wait(clock.now) == pytest.approx(30.0)  # nothing left until the reset
    clock.now += 30
    assert identity.wait(clock.now) == 0.0


@asyncio_test
async def test_response_with_allowance_left_lets_requests_go(clock: Clock) -> None:
    middleware, crawler = make(clock, REDDIT_PROBE_REQUESTS=1)
    identity = identity_of(crawler)
    request = await sent(middleware)
    assert identity.wait(clock.now) is None  # probe in flight
    response = Response(URL, headers=rate_headers(4, "596", "300"), request=request)
    middleware.process_response(request, response)
    assert identity.wait(clock.now) == 0.0


@asyncio_test
async def test_answers_are_told_with_their_send_time_and_order(clock: Clock) -> None:
    middleware, crawler = make(clock)
    allowance = identity_of(crawler).allowance
    first, second = Request(URL), Request(URL + "?after=t3_x")
    await middleware.process_request(first)  # seq 1 at 0.0
    clock.now = 0.25
    await middleware.process_request(second)  # seq 2 at 0.25
    clock.now = 0.5
    middleware.process_response(
        second, Response(URL, headers=rate_headers(2, "98", "60"), request=second)
    )
    assert (allowance.ref_sent, allowance.ref_seq, allowance.ref_remaining) == (0.25, 2, 98)
    assert (allowance.end_low, allowance.end_high) == (59.25, 60.5)
    assert allowance.transit == 0.25
    assert allowance.available(0.5) == 97  # the first, still unanswered, may land after it
    # the older request answers last, with more remaining: it does not replace the reference,
    # and its Used tells it arrived first
    clock.now = 0.75
    middleware.process_response(
        first, Response(URL, headers=rate_headers(1, "99", "60"), request=first)
    )
    assert (allowance.ref_seq, allowance.ref_remaining, allowance.end_high) == (2, 98, 60.5)
    assert allowance.transit == 0.75
    assert allowance.available(0.75) == 98  # its Used (1 < 2) shows it came first
    assert allowance.in_flight == 0


@asyncio_test
async def test_a_429_of_the_newest_request_becomes_the_reference(clock: Clock) -> None:
    middleware, crawler = make(clock)
    allowance = identity_of(crawler).allowance
    first, second = Request(URL), Request(URL + "?after=t3_x")
    await middleware.process_request(first)
    clock.now = 0.25
    await middleware.process_request(second)
    clock.now = 0.5
    middleware.process_response(
        first, Response(URL, headers=rate_headers(1, "9", "60"), request=first)
    )
    assert allowance.available(0.5) == 9 - 1  # the second was sent after the first
    response = Response(URL, status=429, headers={"Retry-After": "10"}, request=second)
    assert isinstance(middleware.process_response(second, response), Request)
    assert (allowance.ref_sent, allowance.ref_seq, allowance.ref_remaining) == (0.25, 2, 0.0)
    assert (allowance.end_low, allowance.end_high) == (0.25, 10.5)
    assert identity_of(crawler).wait(0.5) == pytest.approx(10.0)
    # then the budget (1 + 9) less both requests: sent after end_low - transit (0.25 - 0.5)
    assert allowance.available(10.5) == 10 - 2


def test_response_of_an_unknown_request_is_passed_on(clock: Clock) -> None:
    middleware, crawler = make(clock)
    request = Request(URL, meta={IDENTITY: "direct", TICKET: 12345})
    response = Response(URL, status=429, headers={"Retry-After": "60"}, request=request)
    assert middleware.process_response(request, response) is response
    assert identity_of(crawler).wait(clock.now) == 0.0
    assert stat(crawler, "reddit/429") is None


# -- 429 ------------------------------------------------------------------------------------------


@asyncio_test
async def test_429_cools_the_identity_down_and_resends_a_copy(clock: Clock) -> None:
    middleware, crawler = make(clock, PROXY_LIST="a:1,b:2")
    request = await sent(middleware, meta={"custom": "kept"})
    key = request.meta[IDENTITY]
    response = Response(URL, status=429, headers={"Retry-After": "30"}, request=request)
    retry = middleware.process_response(request, response)
    assert isinstance(retry, Request)
    assert retry is not request
    assert retry.url == request.url
    assert retry.dont_filter
    assert retry.meta[RETRIES_429] == 1
    assert retry.meta["custom"] == "kept"
    assert IDENTITY not in retry.meta
    assert TICKET not in retry.meta
    assert stat(crawler, "reddit/429") == 1
    cooled = identity_of(crawler, key)
    assert cooled.wait(clock.now) == pytest.approx(30.0)
    assert cooled.wait(clock.now + 29.9) == pytest.approx(0.1)
    assert cooled.wait(clock.now + 30) == 0.0
    # the other proxy is not cooled down: the copy goes out through it at once
    await asyncio.wait_for(middleware.process_request(retry), timeout=2.0)
    assert retry.meta[IDENTITY] != key


@asyncio_test
async def test_429_copy_waits_for_the_only_identity(clock: Clock) -> None:
    middleware, crawler = make(clock)
    request = await sent(middleware)
    retry = middleware.process_response(
        request, Response(URL, status=429, headers={"Retry-After": "7"}, request=request)
    )
    assert isinstance(retry, Request)
    task = asyncio.ensure_future(middleware.process_request(retry))
    await asyncio.sleep(0.02)
    assert not task.done()  # never retried at once
    clock.now += 7
    access_context(crawler).pool.notify()
    await asyncio.wait_for(task, timeout=2.0)
    assert stat(crawler, "reddit/ratelimit/waited") == pytest.approx(7.0)


@asyncio_test
async def test_429_without_retry_after_uses_the_reset_header(clock: Clock) -> None:
    middleware, crawler = make(clock)
    request = await sent(middleware)
    response = Response(URL, status=429, headers=rate_headers(600, "0", "42"), request=request)
    assert isinstance(middleware.process_response(request, response), Request)
    assert identity_of(crawler).wait(clock.now) == pytest.approx(42.0)


@asyncio_test
async def test_429_without_hints_backs_off(clock: Clock) -> None:
    middleware, crawler = make(clock)
    request = await sent(middleware)
    response = Response(URL, status=429, body=b'{"error": 429}', request=request)
    assert isinstance(middleware.process_response(request, response), Request)
    wait = identity_of(crawler).wait(clock.now)
    assert wait is not None
    assert 1.0 <= wait <= 2.0  # Allowance's default backoff_base 2 s with jitter 0.5-1


@asyncio_test
async def test_429_gives_up_after_the_configured_retries(clock: Clock) -> None:
    middleware, crawler = make(clock, REDDIT_429_RETRIES=2)
    request: Request = Request(URL)
    results: list[Request | Response] = []
    for _ in range(3):
        await asyncio.wait_for(middleware.process_request(request), timeout=2.0)
        response = Response(URL, status=429, headers={"Retry-After": "1"}, request=request)
        result = middleware.process_response(request, response)
        results.append(result)
        clock.now += 1
        if isinstance(result, Request):
            request = result
    assert [type(r) for r in results] == [Request, Request, Response]
    assert [r.meta[RETRIES_429] for r in results[:2]] == [1, 2]  # type: ignore[union-attr]
    assert stat(crawler, "reddit/429") == 3
    assert stat(crawler, "reddit/429/gave_up") == 1
    assert identity_of(crawler).allowance.in_flight == 0


@asyncio_test
async def test_429_default_retries_is_five(clock: Clock) -> None:
    middleware, crawler = make(clock)
    request = await sent(middleware, meta={RETRIES_429: 5})
    response = Response(URL, status=429, headers={"Retry-After": "1"}, request=request)
    assert middleware.process_response(request, response) is response
    assert stat(crawler, "reddit/429/gave_up") == 1


# -- failures and re-sent copies ------------------------------------------------------------------


@asyncio_test
async def test_process_exception_settles_the_ticket(clock: Clock) -> None:
    middleware, crawler = make(clock, REDDIT_PROBE_REQUESTS=1)
    identity = identity_of(crawler)
    request = await sent(middleware)
    ticket = request.meta[TICKET]
    assert identity.wait(clock.now) is None
    assert middleware.process_exception(request, TxConnectionRefusedError()) is None
    assert ticket not in identity.tickets
    assert identity.allowance.in_flight == 0
    assert identity.wait(clock.now) == 0.0  # the probe slot is free again
    assert middleware.process_exception(request, TxConnectionRefusedError()) is None
    assert identity.allowance.in_flight == 0


@asyncio_test
async def test_a_resent_copy_settles_the_old_ticket(clock: Clock) -> None:
    middleware, crawler = make(clock)
    identity = identity_of(crawler)
    request = await sent(middleware)
    old = request.meta[TICKET]
    copy = request.replace(dont_filter=True)  # e.g. re-sent by a later middleware (407, 401)
    await middleware.process_request(copy)
    assert old not in identity.tickets
    assert copy.meta[TICKET] != old
    assert copy.meta[TICKET] in identity.tickets
    assert identity.allowance.in_flight == 1
    # the answer of the copy settles its own ticket
    response = Response(URL, request=copy)
    assert middleware.process_response(copy, response) is response
    assert identity.allowance.in_flight == 0
    assert not identity.tickets
