"""Unit tests of :class:`reddit_crawler.middlewares.proxies.ProxyMiddleware`.

Hand-built requests, responses and exceptions on a crawler from ``get_crawler``; the identity
pool's clock is a fake one and ``crawler.engine`` is a stub that records ``close_spider_async``.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.core.downloader.handlers.http11 import TunnelError
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpproxy import HttpProxyMiddleware
from scrapy.exceptions import (
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionLost, ConnectionRefusedError, TCPTimedOutError
from twisted.internet.error import TimeoutError as TxTimeoutError
from twisted.web._newclient import ResponseNeverReceived

from reddit_crawler.access.context import access_context
from reddit_crawler.middlewares.proxies import (
    BLOCKED_REASON,
    PROXY_KEY,
    PROXY_RETRIES,
    ProxyMiddleware,
    is_block_page,
)
from reddit_crawler.middlewares.ratelimit import IDENTITY
from tests.support import Clock, ClosingEngine

PASSWORDS = ("pw-alpha-931", "pw-bravo-477", "pw-charlie-265")
PROXIES = ",".join(
    f"user{i}:{pw}@p{i}.example:{8000 + i}" for i, pw in enumerate(PASSWORDS, start=1)
)
KEYS = ["p1.example:8001", "p2.example:8002", "p3.example:8003"]
OAUTH = {"REDDIT_CLIENT_ID": "cid", "REDDIT_CLIENT_SECRET": "csecret"}
API = "https://oauth.reddit.com/r/python/hot"
WWW = "https://www.reddit.com/r/python/hot.json"
BLOCK_PAGE = (Path(__file__).parent / "data" / "blocked_403.html").read_bytes()


EngineStub = ClosingEngine


#: Every test runs without the crawler's own environment variables (tests/support.py).
pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(clock: Clock, **settings: Any) -> tuple[ProxyMiddleware, Crawler, EngineStub]:
    crawler = get_crawler(settings_dict={"PROXY_LIST": PROXIES, **settings})
    access_context(crawler).pool.clock = clock
    engine = EngineStub()
    crawler.engine = engine  # type: ignore[assignment]
    return build_from_crawler(ProxyMiddleware, crawler), crawler, engine


def stat(crawler: Crawler, key: str) -> Any:
    assert crawler.stats is not None
    return crawler.stats.get_value(key)


def sent(middleware: ProxyMiddleware, url: str = API, **meta: Any) -> Request:
    request = Request(url, meta=meta)
    assert middleware.process_request(request) is None
    return request


def block_page(request: Request) -> Response:
    return Response(
        request.url,
        status=403,
        headers={"Content-Type": "text/html; charset=utf-8"},
        body=BLOCK_PAGE,
        request=request,
    )


# -- choosing -------------------------------------------------------------------------------------


def test_oauth_mode_round_robin_over_three_proxies(clock: Clock) -> None:
    middleware, _, _ = make(clock, **OAUTH)
    proxies = [sent(middleware, **{IDENTITY: "client:cid"}) for _ in range(7)]
    assert [r.meta["proxy"] for r in proxies] == [f"http://{k}" for k in KEYS * 2 + KEYS[:1]]


def test_download_slot_and_key_are_host_port(clock: Clock) -> None:
    middleware, _, _ = make(clock, **OAUTH)
    for key in KEYS:
        request = sent(middleware)
        assert request.meta["download_slot"] == key
        assert request.meta[PROXY_KEY] == key
        assert request.meta["proxy"] == f"http://{key}"


def test_proxy_authorization_header_and_no_password_in_meta(clock: Clock) -> None:
    middleware, _, _ = make(clock, **OAUTH)
    for i, password in enumerate(PASSWORDS, start=1):
        request = sent(middleware)
        expected = b"Basic " + base64.b64encode(f"user{i}:{password}".encode())
        assert request.headers["Proxy-Authorization"] == expected
        for value in request.meta.values():
            for pw in PASSWORDS:
                assert pw not in str(value)
        assert "@" not in request.meta["proxy"]


def test_proxy_without_credentials_drops_a_stale_auth_header(clock: Clock) -> None:
    middleware, _, _ = make(clock, PROXY_LIST="plain.example:3128")
    request = Request(API, headers={"Proxy-Authorization": "Basic c3RhbGU="})
    middleware.process_request(request)
    assert "Proxy-Authorization" not in request.headers
    assert request.meta["proxy"] == "http://plain.example:3128"


def test_public_mode_uses_the_identity_proxy(clock: Clock) -> None:
    middleware, _, _ = make(clock)
    for key in (KEYS[2], KEYS[2], KEYS[0]):
        request = sent(middleware, WWW, **{IDENTITY: f"proxy:{key}"})
        assert request.meta["proxy"] == f"http://{key}"


def test_no_proxies_no_change(clock: Clock) -> None:
    middleware, _, _ = make(clock, PROXY_LIST="")
    request = sent(middleware, WWW)
    assert "proxy" not in request.meta
    assert "download_slot" not in request.meta
    response = Response(WWW, request=request)
    assert middleware.process_response(request, response) is response
    assert middleware.process_exception(request, ConnectionRefusedError()) is None


def test_all_dead_uses_the_soonest_to_revive(clock: Clock) -> None:
    middleware, crawler, _ = make(clock, **OAUTH)
    ring = access_context(crawler).ring
    for state, dead_for in zip(ring.states, (30, 10, 20), strict=True):
        state.dead_until = clock.now + dead_for
    request = sent(middleware)
    assert request.meta[PROXY_KEY] == KEYS[1]
    assert stat(crawler, "proxy/none_healthy") == 1


# -- outcomes -------------------------------------------------------------------------------------


def test_stats_ok_error_and_429(clock: Clock) -> None:
    middleware, crawler, _ = make(clock, **OAUTH)
    first = sent(middleware)
    ok = Response(API, status=200, request=first)
    assert middleware.process_response(first, ok) is ok
    second = sent(middleware)
    throttled = Response(API, status=429, request=second)
    assert middleware.process_response(second, throttled) is throttled  # left to ratelimit
    third = sent(middleware)
    assert isinstance(middleware.process_exception(third, ConnectionRefusedError()), Request)
    assert stat(crawler, f"proxy/{KEYS[0]}/ok") == 1
    assert stat(crawler, f"proxy/{KEYS[1]}/429") == 1
    assert stat(crawler, f"proxy/{KEYS[2]}/error") == 1
    assert stat(crawler, f"proxy/{KEYS[1]}/ok") is None


def test_407_rests_the_proxy_and_resends_through_another(clock: Clock) -> None:
    middleware, crawler, _ = make(clock, **OAUTH)
    ring = access_context(crawler).ring
    request = sent(middleware, custom="kept")
    response = Response(API, status=407, request=request)
    retry = middleware.process_response(request, response)
    assert isinstance(retry, Request)
    assert retry is not request
    assert retry.dont_filter
    assert retry.meta[PROXY_RETRIES] == 1
    assert retry.meta["custom"] == "kept"
    for key in ("proxy", PROXY_KEY, "download_slot", "_auth_proxy"):
        assert key not in retry.meta
    dead = ring.states[0]
    assert not dead.healthy(clock.now)
    assert dead.dead_until == pytest.approx(clock.now + 5.0)  # PROXY_BACKOFF_BASE default
    assert stat(crawler, f"proxy/{KEYS[0]}/error") == 1
    chosen = []
    for _ in range(4):
        middleware.process_request(retry)
        chosen.append(retry.meta[PROXY_KEY])
    assert KEYS[0] not in chosen
    clock.now += 5.0
    assert dead.healthy(clock.now)


@pytest.mark.parametrize(
    "exception",
    [
        ConnectionRefusedError(),
        TCPTimedOutError(),
        ConnectionLost(),
        ResponseNeverReceived([]),
    ],
)
def test_connection_errors_rest_the_proxy_and_resend(clock: Clock, exception: Exception) -> None:
    middleware, crawler, _ = make(clock, **OAUTH)
    request = sent(middleware)
    retry = middleware.process_exception(request, exception)
    assert isinstance(retry, Request)
    assert retry.meta[PROXY_RETRIES] == 1
    assert "proxy" not in retry.meta
    assert not access_context(crawler).ring.states[0].healthy(clock.now)
    middleware.process_request(retry)
    assert retry.meta[PROXY_KEY] == KEYS[1]


@pytest.mark.parametrize(
    "exception",
    [
        DownloadConnectionRefusedError("Connection was refused by other side"),
        DownloadFailedError("[<twisted.python.failure.Failure ConnectionLost>]"),
        TunnelError("Could not open CONNECT tunnel with proxy p1.example:8001 [407]"),
    ],
)
def test_scrapy_219_download_errors_rest_the_proxy(clock: Clock, exception: Exception) -> None:
    middleware, crawler, _ = make(clock, **OAUTH)
    request = sent(middleware)
    retry = middleware.process_exception(request, exception)
    assert isinstance(retry, Request)
    assert not access_context(crawler).ring.states[0].healthy(clock.now)


def test_scrapy_download_timeout_is_left_to_retry(clock: Clock) -> None:
    middleware, crawler, _ = make(clock, **OAUTH)
    request = sent(middleware)
    assert middleware.process_exception(request, DownloadTimeoutError("took too long")) is None
    assert access_context(crawler).ring.states[0].healthy(clock.now)
    assert stat(crawler, f"proxy/{KEYS[0]}/error") is None


def test_twisted_timeout_is_left_to_retry(clock: Clock) -> None:
    middleware, crawler, _ = make(clock, **OAUTH)
    request = sent(middleware)
    assert middleware.process_exception(request, TxTimeoutError()) is None
    assert access_context(crawler).ring.states[0].healthy(clock.now)


def test_unrelated_exceptions_are_ignored(clock: Clock) -> None:
    middleware, crawler, _ = make(clock, **OAUTH)
    request = sent(middleware)
    assert middleware.process_exception(request, ValueError("parse")) is None
    assert access_context(crawler).ring.states[0].failures == 0


def test_success_revives_a_failed_proxy(clock: Clock) -> None:
    middleware, crawler, _ = make(clock, **OAUTH)
    state = access_context(crawler).ring.states[0]
    request = sent(middleware)
    middleware.process_exception(request, ConnectionRefusedError())
    assert state.failures == 1
    clock.now += 10
    again = Request(API, meta={PROXY_KEY: KEYS[0]})
    middleware.process_response(again, Response(API, request=again))
    assert state.failures == 0
    assert state.healthy(clock.now)


def test_backoff_doubles_per_failure(clock: Clock) -> None:
    middleware, crawler, _ = make(clock, PROXY_BACKOFF_BASE=2, PROXY_BACKOFF_MAX=5, **OAUTH)
    state = access_context(crawler).ring.states[0]
    delays = []
    for _ in range(4):
        request = Request(API, meta={PROXY_KEY: KEYS[0]})
        middleware.process_exception(request, ConnectionRefusedError())
        delays.append(state.dead_until - clock.now)
    assert delays == [2.0, 4.0, 5.0, 5.0]


def test_proxy_retries_are_bounded(clock: Clock) -> None:
    middleware, crawler, _ = make(clock, PROXY_RETRIES=2, **OAUTH)
    request = sent(middleware)
    for attempt in (1, 2):
        retry = middleware.process_exception(request, ConnectionRefusedError())
        assert isinstance(retry, Request)
        assert retry.meta[PROXY_RETRIES] == attempt
        request = retry
        middleware.process_request(request)
    assert middleware.process_exception(request, ConnectionRefusedError()) is None
    response = Response(API, status=407, request=request)
    middleware.process_request(request)
    assert middleware.process_response(request, response) is response
    # every proxy failed once; the 407 came through the soonest to revive (p1) again
    assert [stat(crawler, f"proxy/{key}/error") for key in KEYS] == [2, 1, 1]
    assert stat(crawler, "proxy/none_healthy") == 1


def test_no_password_in_logs(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    middleware, _, _ = make(clock, **OAUTH)
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):
            request = sent(middleware)
            middleware.process_response(request, Response(API, status=407, request=request))
    assert caplog.records
    for record in caplog.records:
        for password in PASSWORDS:
            assert password not in record.getMessage()


def test_resent_copy_keeps_proxy_auth_through_scrapy_httpproxy(clock: Clock) -> None:
    middleware, crawler, _ = make(clock, **OAUTH)
    httpproxy = build_from_crawler(HttpProxyMiddleware, crawler)
    request = sent(middleware)
    httpproxy.process_request(request)
    assert request.headers.get("Proxy-Authorization") is not None
    copy = request.replace(dont_filter=True)  # e.g. the 429 retry of RateLimitMiddleware
    middleware.process_request(copy)
    httpproxy.process_request(copy)
    assert copy.meta["proxy"] == f"http://{KEYS[1]}"
    expected = b"Basic " + base64.b64encode(f"user2:{PASSWORDS[1]}".encode())
    assert copy.headers.get("Proxy-Authorization") == expected


# -- Reddit's block page in public mode -----------------------------------------------------------


def test_is_block_page() -> None:
    request = Request(WWW)
    assert is_block_page(block_page(request))
    json_403 = Response(
        WWW,
        status=403,
        headers={"Content-Type": "application/json; charset=UTF-8"},
        body=b'{"reason": "blocked", "error": 403}',
    )
    assert not is_block_page(json_403)
    assert not is_block_page(Response(WWW, status=200, body=BLOCK_PAGE))
    assert not is_block_page(Response(WWW, status=403, body=b"<html>Forbidden</html>"))
    assert is_block_page(Response(WWW, status=403, body=b"<h1>You've been BLOCKED</h1>"))


def test_public_block_page_on_every_proxy_closes_the_crawl(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    middleware, crawler, engine = make(clock)
    ring = access_context(crawler).ring
    results = []
    for key in KEYS:
        request = sent(middleware, WWW, **{IDENTITY: f"proxy:{key}"})
        results.append(middleware.process_response(request, block_page(request)))
        if key != KEYS[-1]:
            assert engine.closed == []
    assert isinstance(results[0], Request)
    assert isinstance(results[1], Request)
    assert isinstance(results[2], Response)  # the last block page goes on to the spider
    assert engine.closed == [BLOCKED_REASON]
    assert ring.all_blocked()
    for key in KEYS:
        assert stat(crawler, f"proxy/{key}/blocked") == 1
    assert any(
        r.levelno == logging.ERROR and "REDDIT_CLIENT_ID" in r.getMessage() for r in caplog.records
    )
    # more block pages in flight do not close twice
    late = sent(middleware, WWW, **{IDENTITY: f"proxy:{KEYS[0]}"})
    middleware.process_response(late, block_page(late))
    assert engine.closed == [BLOCKED_REASON]


def test_public_block_page_on_some_proxies_goes_on(clock: Clock) -> None:
    middleware, crawler, engine = make(clock)
    first = sent(middleware, WWW, **{IDENTITY: f"proxy:{KEYS[0]}"})
    retry = middleware.process_response(first, block_page(first))
    assert isinstance(retry, Request)
    second = sent(middleware, WWW, **{IDENTITY: f"proxy:{KEYS[1]}"})
    middleware.process_response(second, Response(WWW, request=second))
    assert engine.closed == []
    assert access_context(crawler).ring.states[0].blocked


def test_public_block_page_without_proxies_closes_the_crawl(clock: Clock) -> None:
    middleware, _, engine = make(clock, PROXY_LIST="")
    request = sent(middleware, WWW)
    response = block_page(request)
    assert middleware.process_response(request, response) is response
    assert engine.closed == [BLOCKED_REASON]


def test_oauth_mode_ignores_block_pages(clock: Clock) -> None:
    middleware, crawler, engine = make(clock, **OAUTH)
    for _ in KEYS:
        request = sent(middleware)
        response = block_page(request)
        assert middleware.process_response(request, response) is response
    assert engine.closed == []
    assert not access_context(crawler).ring.all_blocked()


def test_public_json_403_is_not_a_block(clock: Clock) -> None:
    middleware, crawler, engine = make(clock)
    request = sent(middleware, WWW, **{IDENTITY: f"proxy:{KEYS[0]}"})
    response = Response(
        WWW,
        status=403,
        headers={"Content-Type": "application/json"},
        body=b'{"reason": "private", "message": "Forbidden", "error": 403}',
        request=request,
    )
    assert middleware.process_response(request, response) is response
    assert engine.closed == []
    assert stat(crawler, f"proxy/{KEYS[0]}/ok") == 1
