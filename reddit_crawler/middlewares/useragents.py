"""User-Agent per mode.

OAuth mode sends the descriptive User-Agent Reddit's API rules ask for
(``<platform>:<app id>:<version> (by /u/<name>)``, setting ``REDDIT_USER_AGENT``). Public mode
sends a real browser User-Agent per request, drawn from fake-useragent's bundled data (offline,
no network at start-up). Replaces Scrapy's ``UserAgentMiddleware``.

Settings read: ``REDDIT_USER_AGENT``, ``REDDIT_BROWSERS`` (default Chrome, Firefox, Edge,
Safari), plus the mode settings of :mod:`reddit_crawler.access.mode`.
"""

from __future__ import annotations

import random

from scrapy import Request
from scrapy.crawler import Crawler

from reddit_crawler import __version__
from reddit_crawler.access.context import access_context
from reddit_crawler.errors import ConfigError

DEFAULT_OAUTH_AGENT = f"python:reddit_crawler:{__version__} (by /u/reddit_crawler)"


class BrowserAgents:
    """Random desktop browser User-Agents from fake-useragent's bundled list, filtered once
    (fake-useragent filters its ~7,000 entries again on every ``.random``)."""

    def __init__(self, browsers: list[str]) -> None:
        from fake_useragent import UserAgent

        ua = UserAgent(browsers=browsers, platforms=["desktop"], fallback="")
        wanted = {b.lower() for b in browsers}
        self._agents = [
            entry["useragent"]
            for entry in ua.data_browsers
            if str(entry.get("browser", "")).lower() in wanted
            and entry.get("type", "desktop") == "desktop"
            and entry.get("useragent")
        ]
        if not self._agents:  # never fall back to Scrapy's own User-Agent silently
            raise ConfigError(f"fake-useragent has no User-Agent for REDDIT_BROWSERS={browsers}")
        self._rng = random.Random()

    def pick(self) -> str:
        return self._rng.choice(self._agents)


class UserAgentMiddleware:
    def __init__(self, oauth_agent: str | None, browsers: BrowserAgents | None) -> None:
        self.oauth_agent = oauth_agent
        self.browsers = browsers

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> UserAgentMiddleware:
        access = access_context(crawler).access
        if access.mode == "oauth":
            return cls(access.user_agent or DEFAULT_OAUTH_AGENT, None)
        browsers = crawler.settings.getlist(
            "REDDIT_BROWSERS", ["Chrome", "Firefox", "Edge", "Safari"]
        )
        return cls(None, BrowserAgents(browsers))

    def process_request(self, request: Request) -> None:
        if self.oauth_agent is not None:
            request.headers["User-Agent"] = self.oauth_agent
        else:
            assert self.browsers is not None
            request.headers["User-Agent"] = self.browsers.pick()
