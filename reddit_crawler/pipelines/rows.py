"""Turning items into table rows (one :class:`Unit` per item), on the reactor thread.

A unit holds every row one item contributes (a subreddit gives its ``subreddits`` row,
its rules and a snapshot; a post its ``posts`` row, listings and ranks included). Units
are what the writer isolates when PostgreSQL rejects a row, and what is dead-lettered,
so "units written + dead-lettered = items received" holds.
Strings lose NUL characters here (PostgreSQL rejects them), naive datetimes are taken
as UTC, and subreddit and user key columns are lower-cased. Reads no settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

Row = tuple[Any, ...]

SUBREDDIT_COLUMNS = (
    "name", "display_name", "status", "depth", "reddit_id", "title", "public_description",
    "description", "subscribers", "active_users", "created_utc", "over18", "subreddit_type",
    "lang", "url", "hot_count", "top_week_count", "top_year_count", "top_year_avg_score",
    "top_year_median_score", "top_year_avg_comments", "top_year_median_comments",
    "failed_parts", "crawled_at", "last_run_id",
)  # fmt: skip
RULE_COLUMNS = (
    "subreddit", "position", "priority", "short_name", "kind", "description",
    "violation_reason", "created_utc", "crawled_at", "last_run_id",
)  # fmt: skip
SNAPSHOT_COLUMNS = ("run_id", "subreddit", "status", "subscribers", "active_users", "taken_at")
POST_FIELDS = (
    "subreddit_id", "subreddit_type", "author", "author_fullname", "title", "selftext", "url",
    "permalink", "domain", "score", "upvote_ratio", "num_comments", "edited", "edited_utc",
    "over_18", "spoiler", "stickied", "locked", "is_self", "link_flair_text", "created_utc",
    "crawled_at",
)  # fmt: skip
POST_COLUMNS = ("id", "subreddit", "subreddit_name", *POST_FIELDS, "last_run_id", "listings")
USER_COLUMNS = (
    "name", "display_name", "status", "reddit_id", "created_utc", "link_karma",
    "comment_karma", "total_karma", "is_gold", "is_mod", "verified", "has_verified_email",
    "is_employee", "posts_fetched", "failed_parts", "crawled_at", "last_run_id",
)  # fmt: skip
ACTIVITY_COLUMNS = ("username", "subreddit", "post_count", "crawled_at", "last_run_id")
DISCOVERY_COLUMNS = (
    "subreddit", "from_subreddit", "via_user", "subreddit_name", "last_seen_at", "last_run_id",
)  # fmt: skip


class RowError(ValueError):
    """An item that cannot become rows at all (unknown kind, missing key)."""


@dataclass(slots=True)
class Unit:
    """The rows of one item, per table; ``rule_owner`` is set when its rules replace the old."""

    kind: str
    item: Any
    rows: dict[str, list[Row]]
    rule_owner: str | None = None


class _MappingView:
    """Attribute access over a dict item (``item.name`` → ``item.get("name")``)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return self._data.get(name)


def _view(obj: Any) -> Any:
    if hasattr(obj.__class__, "__dataclass_fields__"):  # fast path: our items
        return obj
    return _MappingView(obj) if isinstance(obj, Mapping) else obj


def clean(value: Any) -> Any:
    """Strip NUL characters from strings (also inside lists); naive datetimes become UTC."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _row(*values: Any) -> Row:
    """The values as a row; the slow path only when a string holds NUL or a time is naive."""
    for value in values:
        cls = value.__class__
        if (
            (cls is str and "\x00" in value)
            or cls is list
            or (cls is datetime and value.tzinfo is None)
        ):
            return tuple(clean(v) for v in values)
    return values


def _key(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip("\x00 "):
        raise RowError(f"{what} is missing or not a string: {value!r}"[:200])
    return clean(value).strip().lower()


def _display(value: Any) -> str:
    return clean(value).strip()


def subreddit_unit(item: Any, run_id: int | None) -> Unit:
    s = _view(item)
    key = _key(s.name, "subreddit name")
    st = _view(s.stats) if s.stats is not None else _view({})
    failed = list(s.failed_parts or [])
    sub = _row(
        key, _display(s.name), s.status, s.depth, s.id, s.title, s.public_description,
        s.description, s.subscribers, s.active_users, s.created_utc, s.over18,
        s.subreddit_type, s.lang, s.url, st.hot_count, st.top_week_count, st.top_year_count,
        st.top_year_avg_score, st.top_year_median_score, st.top_year_avg_comments,
        st.top_year_median_comments, failed, s.crawled_at, run_id,
    )  # fmt: skip
    snapshot = _row(run_id, key, s.status, s.subscribers, s.active_users, s.crawled_at)
    owner = key if s.status == "ok" and "rules" not in failed else None
    rules = [
        _rule_row(key, pos, _view(r), s.crawled_at, run_id) for pos, r in enumerate(s.rules or [])
    ]
    rows = {
        "subreddits": [sub],
        "subreddit_rules": rules if owner else [],
        "subreddit_snapshots": [snapshot],
    }
    return Unit("subreddit", item, rows, rule_owner=owner)


def _rule_row(subreddit: str, position: int, r: Any, crawled_at: Any, run_id: int | None) -> Row:
    return _row(
        subreddit, position, r.priority, r.short_name, r.kind, r.description,
        r.violation_reason, r.created_utc, crawled_at, run_id,
    )  # fmt: skip


_post_fields = attrgetter(*POST_FIELDS)
_post_texts = attrgetter(
    "subreddit_id", "subreddit_type", "author", "author_fullname", "title", "selftext", "url",
    "permalink", "domain", "link_flair_text",
)  # fmt: skip
_post_times = attrgetter("created_utc", "edited_utc", "crawled_at")


def post_unit(item: Any, run_id: int | None) -> Unit:
    p = _view(item)
    post_id = clean(p.id)
    if not isinstance(post_id, str) or not post_id:
        raise RowError(f"post id is missing or not a string: {p.id!r}"[:200])
    sub = p.subreddit
    fields = _post_fields(p)
    if _post_needs_cleaning(p):
        fields = tuple(map(clean, fields))
    row = (
        post_id, _key(sub, "post subreddit"), _display(sub), *fields, run_id,
        listings_of(p.listings, p.crawled_at),
    )  # fmt: skip
    return Unit("post", item, {"posts": [row]})


def _post_needs_cleaning(p: Any) -> bool:
    """Whether a post field needs :func:`clean` (a NUL in a text, a non-text where text
    belongs, a naive time): plain loops, the cheapest way on the hot path."""
    for text in _post_texts(p):
        if text is not None and (text.__class__ is not str or "\x00" in text):
            return True
    for when in _post_times(p):  # noqa: SIM110 - a loop is cheaper than any(<genexpr>)
        if when.__class__ is datetime and when.tzinfo is None:
            return True
    return False


_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_iso_cache: tuple[datetime | None, str] = (None, "")
# An ISO time and its '"<listing>:<rank>":"<time>"' fragments per (listing, rank).
_fragment_cache: tuple[str, dict[tuple[str, int], str]] = ("", {})


def listings_of(listings: Any, seen_at: Any) -> str:
    """``{"<listing>:<rank>": <seen at>}`` as JSON text: the ``posts.listings`` value.

    Serialised here, on the reactor thread, to keep the writer thread's work short; it is
    staged as text (copied by psycopg's C dumper) and cast to ``jsonb`` by the upsert.
    """
    global _fragment_cache
    seen_at = clean(seen_at)  # a naive time is UTC
    if isinstance(seen_at, datetime):  # the common case, without json.dumps
        when = _iso(seen_at)
        cached_when, fragments = _fragment_cache
        if when is not cached_when or len(fragments) > 4096:
            fragments = {}
            _fragment_cache = (when, fragments)
        parts = []
        for lr in listings or ():
            lr = _view(lr)
            name, rank = lr.listing, lr.rank
            if type(rank) is not int or type(name) is not str:
                break
            fragment = fragments.get((name, rank))
            if fragment is None:
                if not _SIMPLE_NAME.match(name):
                    break
                # ISO times and simple names need no escaping
                fragment = fragments[name, rank] = f'"{name}:{rank}":"{when}"'
            parts.append(fragment)
        else:
            return "{" + ",".join(parts) + "}"
    when = _iso(seen_at) if isinstance(seen_at, datetime) else seen_at
    pairs = [(lr.listing, lr.rank) for lr in map(_view, listings or ())]
    merged = {f"{clean(name)}:{rank}": when for name, rank in pairs}
    return json.dumps(merged, default=str)


def _iso(when: datetime) -> str:
    """ISO text of a datetime (the last one is cached: a response's items share it)."""
    global _iso_cache
    if when is not _iso_cache[0]:
        _iso_cache = (when, when.isoformat())
    return _iso_cache[1]


def user_unit(item: Any, run_id: int | None) -> Unit:
    u = _view(item)
    row = _row(
        _key(u.name, "user name"), _display(u.name), u.status, u.id, u.created_utc,
        u.link_karma, u.comment_karma, u.total_karma, u.is_gold, u.is_mod, u.verified,
        u.has_verified_email, u.is_employee, u.posts_fetched, list(u.failed_parts or []),
        u.crawled_at, run_id,
    )  # fmt: skip
    return Unit("user", item, {"users": [row]})


def activity_unit(item: Any, run_id: int | None) -> Unit:
    a = _view(item)
    row = _row(
        _key(a.user, "activity user"), _key(a.subreddit, "activity subreddit"), a.post_count,
        a.crawled_at, run_id,
    )  # fmt: skip
    return Unit("activity", item, {"user_activity": [row]})


def discovery_unit(item: Any, run_id: int | None) -> Unit:
    d = _view(item)
    row = _row(
        _key(d.subreddit, "discovered subreddit"), _key(d.from_subreddit, "from_subreddit"),
        _key(d.via_user, "via_user"), _display(d.subreddit), d.crawled_at, run_id,
    )  # fmt: skip
    return Unit("discovery", item, {"subreddit_discoveries": [row]})


BUILDERS: dict[str, Callable[[Any, int | None], Unit]] = {
    "subreddit": subreddit_unit,
    "post": post_unit,
    "user": user_unit,
    "activity": activity_unit,
    "discovery": discovery_unit,
}
KINDS = tuple(BUILDERS)


def item_kind_of(item: Any) -> Any:
    """The ``kind`` of an item (dataclass attribute or dict key), or None."""
    kind = getattr(item, "kind", None)
    if kind is None and isinstance(item, Mapping):
        return item.get("kind")
    return kind


def build_unit(item: Any, run_id: int | None) -> Unit:
    """The unit of ``item``; :class:`RowError` when it cannot be turned into rows."""
    kind = item_kind_of(item)
    builder = BUILDERS.get(kind) if isinstance(kind, str) else None
    if builder is None:
        raise RowError(f"not a storable item (kind={kind!r}, type={type(item).__name__})")
    try:
        return builder(item, run_id)
    except RowError:
        raise
    except (AttributeError, TypeError, ValueError) as exc:
        raise RowError(f"malformed {kind} item: {type(exc).__name__}: {exc}"[:500]) from None
