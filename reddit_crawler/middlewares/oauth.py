"""Application-only OAuth: a bearer token on every request to the OAuth host.

The token comes from ``POST {REDDIT_AUTH_URL}/api/v1/access_token`` (HTTP basic auth with the
client id and secret, ``grant_type=client_credentials``) before the first request, one token
request at a time; it is renewed before it expires (``expires_in`` is read, not assumed) and
once when a request answers 401. A refused token request (wrong id or secret) stops the crawl
with finish reason ``oauth_refused`` and one error line. The token and the secret never appear
in logs, stats or exception text.

Off (``NotConfigured``) unless the mode is ``oauth`` (see :mod:`reddit_crawler.access.mode`).
Settings read: ``REDDIT_CLIENT_ID``, ``REDDIT_CLIENT_SECRET``, ``REDDIT_AUTH_URL``,
``REDDIT_TOKEN_MARGIN`` (seconds before expiry to renew, default 60, at most a tenth of the
token's lifetime). Stats: ``reddit/oauth/tokens``, ``reddit/oauth/401``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro

from reddit_crawler.access.context import access_context
from reddit_crawler.access.mode import Access
from reddit_crawler.middlewares.ratelimit import TOKEN_REQUEST

logger = logging.getLogger(__name__)

TOKEN_GENERATION = "reddit_token_generation"
RETRIED_401 = "reddit_401_retried"
REFUSED_REASON = "oauth_refused"
REFUSING_STATUSES = {400, 401, 403}


class TokenRefused(IgnoreRequest):
    """The token endpoint refused our client id and secret."""


class OAuthMiddleware:
    def __init__(self, crawler: Crawler, access: Access) -> None:
        self.crawler = crawler
        self.access = access
        self.margin = crawler.settings.getfloat("REDDIT_TOKEN_MARGIN", 60.0)
        self.token: bytes | None = None
        self.expires_at = 0.0
        self.generation = 0
        self.refused: str | None = None
        self._lock: asyncio.Lock | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OAuthMiddleware:
        access = access_context(crawler).access
        if access.mode != "oauth":
            raise NotConfigured
        return cls(crawler, access)

    async def process_request(self, request: Request) -> None:
        if request.meta.get(TOKEN_REQUEST) or not self._for_api(request.url):
            return
        token = await self._valid_token()
        request.headers["Authorization"] = b"bearer " + token
        request.meta[TOKEN_GENERATION] = self.generation

    def _for_api(self, url: str) -> bool:
        api = self.access.api_url
        return url == api or url.startswith(api + "/") or url.startswith(api + "?")

    def _usable(self) -> bool:
        return self.token is not None and time.monotonic() < self.expires_at

    async def _valid_token(self) -> bytes:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.refused:
                raise TokenRefused(self.refused)
            if not self._usable():
                await self._fetch_token()
        assert self.token is not None
        return self.token

    def _token_request(self) -> Request:
        pair = f"{self.access.client_id}:{self.access.client_secret}".encode()
        return Request(
            self.access.auth_url + "/api/v1/access_token",
            method="POST",
            body=b"grant_type=client_credentials",
            headers={
                "Authorization": b"Basic " + base64.b64encode(pair),
                "Content-Type": "application/x-www-form-urlencoded",
            },
            meta={TOKEN_REQUEST: True, "handle_httpstatus_all": True, "dont_redirect": True},
            dont_filter=True,
        )

    async def _fetch_token(self) -> None:
        engine = self.crawler.engine
        assert engine is not None
        response = await engine.download_async(self._token_request())
        token, lifetime = self._read_token(response)
        if token is None and response.status in REFUSING_STATUSES | {200}:
            self._refuse(f"the OAuth token request was refused (HTTP {response.status})")
        if token is None:  # busy or failing token endpoint: this request fails, the next asks again
            raise IgnoreRequest(f"OAuth token endpoint answered HTTP {response.status}")
        self.token = token
        margin = min(self.margin, lifetime / 10)
        self.expires_at = time.monotonic() + lifetime - margin
        self.generation += 1
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("reddit/oauth/tokens")
        logger.info("OAuth token obtained; valid for %.0f s", lifetime)

    @staticmethod
    def _read_token(response: Response) -> tuple[bytes | None, float]:
        if response.status != 200:
            return None, 0.0
        try:
            data = json.loads(response.body)
            token = str(data["access_token"]).encode("ascii")
            lifetime = float(data.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError, UnicodeEncodeError):
            return None, 0.0
        return (token, lifetime) if token and lifetime > 0 else (None, 0.0)

    def _refuse(self, message: str) -> None:
        self.refused = message + ": check REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"
        logger.error(self.refused)
        engine = self.crawler.engine
        assert engine is not None
        deferred_from_coro(engine.close_spider_async(reason=REFUSED_REASON))
        raise TokenRefused(self.refused)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        generation = request.meta.get(TOKEN_GENERATION)
        if response.status != 401 or generation is None or request.meta.get(RETRIED_401):
            return response
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("reddit/oauth/401")
        if generation == self.generation:
            self.token = None  # expired or revoked early: renew before the next request
        retry = request.replace(dont_filter=True)
        retry.meta[RETRIED_401] = True
        return retry
