"""Pacing shared by the workers of a distributed crawl, per rate-limit identity.

Workers that send through the same identity (an OAuth client, a proxy) each see Reddit's
``X-Ratelimit-*`` headers, which count everyone's requests, but not the requests the others
have in flight. So the identity's pace lives in Redis, as a GCRA schedule: each send, by
any worker, takes the next free slot, ``interval`` after the previous one (``turn``; a slot
is never booked more than one interval ahead). Each answer with headers (``tell``) sets

    interval = max(W / (used + remaining - margin), reset / (remaining - margin))

where ``W`` is the longest ``reset`` seen, the window's length. The first term spaces sends
evenly over any window (at most ``limit - margin`` per window, whatever the number of
workers); the second keeps the current window within what remains when the workers went
faster before they knew (their first requests). ``remaining - margin < 1`` moves the next
slot to the reset, and a 429 to its ``Retry-After``. Both scripts read the Redis server's
clock, so the workers' clocks do not matter. Each worker's own header allowance still
applies on top.

The schedule is kept per identity under ``reddit_crawler:pacing:<identity>``, shared by every
crawl (two crawls through one OAuth client share its limit). While Redis cannot be reached,
``turn`` waits for it (0.5 s, doubling up to 5 s): no request is sent without a slot.

Settings: ``REDIS_SHARED_PACING`` (default true), ``REDIS_PACING_MARGIN`` (requests kept in
reserve per window for requests in flight, default 2), ``REDDIT_DEFAULT_RATE`` (requests per
minute before an identity's first answer; 0: no pacing until told).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import redis
import redis.asyncio as aioredis
from scrapy.crawler import Crawler

from reddit_crawler.access.allowance import RateHeaders
from reddit_crawler.distributed import redis_url
from reddit_crawler.distributed.keys import PREFIX

logger = logging.getLogger(__name__)

KEEP_MS = 3_600_000  # an identity's schedule is forgotten after an hour unused
OUTAGE_FIRST_DELAY, OUTAGE_MAX_DELAY = 0.5, 5.0  # waits for Redis to come back

# Take the next slot if it is at most one interval away; else say how long to wait before
# asking again (a slot is never booked further ahead: the interval may change meanwhile).
_TURN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tat', 'interval')
local interval = tonumber(state[2]) or tonumber(ARGV[1])
local slot = math.max(tonumber(state[1]) or 0, now)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if slot - now > interval then return {slot - now - interval, 0} end
redis.call('HSET', KEYS[1], 'tat', slot + interval)
return {slot - now, 1}
"""

# An answer's headers: the window seen so far (``wmax``, the longest reset) and its size give
# the long-run spacing (floor); the current window's remaining may ask for more.
_TELL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local left, until_reset, size = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wmax = math.max(tonumber(redis.call('HGET', KEYS[1], 'wmax')) or 0, until_reset)
local floor = 0
if size >= 1 then floor = math.floor(wmax / size) end
if left < 1 then
  local tat = math.max(tonumber(redis.call('HGET', KEYS[1], 'tat')) or 0, now + until_reset)
  redis.call('HSET', KEYS[1], 'tat', tat, 'interval', floor, 'wmax', wmax)
else
  redis.call('HSET', KEYS[1], 'interval', math.max(floor, math.floor(until_reset / left)),
             'wmax', wmax)
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""


class SharedPacer:
    def __init__(self, client: aioredis.Redis, margin: float, default_rate: float) -> None:
        self.client = client
        self.margin = margin
        self.default_interval_ms = int(60_000 / default_rate) if default_rate > 0 else 0
        self.host = socket.gethostname()
        self._turn = client.register_script(_TURN)
        self._tell = client.register_script(_TELL)
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedPacer | None:
        """The crawl's shared pacer, or None when single-process or switched off."""
        settings = crawler.settings
        url = redis_url(settings)
        if not url or not settings.getbool("REDIS_SHARED_PACING", True):
            return None
        client = aioredis.Redis.from_url(url, decode_responses=True)
        return cls(
            client,
            settings.getfloat("REDIS_PACING_MARGIN", 2.0),
            settings.getfloat("REDDIT_DEFAULT_RATE", 100.0),
        )

    def _key(self, identity: str) -> str:
        # The crawler's own address differs per machine: only same-host workers share it.
        # Identities are shared by every crawl that uses them, whatever its name.
        return f"{PREFIX}:pacing:{f'direct@{self.host}' if identity == 'direct' else identity}"

    async def turn(self, identity: str) -> float:
        """Wait for this identity's next slot; returns the seconds waited."""
        key, waited, delay = self._key(identity), 0.0, OUTAGE_FIRST_DELAY
        while True:
            try:
                wait_ms, booked = await self._turn(
                    keys=[key], args=[self.default_interval_ms, KEEP_MS]
                )
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                # No slot without Redis: nothing is sent unpaced; wait for it to come back.
                logger.warning("shared pacing: Redis unavailable (%s); waiting %.1f s", exc, delay)
                await asyncio.sleep(delay)
                waited += delay
                delay = min(OUTAGE_MAX_DELAY, delay * 2)
                continue
            if wait_ms > 0:
                await asyncio.sleep(wait_ms / 1000)
                waited += wait_ms / 1000
            if booked:
                return waited

    def tell(self, identity: str, headers: RateHeaders | None, cool_down: float | None) -> None:
        """An answer came (``cool_down``: seconds a 429 asks for): update the schedule."""
        size = (headers.used + headers.remaining - self.margin) if headers is not None else 0.0
        if cool_down is not None:
            left, until_reset = 0.0, cool_down
        elif headers is not None:
            left, until_reset = headers.remaining - self.margin, headers.reset
        else:
            return
        args = [left, int(until_reset * 1000), size, KEEP_MS]
        task = asyncio.ensure_future(self._tell(keys=[self._key(identity)], args=args))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.warning("shared pacing: Redis update failed: %s", task.exception())

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()
