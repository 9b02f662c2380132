"""What to fetch: the Reddit paths of each part of a subreddit or user unit.

A :class:`Fetch` is a plain, picklable description of one request; the spider turns
it into a Scrapy request against ``REDDIT_BASE_URL``. Reads no settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

PAGE_LIMIT = 100
SUBREDDIT_PARTS = ("about", "rules", "hot", "top_week", "top_year")
LISTING_PARTS = ("hot", "top_week", "top_year", "submitted")

_PATHS = {
    "about": ("/r/{name}/about.json", {}),
    "rules": ("/r/{name}/about/rules.json", {}),
    "hot": ("/r/{name}/hot.json", {}),
    "top_week": ("/r/{name}/top.json", {"t": "week"}),
    "top_year": ("/r/{name}/top.json", {"t": "year"}),
    "user_about": ("/user/{name}/about.json", {}),
    "submitted": ("/user/{name}/submitted.json", {}),
}


@dataclass(frozen=True)
class Fetch:
    """One request of a unit: ``unit`` is ``sub`` or ``user``; ``page`` counts from 1."""

    unit: str
    name: str
    part: str
    limit: int = 0
    after: str | None = None
    page: int = 1

    def path(self) -> str:
        template, params = _PATHS[self.part]
        query = dict(params)
        if self.part in LISTING_PARTS:
            query["limit"] = str(self.limit)
            if self.after:
                query["after"] = self.after
        query["raw_json"] = "1"
        return template.format(name=self.name) + "?" + urlencode(query)

    def as_meta(self) -> dict[str, object]:
        return {
            "unit": self.unit,
            "name": self.name,
            "part": self.part,
            "limit": self.limit,
            "after": self.after,
            "page": self.page,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, object]) -> Fetch:
        return cls(**meta)  # type: ignore[arg-type]


def first_page(unit: str, name: str, part: str, size: int) -> Fetch:
    return Fetch(unit, name, part, limit=min(size, PAGE_LIMIT) if part in LISTING_PARTS else 0)


def next_page(fetch: Fetch, size: int, collected: int, after: str | None) -> Fetch | None:
    """The following page of a listing, or None when it is complete or exhausted."""
    remaining = size - collected
    if after is None or remaining <= 0:
        return None
    limit = min(remaining, PAGE_LIMIT)
    return Fetch(fetch.unit, fetch.name, fetch.part, limit=limit, after=after, page=fetch.page + 1)
