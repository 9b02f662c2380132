"""Deterministic world generation for the Reddit stand-in.

A :class:`World` is generated from :class:`WorldParams` with a private ``random.Random(seed)``
(never the global generator) and a fixed clock :data:`NOW` (2026-11-01T00:00:00Z), so the same
parameters always give the same subreddits, users, posts and listings, whatever the wall time.

Fixed names that exist in every world (see :data:`WELL_KNOWN_SUBS`, :data:`SPECIAL_SUBS`,
:data:`SPECIAL_USERS`):

- subreddits ``python``, ``LearnPython`` (looked up as ``learnpython``), ``datascience``: normal,
  with many posts (``python`` has at least :data:`PYTHON_MIN_TOP_YEAR` posts in ``top?t=year``);
- ``secretclub`` (private), ``quarantinedsub`` (quarantined), ``gatedsub`` (gated),
  ``bannedsub`` (banned);
- ``vanishedsub``: users have posted in it, but it is not in the world (every endpoint 302s);
- ``doesnotexist``: never in the world and never referenced;
- users ``suspended_user``, ``deleted_user`` (404) and ``hidden_posts_user`` (submitted 403).

The quirk posts (see :func:`standin.gen_quirks.add_quirk_posts`) are placed so that they
appear, for every seed, within the default listing sizes of the three well-known subreddits
(hot 30, top week 10, top year 100), and their authors are among the first 25 users selected
from each of them.

This module holds :class:`World` (lookups, listings, summary) and the cached entry points
:func:`generate_world` and :func:`get_world`, and re-exports the records and constants of
:mod:`standin.model`. Generation is split into :mod:`standin.generate` (the order of the
steps), :mod:`standin.gen_subreddits`, :mod:`standin.gen_users`, :mod:`standin.gen_posts`,
:mod:`standin.gen_quirks`, :mod:`standin.naming` and the word lists of :mod:`standin.vocab`.
"""

from __future__ import annotations

import weakref
from typing import Final

from standin.generate import build_world
from standin.model import (
    DAY,
    DELETED,
    GHOST_SUB,
    HOUR,
    LISTING_CAP,
    LONG_SELFTEXT_LEN,
    MIN_SUBREDDITS,
    MIN_USERS,
    NONEXISTENT_SUB,
    NOW,
    PYTHON_MIN_TOP_YEAR,
    REMOVED,
    SPECIAL_SUBS,
    SPECIAL_USERS,
    SUB_STATES,
    TOP_WINDOWS,
    USER_STATES,
    WELL_KNOWN_SUBS,
    YEAR,
    Post,
    Rule,
    Subreddit,
    User,
    WorldParams,
    base36,
)

__all__ = [
    "DAY",
    "DELETED",
    "GHOST_SUB",
    "HOUR",
    "LISTING_CAP",
    "LONG_SELFTEXT_LEN",
    "MIN_SUBREDDITS",
    "MIN_USERS",
    "NONEXISTENT_SUB",
    "NOW",
    "PYTHON_MIN_TOP_YEAR",
    "REMOVED",
    "SPECIAL_SUBS",
    "SPECIAL_USERS",
    "SUB_STATES",
    "TOP_WINDOWS",
    "USER_STATES",
    "WELL_KNOWN_SUBS",
    "YEAR",
    "Post",
    "Rule",
    "Subreddit",
    "User",
    "World",
    "WorldParams",
    "base36",
    "generate_world",
    "get_world",
]


class World:
    """A generated world plus the lookups and listings the server and the truth share."""

    def __init__(self, params: WorldParams) -> None:
        self.params = params
        self.subreddits: list[Subreddit] = []
        self.users: list[User] = []
        self.posts: list[Post] = []
        self.ghost: Subreddit | None = None
        self._subs_by_lower: dict[str, Subreddit] = {}
        self._users_by_lower: dict[str, User] = {}
        # Shared per-world caches used by the server (serialized bodies).
        self.body_cache: dict[tuple[str, ...], bytes] = {}
        self.index_cache: dict[tuple[str, ...], dict[str, int]] = {}

    # -- lookups -------------------------------------------------------------------------
    def index_names(self) -> None:
        """(Re)build the case-insensitive lookup tables of subreddits and users."""
        self._subs_by_lower = {s.lower: s for s in self.subreddits}
        self._users_by_lower = {u.name.lower(): u for u in self.users}

    def lookup_sub(self, name: str) -> Subreddit | None:
        """Case-insensitive lookup; ``None`` if the subreddit is not in the world."""
        return self._subs_by_lower.get(name.lower())

    def lookup_user(self, name: str) -> User | None:
        """Case-insensitive lookup; ``None`` if the user is unknown."""
        return self._users_by_lower.get(name.lower())

    def sub_state(self, name: str) -> str:
        """ok | private | quarantined | gated | banned | nonexistent."""
        sub = self.lookup_sub(name)
        return "nonexistent" if sub is None else sub.state

    def user_state(self, name: str) -> str:
        """ok | suspended | not_found | private_posts (unknown users are not_found)."""
        user = self.lookup_user(name)
        return "not_found" if user is None else user.state

    # -- listings ------------------------------------------------------------------------
    def hot(self, sub: Subreddit) -> list[Post]:
        return sub.hot

    def top(self, sub: Subreddit, t: str) -> list[Post]:
        """Top posts for window ``t`` (hour/day/week/month/year/all; unknown -> day)."""
        if t not in TOP_WINDOWS:
            t = "day"
        cached = sub.top_cache.get(t)
        if cached is None:
            window = TOP_WINDOWS[t]
            posts = (
                sub.posts
                if window is None
                else [p for p in sub.posts if p.created_utc >= NOW - window]
            )
            cached = sorted(posts, key=lambda p: (-p.score, -p.num))[:LISTING_CAP]
            sub.top_cache[t] = cached
        return cached

    def submitted(self, user: User) -> list[Post]:
        """The user's submitted listing, newest first."""
        return user.posts[:LISTING_CAP]

    # -- summary -------------------------------------------------------------------------
    def summary(self) -> dict[str, object]:
        """JSON-able summary: names with their states and the special names."""
        subs = [
            {
                "display_name": s.name,
                "name": s.lower,
                "state": s.state,
                "posts": len(s.posts),
                "hot": len(s.hot),
                "top_week": len(self.top(s, "week")),
                "top_year": len(self.top(s, "year")),
            }
            for s in self.subreddits
        ]
        users = [{"name": u.name, "state": u.state, "posts": len(u.posts)} for u in self.users]
        return {
            "params": {
                "seed": self.params.seed,
                "n_subreddits": self.params.n_subreddits,
                "n_users": self.params.n_users,
                "posts_per_user": list(self.params.posts_per_user),
            },
            "now": NOW,
            "n_posts": len(self.posts),
            "subreddits": subs,
            "users": users,
            "case_differs": [s.name for s in self.subreddits if s.name != s.lower],
            "special": {
                "well_known": dict(WELL_KNOWN_SUBS),
                "subreddits": dict(SPECIAL_SUBS),
                "referenced_nonexistent": GHOST_SUB,
                "nonexistent": NONEXISTENT_SUB,
                "users": dict(SPECIAL_USERS),
            },
        }


# Recently used worlds stay alive (LRU); worlds still referenced elsewhere (by tenants) are
# found through the weak map, so equal parameters always share one World object.
_WORLD_CACHE: dict[WorldParams, World] = {}
_WORLD_CACHE_MAX: Final[int] = 8
_WORLD_REFS: weakref.WeakValueDictionary[WorldParams, World] = weakref.WeakValueDictionary()


def generate_world(params: WorldParams) -> World:
    """Generate a world (uncached)."""
    lo, hi = params.posts_per_user
    if not 0 <= lo <= hi:
        raise ValueError("posts_per_user must be [lo, hi] with 0 <= lo <= hi")
    if params.n_users < MIN_USERS:
        raise ValueError(f"n_users must be >= {MIN_USERS}")
    return build_world(World(params))


def get_world(params: WorldParams) -> World:
    """Return the shared world for ``params`` (cached; regenerating gives identical data)."""
    world = _WORLD_CACHE.pop(params, None) or _WORLD_REFS.get(params)
    if world is None:
        world = generate_world(params)
        _WORLD_REFS[params] = world
    while len(_WORLD_CACHE) >= _WORLD_CACHE_MAX:
        _WORLD_CACHE.pop(next(iter(_WORLD_CACHE)))
    _WORLD_CACHE[params] = world
    return world
