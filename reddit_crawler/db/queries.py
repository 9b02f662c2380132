"""What a crawl reads from earlier crawls before it starts (synchronous, before any request).

- :func:`refresh_candidates`: subreddits to refresh — those whose last crawl failed (status
  ``failed`` or a failed part), then those whose last successful crawl (``last_ok_at``) is
  older than ``stale_after``, oldest first;
- :func:`review_skipped`: subreddits whose hand-set ``review_status`` is in the skip list;
- :func:`fresh_subreddits`: subreddits crawled successfully within ``stale_after``;
- :func:`fresh_users`: users fetched successfully within ``user_fresh_for``, each with the
  subreddits of their posts of that fetch, in the order the fetch met them (as
  :class:`~reddit_crawler.units.UserUnit` would have listed them), so discovery through a user
  who is not fetched again gives what fetching them would have.

Durations are seconds, measured against the database's clock. Skip lists are lower-cased
review statuses, compared with the stored status trimmed and lower-cased. Reads no settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

_FAILED = "(status = 'failed' OR cardinality(failed_parts) > 0)"
_NOT_SKIPPED = "(review_status IS NULL OR lower(btrim(review_status)) <> ALL(%(skip)s::text[]))"

REFRESH_CANDIDATES = f"""
SELECT display_name, {_FAILED} AS failed, last_ok_at
FROM subreddits
WHERE ({_FAILED} OR last_ok_at IS NULL OR last_ok_at < now() - make_interval(secs => %(stale)s))
  AND {_NOT_SKIPPED}
ORDER BY failed DESC, last_ok_at NULLS FIRST, name
LIMIT %(limit)s
"""
REVIEW_SKIPPED = """
SELECT name, review_status FROM subreddits
WHERE lower(btrim(review_status)) = ANY(%(skip)s::text[])
"""
FRESH_SUBREDDITS = f"""
SELECT name FROM subreddits
WHERE last_ok_at >= now() - make_interval(secs => %(stale)s) AND NOT {_FAILED}
"""
# A fresh user's subreddits are the activity edges of their last fetch (same crawled_at);
# their order is that of the first post in each in the user's submitted listing of that
# fetch: posts.listings holds "submitted:<rank>" with the time of that fetch.
FRESH_USERS = """
WITH fresh AS (
    SELECT name, crawled_at FROM users
    WHERE crawled_at >= now() - make_interval(secs => %(fresh_for)s)
      AND status <> 'failed' AND cardinality(failed_parts) = 0
), edges AS (
    SELECT a.username, a.subreddit
    FROM user_activity a JOIN fresh f ON f.name = a.username AND a.crawled_at = f.crawled_at
), ranked AS (
    SELECT f.name AS username, p.subreddit, p.subreddit_name,
           substring(l.key FROM ':([0-9]+)$')::integer AS rank
    FROM fresh f
    JOIN posts p ON lower(p.author) = f.name AND p.crawled_at >= f.crawled_at
    CROSS JOIN LATERAL jsonb_each_text(p.listings) AS l
    WHERE l.key LIKE 'submitted:%%' AND l.value::timestamptz = f.crawled_at
), firsts AS (
    SELECT DISTINCT ON (username, subreddit) username, subreddit, subreddit_name, rank
    FROM ranked ORDER BY username, subreddit, rank
)
SELECT f.name, e.subreddit, coalesce(r.subreddit_name, s.display_name, e.subreddit)
FROM fresh f
LEFT JOIN edges e ON e.username = f.name
LEFT JOIN firsts r ON r.username = f.name AND r.subreddit = e.subreddit
LEFT JOIN subreddits s ON s.name = e.subreddit
ORDER BY f.name, r.rank NULLS LAST, e.subreddit
"""


@dataclass(frozen=True)
class Candidate:
    """A subreddit to refresh."""

    name: str
    failed: bool
    last_ok_at: datetime | None


def refresh_candidates(
    conn: psycopg.Connection[Any], stale_after: float, skip: tuple[str, ...], limit: int
) -> list[Candidate]:
    params = {"stale": stale_after, "skip": list(skip), "limit": limit}
    rows = conn.execute(REFRESH_CANDIDATES, params).fetchall()
    return [Candidate(name, bool(failed), last_ok) for name, failed, last_ok in rows]


def review_skipped(conn: psycopg.Connection[Any], skip: tuple[str, ...]) -> dict[str, str]:
    """Lower-case name -> review status, of the subreddits not to crawl."""
    if not skip:
        return {}
    return dict(conn.execute(REVIEW_SKIPPED, {"skip": list(skip)}).fetchall())


def fresh_subreddits(conn: psycopg.Connection[Any], stale_after: float) -> set[str]:
    """Lower-case names of the subreddits crawled successfully within ``stale_after``."""
    return {name for (name,) in conn.execute(FRESH_SUBREDDITS, {"stale": stale_after})}


def fresh_users(conn: psycopg.Connection[Any], fresh_for: float) -> dict[str, tuple[str, ...]]:
    """Lower-case user name -> their subreddits (display names, in first-met order)."""
    if fresh_for <= 0:
        return {}
    users: dict[str, list[str]] = {}
    for name, subreddit, shown in conn.execute(FRESH_USERS, {"fresh_for": fresh_for}):
        subs = users.setdefault(name, [])
        if subreddit is not None:
            subs.append(shown)
    return {name: tuple(subs) for name, subs in users.items()}
