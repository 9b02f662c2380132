"""The identities requests are sent as, and waiting for one that may send.

An identity is what Reddit counts a rate limit against: each proxy (its IP) in public
mode, the OAuth client in oauth mode, or the crawler's own address when neither applies.
:meth:`IdentityPool.acquire` picks identities round-robin, skipping dead proxies and
identities without allowance, and waits (without blocking the reactor) until one may send.
Reads no settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from reddit_crawler.access.allowance import Allowance
from reddit_crawler.access.proxyring import ProxyState

MAX_IDLE_WAIT = 1.0


@dataclass
class Identity:
    key: str
    allowance: Allowance
    proxy: ProxyState | None = None
    tickets: dict[int, tuple[float, int]] = field(default_factory=dict)  # send time, seq

    def wait(self, now: float) -> float | None:
        if self.proxy is not None and not self.proxy.healthy(now):
            return self.proxy.dead_until - now
        return self.allowance.wait(now)


class IdentityPool:
    def __init__(self, identities: list[Identity], clock: Callable[[], float] = time.monotonic):
        self.identities = identities
        self.by_key = {identity.key: identity for identity in identities}
        self.clock = clock
        self._cursor = 0
        self._event: asyncio.Event | None = None
        self._tickets = itertools.count(1)

    def choose(self, now: float) -> tuple[Identity | None, float | None]:
        """The next identity that may send now, else the shortest known wait (None: unknown)."""
        shortest: float | None = None
        count = len(self.identities)
        for offset in range(count):
            index = (self._cursor + offset) % count
            identity = self.identities[index]
            wait = identity.wait(now)
            if wait == 0.0:
                self._cursor = index + 1
                return identity, 0.0
            if wait is not None and (shortest is None or wait < shortest):
                shortest = wait
        return None, shortest

    async def acquire(self) -> tuple[Identity, int, float]:
        """Wait for an identity that may send; returns it, a ticket and the seconds waited."""
        started = self.clock()
        while True:
            now = self.clock()
            identity, wait = self.choose(now)
            if identity is not None:
                seq = identity.allowance.sent(now)
                ticket = next(self._tickets)
                identity.tickets[ticket] = (now, seq)
                return identity, ticket, now - started
            await self._wait_for_change(min(wait if wait is not None else MAX_IDLE_WAIT, 60.0))

    def settle(self, key: str, ticket: int) -> tuple[Identity, float, int] | None:
        """Close a ticket once: its identity, send time and place in the order of sending;
        None when it was settled already (or is unknown)."""
        identity = self.by_key.get(key)
        if identity is None or ticket not in identity.tickets:
            return None
        sent_at, seq = identity.tickets.pop(ticket)
        return identity, sent_at, seq

    async def _wait_for_change(self, timeout: float) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=max(timeout, 0.001))

    def notify(self) -> None:
        """Something changed (an answer came back): let waiters look again."""
        if self._event is not None:
            self._event.set()
            self._event = None
