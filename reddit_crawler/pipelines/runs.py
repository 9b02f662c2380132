"""Crawl-run bookkeeping: the ``crawl_runs`` row and the per-proxy counters.

At open a run row is inserted (spider name, sanitised arguments, host, pid); at close it
gets the end time, finish reason and the Scrapy stats as JSONB (datetimes as ISO text).
Anything whose name looks secret (password, token, key, cookie, DSN …) is stored as
``***`` and passwords inside URLs are masked. Proxy counters come from the stats keys
``proxy/<host>:<port>/ok`` (or ``…/success``), ``…/error``, ``…/429`` and ``…/blocked``
that the proxy middleware keeps (credentials, if any, are dropped).
Reads no settings.
"""

from __future__ import annotations

import json
import os
import re
import socket
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.types.json import Jsonb

from reddit_crawler.db.dsn import MASK, scrub

SECRET_NAME_RE = re.compile(
    r"pass|secret|token|api[_-]?key|(^|[_-])key$|auth|credential|cookie|session|dsn|database_url",
    re.IGNORECASE,
)
PROXY_STAT_RE = re.compile(r"^proxy/(?P<proxy>.+)/(?P<what>ok|success|error|429|blocked)$")
_PROXY_FIELDS = {"ok": 0, "success": 0, "error": 1, "429": 2, "blocked": 3}

INSERT_RUN = (
    "INSERT INTO crawl_runs (spider, args, hostname, pid) VALUES (%s, %s, %s, %s) RETURNING id"
)
FINISH_RUN = (
    "UPDATE crawl_runs SET finished_at = now(), finish_reason = %s, stats = %s WHERE id = %s"
)
UPSERT_PROXY = (
    "INSERT INTO proxies AS t (host, port, success_count, error_count, ratelimited_count,"
    " blocked_count, last_run_id) VALUES (%s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (host, port) DO UPDATE SET"
    " success_count = t.success_count + EXCLUDED.success_count,"
    " error_count = t.error_count + EXCLUDED.error_count,"
    " ratelimited_count = t.ratelimited_count + EXCLUDED.ratelimited_count,"
    " blocked_count = t.blocked_count + EXCLUDED.blocked_count,"
    " last_used_at = now(), last_run_id = EXCLUDED.last_run_id"
)


def sanitize(value: Any, name: str = "") -> Any:
    """A JSON-ready copy of ``value`` with secret-looking entries masked."""
    if name and SECRET_NAME_RE.search(name):
        return MASK
    if isinstance(value, dict):
        return {scrub(str(k)): sanitize(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [sanitize(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return scrub(str(value))


def to_jsonb(value: Any) -> Jsonb:
    """Sanitised JSONB (NUL characters cannot go into jsonb text either)."""
    text = json.dumps(sanitize(value), ensure_ascii=True, allow_nan=False, default=str)
    return Jsonb(json.loads(text.replace("\\u0000", "")))


def spider_args(spider: Any) -> dict[str, Any]:
    """The spider's arguments (``spider.crawl_args``), or an empty dict."""
    args = getattr(spider, "crawl_args", None)
    return dict(args) if isinstance(args, dict) else {}


def insert_run(conn: psycopg.Connection[Any], spider: str, args: dict[str, Any]) -> int:
    row = conn.execute(INSERT_RUN, [spider, to_jsonb(args), socket.gethostname(), os.getpid()])
    result = row.fetchone()
    assert result is not None
    return int(result[0])


def finish_run(
    conn: psycopg.Connection[Any], run_id: int, reason: str | None, stats: dict[str, Any]
) -> None:
    with conn.transaction():
        conn.execute(FINISH_RUN, [reason, to_jsonb(stats), run_id])
        for host, port, counts in proxy_counts(stats):
            conn.execute(UPSERT_PROXY, [host, port, *counts, run_id])


def proxy_counts(stats: dict[str, Any]) -> list[tuple[str, int, list[int]]]:
    """``(host, port, [success, error, 429, blocked])`` per proxy named in the stats keys."""
    found: dict[tuple[str, int], list[int]] = {}
    for key, value in stats.items():
        match = PROXY_STAT_RE.match(str(key))
        if not match or not isinstance(value, int) or isinstance(value, bool):
            continue
        address = _host_port(match.group("proxy"))
        if address is not None:
            found.setdefault(address, [0, 0, 0, 0])[_PROXY_FIELDS[match.group("what")]] += value
    return [(host, port, counts) for (host, port), counts in sorted(found.items())]


def _host_port(proxy: str) -> tuple[str, int] | None:
    """Host and port of ``host:port`` or a proxy URL; user and password are dropped."""
    try:
        if "://" in proxy:
            parts = urlsplit(proxy)
            host, port = parts.hostname, parts.port
            if port is None:
                port = 443 if parts.scheme == "https" else 1080 if "socks" in parts.scheme else 80
        else:
            address = proxy.rpartition("@")[2]  # user:password@ never reaches the database
            host, _, digits = address.rpartition(":")
            host, port = host.strip("[]"), int(digits)
    except ValueError:
        return None
    return (host, port) if host else None
