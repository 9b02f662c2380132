"""Parsers of a subreddit's about (t5) and rules documents, and of its error answers.

Reads no settings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from reddit_crawler.items import RuleItem
from reddit_crawler.parsers.common import as_bool, as_dict, as_int, clean_text, to_utc

FORBIDDEN_REASONS = {"private", "quarantined", "gated"}


def is_search_redirect(location: str) -> bool:
    """Whether a redirect goes to Reddit's subreddit search: the answer for a name that does
    not exist (``/subreddits/search.json?q=<name>``), unlike a redirect to the login page or
    the over-18 interstitial, which are not states."""
    return (
        urlsplit(location)
        .path.rstrip("/")
        .endswith(("/subreddits/search", "/subreddits/search.json"))
    )


def subreddit_state(status: int, body: Any, location: str = "") -> str | None:
    """The state an about/listing answer tells, or None when it is not a known state.

    403 ``{"reason": "private"|"quarantined"|"gated"}``, 404 ``{"reason": "banned"}`` and a
    302 to ``/subreddits/search`` (a name that does not exist) are states, not errors.
    """
    if status in (301, 302, 303, 307) and is_search_redirect(location):
        return "nonexistent"
    reason = as_dict(body).get("reason")
    if status == 403 and isinstance(reason, str) and reason in FORBIDDEN_REASONS:
        return str(reason)
    if status == 404 and reason == "banned":
        return "banned"
    if status == 404:
        return "nonexistent"
    return None


def parse_about(body: Any) -> dict[str, Any] | None:
    """Fields of a t5 about document, or None when the body is not a t5."""
    doc = as_dict(body)
    data = as_dict(doc.get("data"))
    name = clean_text(data.get("display_name"))
    if doc.get("kind") != "t5" or not name:
        return None
    active = data.get("active_user_count")
    if as_int(active) is None:
        active = data.get("accounts_active")
    return {
        "name": name,
        "id": clean_text(data.get("id")),
        "title": clean_text(data.get("title")),
        "public_description": clean_text(data.get("public_description")),
        "description": clean_text(data.get("description")),
        "subscribers": as_int(data.get("subscribers")),
        "active_users": as_int(active),
        "created_utc": to_utc(data.get("created_utc")),
        "over18": as_bool(data.get("over18")),
        "subreddit_type": clean_text(data.get("subreddit_type")),
        "lang": clean_text(data.get("lang")),
        "url": clean_text(data.get("url")),
    }


def _rule(raw: Any) -> RuleItem | None:
    data = as_dict(raw)
    if not data:
        return None
    created: datetime | None = to_utc(data.get("created_utc"))
    return RuleItem(
        priority=as_int(data.get("priority")),
        short_name=clean_text(data.get("short_name")),
        kind=clean_text(data.get("kind")),
        description=clean_text(data.get("description")),
        violation_reason=clean_text(data.get("violation_reason")),
        created_utc=created,
    )


def parse_rules(body: Any) -> list[RuleItem] | None:
    """The subreddit's own rules (not ``site_rules``), or None when the body has no rule list."""
    rules = as_dict(body).get("rules")
    if not isinstance(rules, list):
        return None
    return [rule for rule in map(_rule, rules) if rule is not None]
