"""Items the ``reddit`` spider yields.

Plain dataclasses (Scrapy handles them through itemadapter). Every item carries a
``kind`` field so a JSON-lines feed (``-O out.jsonl``) can be split by type, and
every timestamp is a timezone-aware UTC ``datetime``.

Reads no settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RuleItem:
    """One rule of a subreddit (embedded in :class:`SubredditItem`, not yielded alone)."""

    priority: int | None
    short_name: str | None
    kind: str | None
    description: str | None
    violation_reason: str | None
    created_utc: datetime | None


@dataclass
class ListingStats:
    """Statistics over the listings of one subreddit (embedded in :class:`SubredditItem`)."""

    hot_count: int = 0
    top_week_count: int = 0
    top_year_count: int = 0
    top_year_avg_score: float | None = None
    top_year_median_score: float | None = None
    top_year_avg_comments: float | None = None
    top_year_median_comments: float | None = None


@dataclass
class SubredditItem:
    """A crawled subreddit: its about fields, rules and listing statistics.

    ``status`` is one of ``ok``, ``private``, ``quarantined``, ``gated``, ``banned``,
    ``nonexistent`` or ``failed`` (the about request failed after its retries).
    ``failed_parts`` names the parts (``rules``, ``hot`` …) whose request failed.
    """

    name: str
    status: str
    depth: int
    crawled_at: datetime
    id: str | None = None
    title: str | None = None
    public_description: str | None = None
    description: str | None = None
    subscribers: int | None = None
    active_users: int | None = None
    created_utc: datetime | None = None
    over18: bool | None = None
    subreddit_type: str | None = None
    lang: str | None = None
    url: str | None = None
    rules: list[RuleItem] = field(default_factory=list)
    stats: ListingStats = field(default_factory=ListingStats)
    failed_parts: list[str] = field(default_factory=list)
    kind: str = field(default="subreddit", init=False)


@dataclass
class ListingRank:
    """Where a post was seen: a listing and its 1-based rank there.

    Listings: ``hot``, ``top_week``, ``top_year`` (of its subreddit), ``submitted`` (of its author).
    """

    listing: str
    rank: int


@dataclass
class PostItem:
    """A post (t3), with every listing of this crawl step it was seen in."""

    id: str
    subreddit: str
    author: str | None
    title: str
    created_utc: datetime | None
    crawled_at: datetime
    subreddit_id: str | None = None
    subreddit_type: str | None = None
    author_fullname: str | None = None
    selftext: str = ""
    url: str | None = None
    permalink: str | None = None
    domain: str | None = None
    score: int | None = None
    upvote_ratio: float | None = None
    num_comments: int | None = None
    edited: bool = False
    edited_utc: datetime | None = None
    over_18: bool | None = None
    spoiler: bool | None = None
    stickied: bool | None = None
    locked: bool | None = None
    is_self: bool | None = None
    link_flair_text: str | None = None
    listings: list[ListingRank] = field(default_factory=list)
    kind: str = field(default="post", init=False)


@dataclass
class UserItem:
    """A user (t2). ``status`` is ``ok``, ``suspended``, ``not_found``, ``private_posts``
    (the submitted listing answered 403) or ``failed``."""

    name: str
    status: str
    crawled_at: datetime
    id: str | None = None
    created_utc: datetime | None = None
    link_karma: int | None = None
    comment_karma: int | None = None
    total_karma: int | None = None
    is_gold: bool | None = None
    is_mod: bool | None = None
    verified: bool | None = None
    has_verified_email: bool | None = None
    is_employee: bool | None = None
    posts_fetched: int = 0
    failed_parts: list[str] = field(default_factory=list)
    kind: str = field(default="user", init=False)


@dataclass
class ActivityItem:
    """An activity edge: ``user`` has ``post_count`` of their fetched posts in ``subreddit``."""

    user: str
    subreddit: str
    post_count: int
    crawled_at: datetime
    kind: str = field(default="activity", init=False)


@dataclass
class DiscoveryItem:
    """A subreddit named in the posts of ``via_user``, a user selected from ``from_subreddit``."""

    subreddit: str
    from_subreddit: str
    via_user: str
    crawled_at: datetime
    kind: str = field(default="discovery", init=False)
