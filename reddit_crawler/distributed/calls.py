"""A worker's Redis calls, off the reactor thread and through Redis outages.

One thread runs every frontier call of a worker, in the order they were made (a unit's
result is recorded before its acknowledgement, whatever the network does). A call that
fails because Redis cannot be reached or does not answer in time is tried again after
0.5 s, doubling up to 5 s, until Redis is back: the crawl keeps downloading and storing
meanwhile, and leases that expire in the outage only make another worker crawl those
units again (every result is recorded once). Once the worker closes, calls get
``give_up_after`` seconds in all and then fail. Results come back as futures; callers on
the reactor thread await them (:meth:`FrontierCalls.call`) or attach a callback that
:meth:`FrontierCalls.later` runs on the reactor thread. Reads no settings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import redis

from reddit_crawler.futures import await_future

logger = logging.getLogger(__name__)
T = TypeVar("T")
OUTAGE_ERRORS = (redis.ConnectionError, redis.TimeoutError)
FIRST_DELAY, MAX_DELAY = 0.5, 5.0


class FrontierCalls:
    """Runs Redis calls in order on one thread, retrying while Redis is unreachable."""

    def __init__(self, *, give_up_after: float = 10.0) -> None:
        self.give_up_after = give_up_after
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="redis-frontier")
        self._deadline: float | None = None
        self._down_since: float | None = None

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Queue ``fn(*args)``; its future fails only with a non-outage error (or at close)."""
        try:
            return self._executor.submit(self._patiently, fn, *args)
        except RuntimeError:  # shut down: e.g. items stored by a forced shutdown's last flush
            failed: Future[T] = Future()
            failed.set_exception(RuntimeError("the worker's Redis calls have ended"))
            return failed

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Queue ``fn(*args)`` and wait for it without blocking the reactor."""
        return await await_future(self.submit(fn, *args))

    def later(
        self, fn: Callable[..., T], *args: Any, then: Callable[[Future[T]], None]
    ) -> Future[T]:
        """Queue ``fn(*args)``; ``then(future)`` runs on the reactor thread when it ends."""
        from twisted.internet import reactor  # the installed one (never install it on import)

        future = self.submit(fn, *args)
        future.add_done_callback(lambda done: reactor.callFromThread(then, done))  # type: ignore[attr-defined]
        return future

    def closing(self) -> None:
        """From now on, calls give up ``give_up_after`` seconds from here."""
        self._deadline = time.monotonic() + self.give_up_after

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _patiently(self, fn: Callable[..., T], *args: Any) -> T:
        delay = FIRST_DELAY
        while True:
            try:
                result = fn(*args)
            except OUTAGE_ERRORS as exc:
                if self._deadline is not None and time.monotonic() + delay > self._deadline:
                    raise
                self._down(exc, delay)
                time.sleep(delay)
                delay = min(MAX_DELAY, delay * 2)
                continue
            if self._down_since is not None:
                logger.warning(
                    "Redis answers again after %.1f s", time.monotonic() - self._down_since
                )
                self._down_since = None
            return result

    def _down(self, exc: Exception, delay: float) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        logger.warning("Redis unavailable (%s); trying again in %.1f s", detail, delay)
