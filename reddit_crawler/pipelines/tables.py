"""The SQL of the write path: per-table temporary staging tables and upserts.

Each flush COPYs (binary format) a table's rows into a session-local temporary table
(the real table's column types, integers widened to ``bigint`` so that an out-of-range
value is rejected by PostgreSQL's cast instead of being truncated by the binary dumper;
emptied at commit; JSON columns are staged as text and cast by the upsert; created on
first use) and moves them with one ``INSERT … SELECT … ON CONFLICT DO UPDATE``.
The writer stages each key once (the last row of a key in the batch wins), and rows of
older crawls (``crawled_at`` earlier than the stored one) never overwrite newer state.
Reads no settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from reddit_crawler.pipelines import rows as r

# Columns a 'failed' subreddit or user row does not overwrite (keep the last known values).
_SUBREDDIT_ALWAYS = ("display_name", "status", "depth", "failed_parts", "crawled_at", "last_run_id")
_USER_ALWAYS = ("display_name", "status", "failed_parts", "crawled_at", "last_run_id")


@dataclass(frozen=True)
class Table:
    """One target table: its copied columns, key and upsert statement."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    upsert: str
    # Columns staged as text and cast by the upsert (column, real type): JSON serialised
    # on the reactor thread is then copied by psycopg's C text dumper.
    casts: tuple[tuple[str, str], ...] = ()

    def latest_per_key(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The rows with each key once: the last one (an upsert may not touch a row twice)."""
        positions = [self.columns.index(k) for k in self.key]
        latest = {tuple(row[i] for i in positions): row for row in rows}
        return rows if len(latest) == len(rows) else list(latest.values())

    @property
    def staging(self) -> str:
        return f"_rc_stage_{self.name}"

    @property
    def create_staging(self) -> str:
        cols = ", ".join(self.columns)
        return (
            f"CREATE TEMP TABLE {self.staging} ON COMMIT DELETE ROWS"
            f" AS SELECT {cols} FROM {self.name} WITH NO DATA"
        )

    @property
    def copy(self) -> str:
        return f"COPY {self.staging} ({', '.join(self.columns)}) FROM STDIN (FORMAT BINARY)"


def _upsert(
    name: str,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    *,
    inserted: dict[str, str] | None = None,
    updates: dict[str, str] | None = None,
    guard: str | None = "EXCLUDED.crawled_at >= t.crawled_at",
    casts: dict[str, str] | None = None,
) -> Table:
    """A table and its upsert from the staging table (whose keys are distinct)."""
    inserted = inserted or {}
    casts = casts or {}
    keys = ", ".join(key)
    target = ", ".join((*columns, *inserted))
    staged = [f"{c}::{casts[c]}" if c in casts else c for c in columns]
    source = ", ".join((*staged, *inserted.values()))
    sets = {c: f"EXCLUDED.{c}" for c in columns if c not in key}
    sets.update(updates or {})
    conflict = (
        f" ON CONFLICT ({keys}) DO UPDATE SET "
        + ", ".join(f"{c} = {e}" for c, e in sets.items())
        + (f" WHERE {guard}" if guard else "")
    )
    upsert = f"INSERT INTO {name} AS t ({target}) SELECT {source} FROM _rc_stage_{name}{conflict}"
    return Table(name, columns, key, upsert, tuple(casts.items()))


def _keep_when_failed(columns: tuple[str, ...], always: tuple[str, ...]) -> dict[str, str]:
    return {
        c: f"CASE WHEN EXCLUDED.status = 'failed' THEN t.{c} ELSE EXCLUDED.{c} END"
        for c in columns
        if c not in always
    }


_FIRST_SEEN = {"first_seen_at": "LEAST(t.first_seen_at, EXCLUDED.first_seen_at)"}
_SEEN_RANGE = {
    **_FIRST_SEEN,
    "last_seen_at": "GREATEST(t.last_seen_at, EXCLUDED.last_seen_at)",
}

# The end of the last successful crawl (state read, no part failed): see migration 0003.
# review_status is never written here: people set it by hand.
_LAST_OK = "CASE WHEN status <> 'failed' AND cardinality(failed_parts) = 0 THEN crawled_at END"
SUBREDDITS = _upsert(
    "subreddits",
    r.SUBREDDIT_COLUMNS,
    ("name",),
    inserted={"first_seen_at": "crawled_at", "last_ok_at": _LAST_OK},
    updates={
        **_keep_when_failed(r.SUBREDDIT_COLUMNS[1:], _SUBREDDIT_ALWAYS),
        **_FIRST_SEEN,
        "last_ok_at": "COALESCE(EXCLUDED.last_ok_at, t.last_ok_at)",
    },
)
SUBREDDIT_RULES = _upsert("subreddit_rules", r.RULE_COLUMNS, ("subreddit", "position"), guard=None)
SUBREDDIT_SNAPSHOTS = _upsert(
    "subreddit_snapshots", r.SNAPSHOT_COLUMNS, ("run_id", "subreddit"), guard=None
)
POSTS = _upsert(
    "posts",
    r.POST_COLUMNS,
    ("id",),
    inserted={"first_seen_at": "crawled_at"},
    # listings are a union: keys "<listing>:<rank>", the latest sighting wins
    updates={**_FIRST_SEEN, "listings": "t.listings || EXCLUDED.listings"},
    casts={"listings": "jsonb"},
)
USERS = _upsert(
    "users",
    r.USER_COLUMNS,
    ("name",),
    inserted={"first_seen_at": "crawled_at"},
    updates={**_keep_when_failed(r.USER_COLUMNS[1:], _USER_ALWAYS), **_FIRST_SEEN},
)
USER_ACTIVITY = _upsert(
    "user_activity",
    r.ACTIVITY_COLUMNS,
    ("username", "subreddit"),
    inserted={"first_seen_at": "crawled_at"},
    updates=_FIRST_SEEN,
)
SUBREDDIT_DISCOVERIES = _upsert(
    "subreddit_discoveries",
    r.DISCOVERY_COLUMNS,
    ("subreddit", "from_subreddit", "via_user"),
    inserted={"first_seen_at": "last_seen_at"},
    updates=_SEEN_RANGE,
    guard=None,
)

TABLES = {
    t.name: t
    for t in (
        SUBREDDITS,
        SUBREDDIT_RULES,
        SUBREDDIT_SNAPSHOTS,
        POSTS,
        USERS,
        USER_ACTIVITY,
        SUBREDDIT_DISCOVERIES,
    )
}

# The tables each kind of unit writes, parents first.
KIND_TABLES: dict[str, tuple[Table, ...]] = {
    "subreddit": (SUBREDDITS, SUBREDDIT_RULES, SUBREDDIT_SNAPSHOTS),
    "post": (POSTS,),
    "user": (USERS,),
    "activity": (USER_ACTIVITY,),
    "discovery": (SUBREDDIT_DISCOVERIES,),
}

# Rules of a re-crawled subreddit that are no longer listed (run before the upsert).
DELETE_STALE_RULES = (
    "DELETE FROM subreddit_rules AS t WHERE t.subreddit = ANY(%s) AND NOT EXISTS"
    " (SELECT 1 FROM _rc_stage_subreddit_rules s"
    " WHERE s.subreddit = t.subreddit AND s.position = t.position)"
)


_TABLE_COLUMNS = """
SELECT c.relname::text, a.attname::text, a.atttypid::int
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.oid = ANY(%s::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped
"""
# int2/int4 → int8, float4 → float8 (OIDs).
_WIDEN = {21: (20, "bigint"), 23: (20, "bigint"), 700: (701, "double precision")}
_TEXT = (25, "text")


def _staged_type(table: Table, column: str, oid: int) -> tuple[int, str | None]:
    """The staging column's type OID, and its type name when it differs from the table's."""
    if column in dict(table.casts):
        return _TEXT
    if oid in _WIDEN:
        return _WIDEN[oid]
    return oid, None


def staging_types(conn: psycopg.Connection[Any]) -> dict[str, list[int]]:
    """Each table's COPY type OIDs (its staging table's column types), read from the tables."""
    found: dict[str, dict[str, int]] = {}
    names = [t.name for t in TABLES.values()]
    for relname, column, oid in conn.execute(_TABLE_COLUMNS, [names]).fetchall():
        found.setdefault(relname, {})[column] = oid
    return {
        table.name: [_staged_type(table, c, found[table.name][c])[0] for c in table.columns]
        for table in TABLES.values()
    }


def create_staging(conn: psycopg.Connection[Any], table: Table) -> None:
    """Create ``table``'s staging table on this session (outside any transaction).

    Created on first use: PostgreSQL empties every ``ON COMMIT DELETE ROWS`` table of the
    session at each commit (a truncation each, toast index rebuilt), used or not."""
    conn.execute(table.create_staging.encode())
    found = conn.execute(_TABLE_COLUMNS, [[table.name]]).fetchall()
    alters = []
    for _, column, oid in found:
        name = _staged_type(table, column, oid)[1] if column in table.columns else None
        if name is not None:
            alters.append(f"ALTER COLUMN {column} TYPE {name}")
    if alters:
        conn.execute(f"ALTER TABLE {table.staging} {', '.join(alters)}".encode())
