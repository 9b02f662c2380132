"""The shared frontier of a distributed crawl, in Redis: plan, queue, leases, level barrier.

Every change that must be atomic across workers is one Lua script:

* ``publish`` — the plan, level 0 (the seeds) and the skip lists, once per crawl name;
* ``take`` — return expired leases to the queue head, then lease up to ``n`` units
  (deadline from the Redis server's clock, so workers' clocks do not matter);
* ``sub_done`` / ``user_done`` — record a unit's result once (``HSETNX``): a subreddit's
  selected users are taken crawl-wide (``SADD``) and queued, and the level's pending count
  moves; when it reaches zero a ``level`` unit is queued;
* ``close_level`` — start the next level (its names decided by the worker that took the
  ``level`` unit, from the results stored here, exactly as the single-process crawl does) or
  mark the crawl finished; applied once per level.

Results are recorded before a unit is acknowledged; a unit is acknowledged (lease removed)
only when its items are stored, so a worker killed in between loses nothing: its lease
expires, the unit is crawled again, and its recorded result is not applied twice.
Reads no settings.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from reddit_crawler.distributed.keys import CrawlKeys
from reddit_crawler.errors import ConfigError
from reddit_crawler.plan import CrawlPlan

_PUBLISH = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
local seeds = cjson.decode(ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[2])
for _, name in ipairs(seeds) do
  redis.call('SADD', KEYS[3], string.lower(name))
  redis.call('RPUSH', KEYS[4], 'sub:0:' .. name)
end
redis.call('SET', KEYS[5], #seeds)
for k, v in pairs(cjson.decode(ARGV[3])) do redis.call('HSET', KEYS[6], k, v) end
for k, v in pairs(cjson.decode(ARGV[4])) do redis.call('HSET', KEYS[7], k, v) end
redis.call('HSET', KEYS[8], 'subs_done', 0, 'users_done', 0, 'discoveries', 0)
if #seeds == 0 then redis.call('SET', KEYS[9], '1') end
return 1
"""

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for i = #expired, 1, -1 do
  redis.call('ZREM', KEYS[2], expired[i])
  redis.call('LPUSH', KEYS[1], expired[i])
end
local out = {#expired}
if tonumber(ARGV[1]) > 0 then
  local got = redis.call('LPOP', KEYS[1], tonumber(ARGV[1]))
  if got then
    for _, unit in ipairs(got) do
      redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), unit)
      table.insert(out, unit)
    end
  end
end
return out
"""

_RENEW = """
local t = redis.call('TIME')
local deadline = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', deadline, ARGV[i])
end
return renewed
"""

_RELEASE = """
local released = 0
for i = 1, #ARGV do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('LPUSH', KEYS[2], ARGV[i])
    released = released + 1
  end
end
return released
"""

_SUB_DONE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return {-1} end
local added = 0
local fresh = {}
for _, user in ipairs(cjson.decode(ARGV[4])) do
  local key = string.lower(user)
  if redis.call('SADD', KEYS[2], key) == 1 then
    local stored = redis.call('HGET', KEYS[5], key)
    if stored then
      redis.call('HSET', KEYS[6], key, stored)
      table.insert(fresh, user)
    else
      redis.call('RPUSH', KEYS[3], 'user:' .. ARGV[3] .. ':' .. user)
      added = added + 1
    end
  end
end
redis.call('HINCRBY', KEYS[7], 'subs_done', 1)
local left = redis.call('INCRBY', KEYS[4], added - 1)
if left == 0 then redis.call('RPUSH', KEYS[3], 'level:' .. ARGV[3] .. ':') end
local out = {left}
for _, user in ipairs(fresh) do table.insert(out, user) end
return out
"""

_USER_DONE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return -1 end
redis.call('HINCRBY', KEYS[4], 'users_done', 1)
local left = redis.call('DECR', KEYS[2])
if left == 0 then redis.call('RPUSH', KEYS[3], 'level:' .. ARGV[3] .. ':') end
return left
"""

_CLOSE_LEVEL = """
if redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[6], 'discoveries', tonumber(ARGV[4]))
local names = cjson.decode(ARGV[3])
if ARGV[2] == '1' or #names == 0 then
  redis.call('SET', KEYS[5], '1')
  return 1
end
redis.call('RPUSH', KEYS[1], ARGV[3])
redis.call('SET', KEYS[4], #names)
for _, name in ipairs(names) do
  redis.call('SADD', KEYS[2], string.lower(name))
  redis.call('RPUSH', KEYS[3], 'sub:' .. ARGV[1] .. ':' .. name)
end
return 1
"""


class CrawlExists(ConfigError):
    """``scrapy enqueue`` for a crawl name that Redis already holds."""


@dataclass
class LevelInputs:
    """What closing a level needs: its names and, per lower name, the stored results."""

    names: list[str]
    sources: dict[str, str]  # subreddit -> its own spelling
    selected: dict[str, list[str]]  # subreddit -> users it selected
    user_subs: dict[str, list[str]]  # user -> subreddits of their posts


class Frontier:
    """One crawl's shared state. ``client`` must decode responses (``decode_responses=True``)."""

    def __init__(self, client: redis.Redis, crawl: str) -> None:
        self.client = client
        self.keys = CrawlKeys(crawl)
        self.crawl = crawl
        script = client.register_script
        self._publish, self._take, self._renew = script(_PUBLISH), script(_TAKE), script(_RENEW)
        self._release, self._sub_done = script(_RELEASE), script(_SUB_DONE)
        self._user_done, self._close_level = script(_USER_DONE), script(_CLOSE_LEVEL)

    # -- the plan -------------------------------------------------------------------------
    def publish(
        self,
        plan: CrawlPlan,
        *,
        skip_subs: Mapping[str, str] | None = None,
        fresh_users: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Store the plan and queue its seeds; :class:`CrawlExists` if the name is in use."""
        k = self.keys
        fresh = {name: json.dumps(list(subs)) for name, subs in (fresh_users or {}).items()}
        keys = [k.plan, k.levels, k.subs, k.queue, k.pending(0), k.skip_subs, k.fresh_users]
        args = [
            json.dumps(plan.as_dict()),
            json.dumps(list(plan.seeds)),
            json.dumps(dict(skip_subs or {})),
            json.dumps(fresh),
        ]
        if not self._publish(keys=[*keys, k.counters, k.finished], args=args):
            raise CrawlExists(
                f"crawl {self.crawl!r} is already in Redis: watch it with "
                f"`scrapy frontier -a crawl={self.crawl}`, or remove it with "
                f"`scrapy frontier --clear -a crawl={self.crawl}`"
            )

    def plan(self) -> CrawlPlan | None:
        raw = self.client.get(self.keys.plan)
        return None if raw is None else CrawlPlan(**json.loads(raw))

    def clear(self) -> int:
        """Delete every key of the crawl; returns how many there were."""
        names = list(self.client.scan_iter(match=self.keys.pattern, count=1000))
        for start in range(0, len(names), 500):
            self.client.unlink(*names[start : start + 500])
        return len(names)

    # -- leases -----------------------------------------------------------------------------
    def take(self, count: int, lease_ms: int) -> tuple[list[str], int]:
        """Lease up to ``count`` units; also returns how many expired leases were requeued."""
        reply = self._take(keys=[self.keys.queue, self.keys.leases], args=[count, lease_ms])
        return [str(unit) for unit in reply[1:]], int(reply[0])

    def renew(self, units: Iterable[str], lease_ms: int) -> None:
        units = list(units)
        if units:
            self._renew(keys=[self.keys.leases], args=[lease_ms, *units])

    def ack(self, unit: str) -> None:
        self.client.zrem(self.keys.leases, unit)

    def release(self, units: Iterable[str]) -> int:
        """Give leased units back (queue head), e.g. at a graceful stop."""
        units = list(units)
        if not units:
            return 0
        return int(self._release(keys=[self.keys.leases, self.keys.queue], args=units))

    # -- results ----------------------------------------------------------------------------
    def sub_done(
        self, level: int, name: str, source: str, users: Sequence[str]
    ) -> tuple[bool, list[str]]:
        """Record a subreddit's result: ``(applied, users skipped as fresh)``."""
        k = self.keys
        result = json.dumps({"source": source, "users": list(users)})
        reply = self._sub_done(
            keys=[k.sub_results, k.users, k.queue, k.pending(level), k.fresh_users,
                  k.user_results, k.counters],
            args=[name.lower(), result, level, json.dumps(list(users))],
        )  # fmt: skip
        return int(reply[0]) >= 0, [str(user) for user in reply[1:]]

    def user_done(self, level: int, name: str, subs: Sequence[str]) -> bool:
        k = self.keys
        reply = self._user_done(
            keys=[k.user_results, k.pending(level), k.queue, k.counters],
            args=[name.lower(), json.dumps(list(subs)), level],
        )
        return int(reply) >= 0

    def level_inputs(self, level: int) -> LevelInputs:
        names: list[str] = json.loads(self.client.lindex(self.keys.levels, level) or "[]")
        lower = [name.lower() for name in names]
        results = self.client.hmget(self.keys.sub_results, lower) if lower else []
        sources, selected = {}, {}
        for key, raw in zip(lower, results, strict=True):
            result = json.loads(raw) if raw else {"source": key, "users": []}
            sources[key], selected[key] = str(result["source"]), list(result["users"])
        users = sorted({user.lower() for chosen in selected.values() for user in chosen})
        found = self.client.hmget(self.keys.user_results, users) if users else []
        user_subs = {u: json.loads(raw) for u, raw in zip(users, found, strict=True) if raw}
        return LevelInputs(names, sources, selected, user_subs)

    def taken_subs(self) -> set[str]:
        return set(self.client.smembers(self.keys.subs))

    def skip_subs(self) -> dict[str, str]:
        return {k: v for k, v in self.client.hgetall(self.keys.skip_subs).items() if k}

    def close_level(self, level: int, next_names: Sequence[str], finish: bool, found: int) -> bool:
        """Start level ``level + 1`` with ``next_names`` (or finish): True if this call did."""
        k = self.keys
        nxt = level + 1
        reply = self._close_level(
            keys=[k.levels, k.subs, k.queue, k.pending(nxt), k.finished, k.counters],
            args=[nxt, "1" if finish else "0", json.dumps(list(next_names)), found],
        )
        return bool(reply)

    # -- progress -----------------------------------------------------------------------------
    def is_done(self) -> bool:
        """Finished, and no unit left in the queue or leased."""
        k = self.keys
        with self.client.pipeline(transaction=False) as pipe:
            pipe.exists(k.finished).llen(k.queue).zcard(k.leases)
            finished, queued, leased = pipe.execute()
        return bool(finished) and not queued and not leased

    def queued(self) -> int:
        return int(self.client.llen(self.keys.queue))

    def heartbeat(self, worker: str, info: Mapping[str, Any]) -> None:
        self.client.hset(self.keys.workers, worker, json.dumps(dict(info)))

    def status(self) -> dict[str, Any]:
        k = self.keys
        with self.client.pipeline(transaction=False) as pipe:
            pipe.get(k.plan).exists(k.finished).llen(k.queue).zcard(k.leases)
            pipe.scard(k.subs).scard(k.users).llen(k.levels).hgetall(k.counters)
            pipe.hgetall(k.workers)
            plan, finished, queued, leased, subs, users, levels, counters, workers = pipe.execute()
        return {
            "crawl": self.crawl,
            "plan": json.loads(plan) if plan else None,
            "finished": bool(finished),
            "level": max(int(levels) - 1, 0),
            "queued": int(queued),
            "leased": int(leased),
            "subreddits_taken": int(subs),
            "users_taken": int(users),
            **{name: int(value) for name, value in sorted(counters.items())},
            "workers": {w: json.loads(info) for w, info in sorted(workers.items())},
        }


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def list_crawls(client: redis.Redis) -> list[str]:
    """Names of the crawls Redis holds (those with a plan)."""
    names = []
    for key in client.scan_iter(match="reddit_crawler:{*}:plan", count=1000):
        names.append(str(key)[len("reddit_crawler:{") : -len("}:plan")])
    return sorted(names)
