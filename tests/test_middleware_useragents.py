"""Unit tests of :class:`reddit_crawler.middlewares.useragents.UserAgentMiddleware`."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.settings.default_settings import USER_AGENT as SCRAPY_USER_AGENT
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from reddit_crawler import __version__
from reddit_crawler.errors import ConfigError
from reddit_crawler.middlewares.useragents import (
    DEFAULT_OAUTH_AGENT,
    BrowserAgents,
    UserAgentMiddleware,
)

ENV = ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_AUTH", "REDDIT_USER_AGENT")
OAUTH = {"REDDIT_CLIENT_ID": "cid", "REDDIT_CLIENT_SECRET": "csecret"}
URL = "https://www.reddit.com/r/python/hot.json"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def make(**settings: Any) -> UserAgentMiddleware:
    return build_from_crawler(UserAgentMiddleware, get_crawler(settings_dict=settings))


def agents(middleware: UserAgentMiddleware, count: int) -> list[str]:
    result = []
    for n in range(count):
        request = Request(f"{URL}?n={n}", headers={"User-Agent": SCRAPY_USER_AGENT})
        assert middleware.process_request(request) is None
        result.append(request.headers["User-Agent"].decode())
    return result


def test_oauth_mode_sends_the_configured_user_agent() -> None:
    agent = "python:my-crawler:2.0 (by /u/someone)"
    middleware = make(REDDIT_USER_AGENT=agent, **OAUTH)
    assert agents(middleware, 5) == [agent] * 5


def test_oauth_mode_default_user_agent_is_descriptive() -> None:
    middleware = make(**OAUTH)
    assert set(agents(middleware, 3)) == {DEFAULT_OAUTH_AGENT}
    assert agents(middleware, 1) == [f"python:reddit_crawler:{__version__} (by /u/reddit_crawler)"]


def test_public_mode_sends_varied_browser_user_agents() -> None:
    sent = agents(make(), 50)
    assert all("Mozilla/5.0" in agent for agent in sent)
    assert len(set(sent)) > 1
    assert SCRAPY_USER_AGENT not in sent
    assert not any("scrapy" in agent.lower() for agent in sent)


def test_public_mode_ignores_the_oauth_user_agent() -> None:
    sent = agents(make(REDDIT_USER_AGENT="python:x:1 (by /u/y)"), 10)
    assert all("Mozilla/5.0" in agent for agent in sent)


def test_public_mode_browser_choice() -> None:
    sent = agents(make(REDDIT_BROWSERS=["Firefox"]), 20)
    assert all("Firefox/" in agent for agent in sent)


def test_no_matching_agent_is_a_config_error_not_scrapys_agent() -> None:
    with pytest.raises(ConfigError, match="no User-Agent for REDDIT_BROWSERS"):
        BrowserAgents(["NoSuchBrowser"])


def test_agents_are_filtered_once_and_drawn_from_the_chosen_browsers() -> None:
    browsers = BrowserAgents(["Firefox"])
    picks = {browsers.pick() for _ in range(200)}
    assert len(picks) > 5
    assert all("Firefox" in agent and "Mozilla/5.0" in agent for agent in picks)
