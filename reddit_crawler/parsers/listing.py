"""Parsers of Listing documents of posts (t3) and of listing statistics.

Reads no settings.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from reddit_crawler.items import ListingRank, ListingStats, PostItem
from reddit_crawler.names import is_valid_subreddit
from reddit_crawler.parsers.common import (
    as_bool,
    as_dict,
    as_float,
    as_int,
    as_list,
    clean_text,
    parse_edited,
    to_utc,
)


class Page:
    """One page of a listing: the t3 data dicts it holds and the ``after`` cursor."""

    __slots__ = ("after", "posts")

    def __init__(self, posts: list[dict[str, Any]], after: str | None) -> None:
        self.posts = posts
        self.after = after


def parse_listing(body: Any) -> Page | None:
    """The t3 children and ``after`` of a Listing, or None when the body is not a Listing."""
    doc = as_dict(body)
    if doc.get("kind") != "Listing":
        return None
    data = as_dict(doc.get("data"))
    posts = []
    for child in as_list(data.get("children")):
        child = as_dict(child)
        post = as_dict(child.get("data"))
        if child.get("kind") == "t3" and isinstance(post.get("id"), str) and post["id"]:
            posts.append(post)
    after = data.get("after")
    return Page(posts, after if isinstance(after, str) and after else None)


def post_item(data: dict[str, Any], crawled_at: datetime) -> PostItem | None:
    """A :class:`PostItem` from a t3 data dict, or None when it lacks an id or subreddit."""
    post_id = clean_text(data.get("id"))
    subreddit = clean_text(data.get("subreddit"))
    if not post_id or not subreddit:
        return None
    edited, edited_utc = parse_edited(data.get("edited"))
    return PostItem(
        id=post_id,
        subreddit=subreddit,
        author=clean_text(data.get("author")),
        title=clean_text(data.get("title")) or "",
        created_utc=to_utc(data.get("created_utc")),
        crawled_at=crawled_at,
        subreddit_id=clean_text(data.get("subreddit_id")),
        subreddit_type=clean_text(data.get("subreddit_type")),
        author_fullname=clean_text(data.get("author_fullname")),
        selftext=clean_text(data.get("selftext")) or "",
        url=clean_text(data.get("url")),
        permalink=clean_text(data.get("permalink")),
        domain=clean_text(data.get("domain")),
        score=as_int(data.get("score")),
        upvote_ratio=as_float(data.get("upvote_ratio")),
        num_comments=as_int(data.get("num_comments")),
        edited=edited,
        edited_utc=edited_utc,
        over_18=as_bool(data.get("over_18")),
        spoiler=as_bool(data.get("spoiler")),
        stickied=as_bool(data.get("stickied")),
        locked=as_bool(data.get("locked")),
        is_self=as_bool(data.get("is_self")),
        link_flair_text=clean_text(data.get("link_flair_text")),
    )


def merge_posts(listings: dict[str, list[dict[str, Any]]], crawled_at: datetime) -> list[PostItem]:
    """One item per distinct post over several listings, each with every (listing, rank) it had."""
    items: dict[str, PostItem] = {}
    for listing, posts in listings.items():
        for rank, data in enumerate(posts, start=1):
            post_id = clean_text(data.get("id"))
            item = items.get(post_id) if post_id else None
            if item is None:
                item = post_item(data, crawled_at)
                if item is None:
                    continue
                items[item.id] = item
            item.listings.append(ListingRank(listing=listing, rank=rank))
    return list(items.values())


def _avg(values: list[float]) -> float | None:
    try:
        return statistics.fmean(values) if values else None
    except OverflowError:
        return None


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def listing_stats(listings: dict[str, list[dict[str, Any]]]) -> ListingStats:
    """Post counts of each listing, and score/comment averages and medians of the top-year one."""
    top_year = listings.get("top_year", [])
    scores = [v for v in (as_float(p.get("score")) for p in top_year) if v is not None]
    comments = [v for v in (as_float(p.get("num_comments")) for p in top_year) if v is not None]
    return ListingStats(
        hot_count=len(listings.get("hot", [])),
        top_week_count=len(listings.get("top_week", [])),
        top_year_count=len(top_year),
        top_year_avg_score=_avg(scores),
        top_year_median_score=_median(scores),
        top_year_avg_comments=_avg(comments),
        top_year_median_comments=_median(comments),
    )


def post_subreddit(data: dict[str, Any]) -> str | None:
    """The community a post was made in, or None for profile posts and unusable names."""
    name = data.get("subreddit")
    if not is_valid_subreddit(name) or data.get("subreddit_type") == "user":
        return None
    if str(name).lower().startswith("u_"):
        return None
    return str(name)
