"""Distributed crawling: many workers share one crawl through Redis (scrapy-redis).

A crawl named ``-a crawl=NAME`` lives under the Redis keys ``reddit_crawler:{NAME}:*``
(see :mod:`~reddit_crawler.distributed.keys`). ``scrapy enqueue`` publishes its plan and
seeds; each worker (``scrapy crawl reddit -a crawl=NAME`` with ``REDIS_URL`` set) leases
units of work — a subreddit, a user, or the close of a level — from the shared queue
(:mod:`~reddit_crawler.distributed.frontier`), crawls them like the single-process spider,
and acknowledges a unit only once its items are stored. Reads ``REDIS_URL`` (setting or
environment variable) through :func:`redis_url`.
"""

from __future__ import annotations

import os

from scrapy.settings import BaseSettings

from reddit_crawler.errors import ConfigError


def redis_url(settings: BaseSettings) -> str:
    """``REDIS_URL`` from the settings, else from the environment; empty: single-process."""
    return str(settings.get("REDIS_URL") or os.environ.get("REDIS_URL") or "").strip()


def require_redis_url(settings: BaseSettings) -> str:
    """``REDIS_URL``, or a :class:`ConfigError` for commands that need Redis."""
    url = redis_url(settings)
    if not url:
        raise ConfigError("REDIS_URL is not set: give -s REDIS_URL=redis://host:6379/0")
    return url
