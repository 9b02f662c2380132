"""Parser of a user's about document (t2). Reads no settings."""

from __future__ import annotations

from typing import Any

from reddit_crawler.parsers.common import as_bool, as_dict, as_int, clean_text, to_utc


def parse_user_about(body: Any) -> dict[str, Any] | None:
    """Fields of a t2 document (``status`` ``ok`` or ``suspended``), or None when it is not a t2."""
    doc = as_dict(body)
    data = as_dict(doc.get("data"))
    name = clean_text(data.get("name"))
    if doc.get("kind") != "t2" or not name:
        return None
    if data.get("is_suspended") is True:
        return {"name": name, "status": "suspended"}
    return {
        "name": name,
        "status": "ok",
        "id": clean_text(data.get("id")),
        "created_utc": to_utc(data.get("created_utc")),
        "link_karma": as_int(data.get("link_karma")),
        "comment_karma": as_int(data.get("comment_karma")),
        "total_karma": as_int(data.get("total_karma")),
        "is_gold": as_bool(data.get("is_gold")),
        "is_mod": as_bool(data.get("is_mod")),
        "verified": as_bool(data.get("verified")),
        "has_verified_email": as_bool(data.get("has_verified_email")),
        "is_employee": as_bool(data.get("is_employee")),
    }
