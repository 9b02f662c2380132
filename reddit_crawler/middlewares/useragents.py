"""User-Agent per mode.

OAuth mode sends the descriptive User-Agent Reddit's API rules ask for
(``<platform>:<app id>:<version> (by /u/<name>)``, setting ``REDDIT_USER_AGENT``). Public mode
sends a real browser User-Agent per request, drawn from fake-useragent's bundled data (offline,
no network at start-up). Replaces Scrapy's ``UserAgentMiddleware``.

Settings read: ``REDDIT_USER_AGENT``, ``REDDIT_BROWSERS`` (default Chrome, Firefox, Edge,
Safari), plus the mode settings of :mod:`reddit_crawler.access.mode`.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler

from reddit_crawler import __version__
from reddit_crawler.access.context import access_context

DEFAULT_OAUTH_AGENT = f"python:reddit_crawler:{__version__} (by /u/reddit_crawler)"


class BrowserAgents:
    """Random desktop browser User-Agents from fake-useragent's bundled list."""

    def __init__(self, browsers: list[str]) -> None:
        from fake_useragent import UserAgent

        self._ua = UserAgent(browsers=browsers, platforms=["desktop"], fallback="")

    def pick(self) -> str:
        agent = self._ua.random
        if not agent:  # fake-useragent returns its fallback silently: never send Scrapy's own
            raise RuntimeError("fake-useragent returned no User-Agent")
        return agent


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
