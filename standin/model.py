"""Records and fixed facts of a stand-in world.

The clock (:data:`NOW` and the time units), listing limits, the fixed names that exist in
every world (:data:`WELL_KNOWN_SUBS`, :data:`SPECIAL_SUBS`, :data:`GHOST_SUB`,
:data:`SPECIAL_USERS`, ...), Reddit's base-36 ids, and the plain records a world is made of:
:class:`WorldParams`, :class:`Subreddit` with its :class:`Rule` list, :class:`User` and
:class:`Post`. Nothing here draws random numbers: generation is in :mod:`standin.generate`
and the ``standin.gen_*`` modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

NOW: Final[int] = 1_793_491_200  # 2026-11-01T00:00:00Z
HOUR: Final[int] = 3600
DAY: Final[int] = 86400
YEAR: Final[int] = 365 * DAY

#: ``t=`` windows of ``/r/<name>/top.json`` in seconds (``None``: no limit).
TOP_WINDOWS: Final[dict[str, int | None]] = {
    "hour": HOUR,
    "day": DAY,
    "week": 7 * DAY,
    "month": 30 * DAY,
    "year": YEAR,
    "all": None,
}
#: Reddit never returns more than about 1000 items of one listing.
LISTING_CAP: Final[int] = 1000

SUB_STATES: Final[tuple[str, ...]] = ("ok", "private", "quarantined", "gated", "banned")
USER_STATES: Final[tuple[str, ...]] = ("ok", "suspended", "not_found", "private_posts")

#: lower-case name -> display_name of the well-known normal subreddits.
WELL_KNOWN_SUBS: Final[dict[str, str]] = {
    "python": "python",
    "learnpython": "LearnPython",
    "datascience": "datascience",
}
#: special subreddit name -> state.
SPECIAL_SUBS: Final[dict[str, str]] = {
    "secretclub": "private",
    "quarantinedsub": "quarantined",
    "gatedsub": "gated",
    "bannedsub": "banned",
}
#: Posted in by users, but not in the world (every endpoint answers 302).
GHOST_SUB: Final[str] = "vanishedsub"
#: Never in the world, never referenced.
NONEXISTENT_SUB: Final[str] = "doesnotexist"
#: special user name -> state.
SPECIAL_USERS: Final[dict[str, str]] = {
    "suspended_user": "suspended",
    "deleted_user": "not_found",
    "hidden_posts_user": "private_posts",
}
DELETED: Final[str] = "[deleted]"
REMOVED: Final[str] = "[removed]"
PYTHON_MIN_TOP_YEAR: Final[int] = 320
MIN_SUBREDDITS: Final[int] = len(WELL_KNOWN_SUBS) + len(SPECIAL_SUBS)
MIN_USERS: Final[int] = 10
LONG_SELFTEXT_LEN: Final[int] = 40_000

_B36: Final[str] = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(n: int) -> str:
    """Return ``n`` (>= 0) in lower-case base 36, as Reddit writes ids."""
    if n == 0:
        return "0"
    out: list[str] = []
    while n:
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out))


@dataclass(frozen=True)
class WorldParams:
    """Generation parameters; equal parameters give byte-identical worlds."""

    seed: int = 1
    n_subreddits: int = 40
    n_users: int = 300
    posts_per_user: tuple[int, int] = (5, 40)


@dataclass(slots=True)
class Rule:
    """One subreddit rule."""

    kind: str
    short_name: str
    description: str
    violation_reason: str
    created_utc: float
    priority: int


@dataclass(slots=True)
class Subreddit:
    """A subreddit (also used for the ghost subreddit, which is not in the lookup table)."""

    name: str  # display_name
    id: str
    state: str  # ok | private | quarantined | gated | banned | nonexistent (ghost)
    sub_type: str  # public | restricted | private
    created_utc: float
    subscribers: int
    active_user_count: int
    title: str
    public_description: str
    description: str
    over18: bool
    submission_type: str
    lang: str
    icon_img: str
    community_icon: str
    primary_color: str
    topics: list[str]
    flairs: list[str]
    rules: list[Rule] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    hot: list[Post] = field(default_factory=list)
    top_cache: dict[str, list[Post]] = field(default_factory=dict)

    @property
    def lower(self) -> str:
        return self.name.lower()


@dataclass(slots=True)
class User:
    """A Reddit account."""

    name: str
    id: str
    state: str  # ok | suspended | not_found | private_posts
    created_utc: float
    link_karma: int
    comment_karma: int
    awardee_karma: int
    awarder_karma: int
    profile_id: str
    verified: bool
    has_verified_email: bool
    is_gold: bool
    is_mod: bool
    premium: bool
    icon_img: str
    profile_title: str
    power: bool = False
    home: list[Subreddit] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)  # newest first after finalisation

    @property
    def profile_name(self) -> str:
        return f"u_{self.name}"


@dataclass(slots=True)
class Post:
    """A submission (t3). ``sub`` is ``None`` for posts on the author's profile."""

    sub: Subreddit | None
    author: str
    user: User | None  # None for [deleted]/[removed] authors
    title: str
    selftext: str
    created_utc: float
    score: int
    upvote_ratio: float
    num_comments: int
    edited: bool | float
    kind: str  # self | link | image
    url: str
    domain: str
    thumbnail: str
    flair: str | None
    over_18: bool
    spoiler: bool
    locked: bool
    stickied: bool
    num_crossposts: int
    seq: int
    id: str = ""
    num: int = 0
    hot: float = 0.0
    cached_json: bytes | None = None

    @property
    def fullname(self) -> str:
        return f"t3_{self.id}"

    @property
    def sub_name(self) -> str:
        """The t3 ``subreddit`` field: display_name, or ``u_<Name>`` for profile posts."""
        if self.sub is None:
            assert self.user is not None
            return self.user.profile_name
        return self.sub.name

    @property
    def is_profile(self) -> bool:
        return self.sub is None
