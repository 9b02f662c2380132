"""Shared helpers of the unit tests: asyncio tests under the Twisted reactor, a settable
clock, and an environment without the crawler's own variables."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred

ENV = (
    "REDDIT_CLIENT_ID",
    "REDDIT_CLIENT_SECRET",
    "REDDIT_AUTH",
    "REDDIT_USER_AGENT",
    "PROXY_LIST",
    "PROXY_FILE",
)


def asyncio_test(
    test: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., Coroutine[Any, Any, None]]:
    """Run an ``async def`` test as an asyncio task (asyncio.Event, wait_for and gather work)."""

    @functools.wraps(test)
    async def wrapper(*args: Any, **kwargs: Any) -> None:
        await Deferred.fromFuture(asyncio.ensure_future(test(*args, **kwargs)))

    return pytest_twisted.ensureDeferred(wrapper)


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ClosingEngine:
    """An engine stand-in that records ``close_spider_async`` reasons."""

    def __init__(self) -> None:
        self.closed: list[str] = []

    def close_spider_async(self, *, reason: str = "cancelled") -> Any:
        self.closed.append(reason)
        return self._closed()

    async def _closed(self) -> None:
        return None


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
