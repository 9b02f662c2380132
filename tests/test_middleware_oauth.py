"""Unit tests of :class:`reddit_crawler.middlewares.oauth.OAuthMiddleware`.

``crawler.engine`` is a stub whose ``download_async`` answers token requests with hand-built
responses (and records them) and whose ``close_spider_async`` records the finish reason. The
middleware's clock (``time.monotonic``) is replaced by a fake one where expiry matters.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response, TextResponse
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from reddit_crawler.middlewares import oauth as oauth_module
from reddit_crawler.middlewares.oauth import (
    REFUSED_REASON,
    RETRIED_401,
    TOKEN_GENERATION,
    OAuthMiddleware,
    TokenRefused,
)
from reddit_crawler.middlewares.ratelimit import TOKEN_REQUEST
from tests.support import Clock, ClosingEngine, asyncio_test

CLIENT_ID = "my-client-id"
SECRET = "S3cr3t-Value-xyz"
BASIC = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode())
OAUTH = {"REDDIT_CLIENT_ID": CLIENT_ID, "REDDIT_CLIENT_SECRET": SECRET}
API = "https://oauth.reddit.com/r/python/hot"


def token_body(token: str, expires_in: Any = 86400) -> bytes:
    data = {"access_token": token, "token_type": "bearer", "scope": "*"}
    if expires_in is not None:
        data["expires_in"] = expires_in
    return json.dumps(data).encode()


#: Two good token answers in a row.
TWO_TOKENS = ((200, token_body("tok-1")), (200, token_body("tok-2")))


class EngineStub(ClosingEngine):
    """Answers token requests in order (the last answer repeats); records close reasons."""

    def __init__(self, *answers: tuple[int, bytes], delay: float = 0.0) -> None:
        super().__init__()
        self.answers = list(answers) or [(200, token_body("tok-1"))]
        self.delay = delay
        self.requests: list[Request] = []

    async def download_async(self, request: Request) -> Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return TextResponse(
            request.url,
            status=status,
            headers={"Content-Type": "application/json; charset=UTF-8"},
            body=body,
            request=request,
        )


#: Every test runs without the crawler's own environment variables (tests/support.py).
pytestmark = pytest.mark.usefixtures("clean_env")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(oauth_module, "time", SimpleNamespace(monotonic=clock))
    return clock


def make(
    *answers: tuple[int, bytes], delay: float = 0.0, **settings: Any
) -> tuple[OAuthMiddleware, Crawler, EngineStub]:
    """The middleware, its crawler and an engine answering token requests with ``answers``."""
    engine = EngineStub(*answers, delay=delay)
    crawler = get_crawler(settings_dict={**OAUTH, **settings})
    crawler.engine = engine  # type: ignore[assignment]
    return build_from_crawler(OAuthMiddleware, crawler), crawler, engine


def stat(crawler: Crawler, key: str) -> Any:
    assert crawler.stats is not None
    return crawler.stats.get_value(key)


async def authorized(middleware: OAuthMiddleware, url: str = API) -> Request:
    request = Request(url)
    assert await middleware.process_request(request) is None
    return request


# -- on and off -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "settings",
    [
        {"REDDIT_CLIENT_ID": "", "REDDIT_CLIENT_SECRET": ""},
        {"REDDIT_CLIENT_SECRET": ""},
        {"REDDIT_AUTH": "public"},
    ],
)
def test_not_configured_in_public_mode(settings: dict[str, str]) -> None:
    crawler = get_crawler(settings_dict={**OAUTH, **settings})
    with pytest.raises(NotConfigured):
        build_from_crawler(OAuthMiddleware, crawler)


# -- the token request ----------------------------------------------------------------------------


@asyncio_test
async def test_token_request_shape_and_bearer_header() -> None:
    middleware, crawler, engine = make(
        (200, token_body("tok-abc")), REDDIT_AUTH_URL="https://auth.example/"
    )
    request = await authorized(middleware)
    assert len(engine.requests) == 1
    token_request = engine.requests[0]
    assert token_request.url == "https://auth.example/api/v1/access_token"
    assert token_request.method == "POST"
    assert token_request.headers["Authorization"] == b"Basic " + BASIC
    assert token_request.headers["Content-Type"] == b"application/x-www-form-urlencoded"
    assert token_request.body == b"grant_type=client_credentials"
    assert token_request.meta[TOKEN_REQUEST] is True
    assert token_request.dont_filter
    assert request.headers["Authorization"] == b"bearer tok-abc"
    assert request.meta[TOKEN_GENERATION] == 1
    assert stat(crawler, "reddit/oauth/tokens") == 1


@asyncio_test
async def test_token_endpoint_defaults_to_the_base_url() -> None:
    middleware, _, engine = make()
    await authorized(middleware)
    assert engine.requests[0].url == "https://www.reddit.com/api/v1/access_token"
    middleware2, _, engine2 = make(REDDIT_BASE_URL="http://127.0.0.1:8765/t/x/")
    await authorized(middleware2)
    assert engine2.requests[0].url == "http://127.0.0.1:8765/t/x/api/v1/access_token"


@asyncio_test
async def test_the_token_is_reused() -> None:
    middleware, crawler, engine = make()
    for _ in range(5):
        request = await authorized(middleware)
        assert request.headers["Authorization"] == b"bearer tok-1"
    assert len(engine.requests) == 1
    assert stat(crawler, "reddit/oauth/tokens") == 1


@pytest.mark.parametrize(
    "url",
    ["https://www.reddit.com/r/python/hot.json", "https://oauth.reddit.com.evil.example/r/python"],
)
@asyncio_test
async def test_the_token_only_goes_to_the_oauth_host(url: str) -> None:
    middleware, _, engine = make()
    other = await authorized(middleware, url)
    assert "Authorization" not in other.headers
    assert engine.requests == []


@asyncio_test
async def test_token_requests_are_untouched() -> None:
    middleware, _, engine = make()
    token_request = Request(
        "https://oauth.reddit.com/api/v1/access_token", meta={TOKEN_REQUEST: True}
    )
    await middleware.process_request(token_request)
    assert "Authorization" not in token_request.headers
    assert engine.requests == []


# -- expiry ---------------------------------------------------------------------------------------


@asyncio_test
async def test_expires_in_is_honoured_with_the_default_margin(clock: Clock) -> None:
    middleware, crawler, engine = make(
        (200, token_body("tok-1", 1000)), (200, token_body("tok-2", 1000))
    )
    start = clock.now
    await authorized(middleware)
    clock.now = start + 939.9  # margin min(60, 1000 / 10) = 60 s
    assert (await authorized(middleware)).headers["Authorization"] == b"bearer tok-1"
    clock.now = start + 940.0
    renewed = await authorized(middleware)
    assert renewed.headers["Authorization"] == b"bearer tok-2"
    assert renewed.meta[TOKEN_GENERATION] == 2
    assert len(engine.requests) == 2
    assert stat(crawler, "reddit/oauth/tokens") == 2


@pytest.mark.parametrize(("expires_in", "margin_setting"), [(100, 60.0), (30, 60.0), (3600, 5.0)])
@asyncio_test
async def test_margin_is_at_most_a_tenth_of_the_lifetime(
    clock: Clock, expires_in: int, margin_setting: float
) -> None:
    middleware, _, _ = make(
        (200, token_body("tok-1", expires_in)),
        (200, token_body("tok-2")),
        REDDIT_TOKEN_MARGIN=margin_setting,
    )
    start = clock.now
    await authorized(middleware)
    margin = min(margin_setting, expires_in / 10)
    clock.now = start + expires_in - margin - 0.01
    assert (await authorized(middleware)).headers["Authorization"] == b"bearer tok-1"
    clock.now = start + expires_in - margin
    assert (await authorized(middleware)).headers["Authorization"] == b"bearer tok-2"


@asyncio_test
async def test_expires_in_as_a_string_and_missing(clock: Clock) -> None:
    middleware, _, engine = make(
        (200, token_body("tok-1", "120")), (200, token_body("tok-2", None))
    )
    start = clock.now
    await authorized(middleware)
    clock.now = start + 108  # 120 - 12
    assert (await authorized(middleware)).headers["Authorization"] == b"bearer tok-2"
    clock.now += 3600 - 60 - 0.01  # a missing expires_in is taken as an hour
    assert (await authorized(middleware)).headers["Authorization"] == b"bearer tok-2"
    assert len(engine.requests) == 2


# -- one token request at a time ------------------------------------------------------------------


@asyncio_test
async def test_one_token_request_for_many_concurrent_requests() -> None:
    middleware, crawler, engine = make(delay=0.05)
    requests = [Request(f"{API}?n={n}") for n in range(12)]
    await asyncio.wait_for(
        asyncio.gather(*(middleware.process_request(r) for r in requests)), timeout=5.0
    )
    assert len(engine.requests) == 1
    assert all(r.headers["Authorization"] == b"bearer tok-1" for r in requests)
    assert stat(crawler, "reddit/oauth/tokens") == 1


# -- 401 ------------------------------------------------------------------------------------------


@asyncio_test
async def test_401_retries_once_with_a_new_token() -> None:
    middleware, crawler, engine = make(*TWO_TOKENS)
    request = await authorized(middleware)
    first = Response(API, status=401, request=request)
    retry = middleware.process_response(request, first)
    assert isinstance(retry, Request)
    assert retry is not request
    assert retry.dont_filter
    assert retry.meta[RETRIED_401] is True
    assert middleware.token is None  # invalidated
    assert stat(crawler, "reddit/oauth/401") == 1
    await middleware.process_request(retry)
    assert len(engine.requests) == 2
    assert retry.headers["Authorization"] == b"bearer tok-2"
    assert retry.meta[TOKEN_GENERATION] == 2
    second = Response(API, status=401, request=retry)
    assert middleware.process_response(retry, second) is second
    assert stat(crawler, "reddit/oauth/401") == 1


@asyncio_test
async def test_401_of_an_older_token_keeps_the_current_one() -> None:
    middleware, _, engine = make(*TWO_TOKENS)
    old = await authorized(middleware)
    middleware.process_response(old, Response(API, status=401, request=old))
    newer = await authorized(middleware)
    assert newer.headers["Authorization"] == b"bearer tok-2"
    late = Request(API, meta={TOKEN_GENERATION: 1})  # answered 401 after the renewal
    assert isinstance(middleware.process_response(late, Response(API, status=401)), Request)
    assert middleware.token == b"tok-2"
    await authorized(middleware)
    assert len(engine.requests) == 2


def test_other_answers_pass_through() -> None:
    middleware, _, _ = make()
    no_token = Request("https://www.reddit.com/x.json")
    response = Response(no_token.url, status=401)
    assert middleware.process_response(no_token, response) is response
    ok_request = Request(API, meta={TOKEN_GENERATION: 0})
    for status in (200, 403, 429, 500):
        answer = Response(API, status=status)
        assert middleware.process_response(ok_request, answer) is answer


# -- refused --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        (401, b'{"message": "Unauthorized", "error": 401}'),
        (400, b'{"error": "invalid_grant"}'),
        (200, b'{"error": "invalid_grant"}'),
        (200, b"<html>not json</html>"),
        (200, b"[]"),
        (200, b'"tok"'),
        (200, b'{"access_token": "", "expires_in": 3600}'),
        (200, b'{"access_token": "tok", "expires_in": 0}'),
        (200, b'{"access_token": "tok", "expires_in": "soon"}'),
        (200, '{"access_token": "t\u00f6k", "expires_in": 60}'.encode()),
    ],
)
@asyncio_test
async def test_refused_token_stops_the_crawl(answer: tuple[int, bytes]) -> None:
    middleware, crawler, engine = make(answer)
    with pytest.raises(TokenRefused) as caught:
        await authorized(middleware)
    assert isinstance(caught.value, IgnoreRequest)
    message = str(caught.value)
    assert "REDDIT_CLIENT_ID" in message
    assert SECRET not in message
    assert BASIC.decode() not in message
    assert engine.closed == [REFUSED_REASON]
    # later requests fail at once, without asking again or closing twice
    for _ in range(3):
        with pytest.raises(TokenRefused):
            await authorized(middleware)
    assert len(engine.requests) == 1
    assert engine.closed == [REFUSED_REASON]
    assert stat(crawler, "reddit/oauth/tokens") is None


@asyncio_test
async def test_concurrent_requests_all_refused_with_one_token_request() -> None:
    middleware, _, engine = make((401, b"{}"), delay=0.02)
    results = await asyncio.gather(
        *(middleware.process_request(Request(f"{API}?n={n}")) for n in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(r, TokenRefused) for r in results)
    assert len(engine.requests) == 1
    assert engine.closed == [REFUSED_REASON]


@pytest.mark.parametrize("status", [429, 503])
@asyncio_test
async def test_a_busy_token_endpoint_is_not_a_refusal(status: int) -> None:
    middleware, _, engine = make((status, b'{"error": "busy"}'), (200, token_body("tok-1")))
    with pytest.raises(IgnoreRequest):
        await authorized(middleware)
    assert engine.closed == []
    assert (await authorized(middleware)).headers["Authorization"] == b"bearer tok-1"


# -- secrets stay out of the logs -----------------------------------------------------------------


@asyncio_test
async def test_no_secret_or_token_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    token = "tok-Very-Private-123"
    middleware, _, _ = make((200, token_body(token)), (401, b"{}"))
    with caplog.at_level(logging.DEBUG):
        request = await authorized(middleware)
        middleware.process_response(request, Response(API, status=401, request=request))
        with pytest.raises(TokenRefused):
            await authorized(middleware)
    messages = [record.getMessage() for record in caplog.records]
    assert any("OAuth token obtained" in m for m in messages)
    assert any(r.levelno == logging.ERROR for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + str(record.exc_info or "")
        for secret in (SECRET, token, BASIC.decode()):
            assert secret not in text
