"""The Redis connection of a distributed crawl, checked before any work starts.

Built with scrapy-redis' :func:`~scrapy_redis.connection.get_redis` (its ``REDIS_PARAMS``
apply, over defaults of 10 s to answer and 5 s to connect: the calls run on a thread of
their own and wait out an outage, see :mod:`~reddit_crawler.distributed.calls`) from
``REDIS_URL`` (setting or environment), decoding replies to text. An
unreachable server or a refused password is a one-line
:class:`~reddit_crawler.errors.ConfigError` naming the URL with its password masked.
"""

from __future__ import annotations

import re
from typing import Any

import redis
from scrapy.settings import BaseSettings
from scrapy_redis import connection, defaults

from reddit_crawler.distributed import redis_url
from reddit_crawler.errors import ConfigError

_PASSWORD_RE = re.compile(r"(//[^:/@]*:)[^@/]*@")


def mask_url(url: str) -> str:
    """``redis://user:secret@host`` → ``redis://user:***@host``."""
    return _PASSWORD_RE.sub(r"\1***@", url)


class RedisUnavailable(ConfigError):
    """Redis cannot be reached or refuses the credentials."""


def redis_client(settings: BaseSettings, url: str | None = None) -> redis.Redis:
    url = url or redis_url(settings)
    params: dict[str, Any] = {
        **defaults.REDIS_PARAMS,
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
    }
    params.update(settings.getdict("REDIS_PARAMS"))
    params.update(url=url, decode_responses=True)
    try:
        client = connection.get_redis(**params)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RedisUnavailable(
            f"Redis unavailable at {mask_url(url)}: {detail.replace(url, mask_url(url))}"
        ) from None
    return client
