"""Validation and normalisation of subreddit and user names.

Accepts the forms people paste (``python``, ``r/python``, ``/r/python/``,
``https://www.reddit.com/r/python/``) and rejects anything that is not a valid
subreddit name before it can become a URL. Reads no settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

SUBREDDIT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{1,20}")
USER_RE = re.compile(r"[A-Za-z0-9_-]{1,20}")
ABSENT_AUTHORS = frozenset({"[deleted]", "[removed]"})


class InvalidName(ValueError):
    """A subreddit or user name that cannot be crawled."""


def normalize_subreddit(raw: str) -> str:
    """Strip URL and ``r/`` decoration from ``raw`` and validate what remains."""
    text = raw.strip()
    if "://" in text:
        text = urlsplit(text).path
    text = text.strip("/")
    if text[:2].lower() == "r/":
        text = text[2:].strip("/")
    if not SUBREDDIT_RE.fullmatch(text):
        raise InvalidName(f"invalid subreddit name: {raw!r}")
    return text


def dedupe_names(names: Iterable[str]) -> list[str]:
    """Keep the first of each name, comparing case-insensitively."""
    seen: set[str] = set()
    kept: list[str] = []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            kept.append(name)
    return kept


def parse_subreddit_list(raw: str) -> list[str]:
    """Normalise a comma-separated list of subreddits (empty items are skipped)."""
    return [normalize_subreddit(part) for part in raw.split(",") if part.strip()]


def parse_subreddit_lines(text: str) -> list[str]:
    """Normalise a file body: one subreddit per line, ``#`` starts a comment."""
    names = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            names.append(normalize_subreddit(entry))
    return names


def is_valid_subreddit(name: object) -> bool:
    return isinstance(name, str) and bool(SUBREDDIT_RE.fullmatch(name))


def is_profile_subreddit(name: str, subreddit_type: object = None) -> bool:
    """Profile pseudo-subreddits (``u_<name>``) are not communities to crawl."""
    return name.lower().startswith("u_") or subreddit_type == "user"


def is_crawlable_user(name: object) -> bool:
    """A real author name that is safe to put in a URL."""
    return isinstance(name, str) and name not in ABSENT_AUTHORS and bool(USER_RE.fullmatch(name))
