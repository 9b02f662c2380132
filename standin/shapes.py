"""JSON bodies in Reddit's real response shapes.

Shapes (key sets, key order, envelope layout) are modelled on real recordings in
``/work/shared/reference/reddit-samples/`` (from the PRAW / Async PRAW / prawcore test cassettes,
BSD-2-Clause); no sample data is copied, only the shapes:

- t5 subreddit about: ``01-subreddit-about.json``;
- rules: ``02-subreddit-rules.json``;
- Listing envelope and t3 links: ``03-subreddit-hot.json`` (2026 key set, ``geo_filter``),
  ``04-subreddit-top-all.json`` (``[deleted]`` author without the ``author_*`` keys, float
  ``edited``, empty ``thumbnail``), ``06-user-submitted.json`` (submitted listing);
- t2 user about with its embedded ``u_<name>`` profile subreddit: ``05-user-about.json``;
- error bodies: ``09-quarantined-403.json`` (quarantine 403), ``09-users-not-found-404.json``
  (``{"message", "error"}``); the 302 HTML body: ``08-redirect-302.json``.

Bodies are serialized like Reddit's (``", "`` / ``": "`` separators, UTF-8, control characters
such as NUL escaped as ``\\u0000``). Per-post bytes are cached on the post so listings are
assembled by joining bytes; :func:`listing_bytes` equals ``dumps(listing(...))`` exactly.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from standin.world import DELETED, NOW, REMOVED, Post, Subreddit, User

JSON_CONTENT_TYPE: Final[str] = "application/json; charset=UTF-8"
HTML_CONTENT_TYPE: Final[str] = "text/html; charset=UTF-8"

_SLUG_RE: Final = re.compile(r"[^a-z0-9]+")
_ARCHIVE_AGE: Final[int] = 180 * 86400


def dumps(obj: Any) -> bytes:
    """Serialize like Reddit: ``", "``/``": "`` separators, raw UTF-8, escaped controls."""
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8")


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def md_html(text: str) -> str | None:
    """A tiny markdown renderer producing Reddit's ``*_html`` wrapper (``None`` if empty)."""
    if not text:
        return None
    blocks: list[str] = []
    for para in text.split("\n\n"):
        lines = para.split("\n")
        if lines[0].startswith("# "):
            blocks.append(f"<h1>{_escape(lines[0][2:])}</h1>")
        elif all(line.startswith("* ") for line in lines):
            items = "\n".join(f"<li>{_escape(line[2:])}</li>" for line in lines)
            blocks.append(f"<ul>\n{items}\n</ul>")
        else:
            blocks.append(f"<p>{_escape(para)}</p>")
    return '<!-- SC_OFF --><div class="md">' + "\n\n".join(blocks) + "\n</div><!-- SC_ON -->"


def _slug(title: str) -> str:
    words = _SLUG_RE.sub(" ", title.lower()).split()
    slug = ""
    for word in words:
        cand = f"{slug}_{word}" if slug else word
        if len(cand) > 50:
            break
        slug = cand
    return slug or "_"


# ------------------------------------------------------------------------------------------
# t5 subreddit about (01-subreddit-about.json)
# ------------------------------------------------------------------------------------------


def subreddit_about(sub: Subreddit) -> dict[str, Any]:
    """``/r/<name>/about.json`` body (a public viewer, not a moderator)."""
    data: dict[str, Any] = {
        "user_flair_background_color": None,
        "submit_text_html": md_html("Please read the rules before posting."),
        "restrict_posting": True,
        "user_is_banned": False,
        "free_form_reports": True,
        "wiki_enabled": True,
        "user_is_muted": False,
        "user_can_flair_in_sr": None,
        "display_name": sub.name,
        "header_img": None,
        "title": sub.title,
        "allow_galleries": True,
        "icon_size": [256, 256] if sub.icon_img else None,
        "primary_color": sub.primary_color,
        "active_user_count": sub.active_user_count,
        "icon_img": sub.icon_img,
        "display_name_prefixed": f"r/{sub.name}",
        "accounts_active": sub.active_user_count,
        "public_traffic": False,
        "subscribers": sub.subscribers,
        "user_flair_richtext": [],
        "videostream_links_count": 0,
        "name": f"t5_{sub.id}",
        "quarantine": sub.state == "quarantined",
        "hide_ads": False,
        "prediction_leaderboard_entry_type": "IN_FEED",
        "emojis_enabled": False,
        "advertiser_category": "",
        "public_description": sub.public_description,
        "comment_score_hide_mins": 0,
        "allow_predictions": False,
        "user_has_favorited": False,
        "user_flair_template_id": None,
        "community_icon": sub.community_icon,
        "banner_background_image": "",
        "original_content_tag_enabled": False,
        "community_reviewed": True,
        "submit_text": "Please read the rules before posting.",
        "description_html": md_html(sub.description),
        "spoilers_enabled": True,
        "comment_contribution_settings": {"allowed_media_types": None},
        "allow_talks": False,
        "header_size": None,
        "user_flair_position": "right",
        "all_original_content": False,
        "collections_enabled": True,
        "is_enrolled_in_new_modmail": None,
        "key_color": "",
        "event_posts_enabled": True,
        "can_assign_user_flair": False,
        "created": sub.created_utc,
        "wls": 6,
        "show_media_preview": True,
        "submission_type": sub.submission_type,
        "user_is_subscriber": False,
        "allowed_media_in_comments": [],
        "allow_videogifs": True,
        "should_archive_posts": True,
        "user_flair_type": "text",
        "allow_polls": True,
        "collapse_deleted_comments": False,
        "coins": 0,
        "emojis_custom_size": None,
        "public_description_html": md_html(sub.public_description),
        "allow_videos": True,
        "is_crosspostable_subreddit": True,
        "notification_level": None,
        "should_show_media_in_comments_setting": True,
        "can_assign_link_flair": bool(sub.flairs),
        "has_menu_widget": False,
        "accounts_active_is_fuzzed": False,
        "allow_prediction_contributors": False,
        "submit_text_label": "",
        "link_flair_position": "left" if sub.flairs else "",
        "user_sr_flair_enabled": None,
        "user_flair_enabled_in_sr": False,
        "allow_chat_post_creation": False,
        "allow_discovery": True,
        "accept_followers": True,
        "user_sr_theme_enabled": True,
        "link_flair_enabled": bool(sub.flairs),
        "disable_contributor_requests": False,
        "subreddit_type": sub.sub_type,
        "suggested_comment_sort": None,
        "banner_img": "",
        "user_flair_text": None,
        "banner_background_color": "",
        "show_media": True,
        "id": sub.id,
        "user_is_moderator": False,
        "over18": sub.over18,
        "header_title": "",
        "description": sub.description,
        "is_chat_post_feature_enabled": True,
        "submit_link_label": "",
        "user_flair_text_color": None,
        "restrict_commenting": False,
        "user_flair_css_class": None,
        "allow_images": True,
        "lang": sub.lang,
        "whitelist_status": "all_ads",
        "url": f"/r/{sub.name}/",
        "created_utc": sub.created_utc,
        "banner_size": None,
        "mobile_banner_image": "",
        "user_is_contributor": False,
        "allow_predictions_tournament": False,
    }
    return {"kind": "t5", "data": data}


# ------------------------------------------------------------------------------------------
# Rules (02-subreddit-rules.json)
# ------------------------------------------------------------------------------------------

SITE_RULES: Final[list[str]] = [
    "Spam",
    "Personal and confidential information",
    "Threatening, harassing, or inciting violence",
]


def _site_rules_flow() -> list[dict[str, Any]]:
    return [
        {"reasonTextToShow": "This is spam", "reasonText": "This is spam"},
        {"reasonTextToShow": "This is misinformation", "reasonText": "This is misinformation"},
        {
            "nextStepHeader": "In what way?",
            "reasonTextToShow": "This is abusive or harassing",
            "nextStepReasons": [
                {
                    "reasonTextToShow": "It's targeted harassment",
                    "reasonText": "It's targeted harassment",
                },
                {
                    "reasonTextToShow": "It's rude, vulgar or offensive",
                    "reasonText": "It's rude, vulgar or offensive",
                },
            ],
            "reasonText": "",
        },
    ]


def subreddit_rules(sub: Subreddit) -> dict[str, Any]:
    """``/r/<name>/about/rules.json`` body."""
    rules = [
        {
            "kind": r.kind,
            "description": r.description,
            "short_name": r.short_name,
            "violation_reason": r.violation_reason,
            "created_utc": r.created_utc,
            "priority": r.priority,
            "description_html": md_html(r.description),
        }
        for r in sub.rules
    ]
    return {"rules": rules, "site_rules": list(SITE_RULES), "site_rules_flow": _site_rules_flow()}


# ------------------------------------------------------------------------------------------
# t3 links (03-subreddit-hot.json, 04-subreddit-top-all.json, 06-user-submitted.json)
# ------------------------------------------------------------------------------------------

_DELETED_AUTHOR_ABSENT: Final[tuple[str, ...]] = (
    "author_fullname",
    "author_premium",
    "author_flair_type",
    "author_flair_richtext",
    "author_patreon_flair",
)


def link(post: Post) -> dict[str, Any]:
    """A ``{"kind": "t3", "data": {...}}`` child."""
    sub = post.sub
    user = post.user
    if sub is None:
        assert user is not None
        sub_name = user.profile_name
        prefixed = f"u/{user.name}"
        sub_id = f"t5_{user.profile_id}"
        sub_type = "user"
        subscribers = 0
        quarantine = False
        wls: int | None = None
    else:
        sub_name = sub.name
        prefixed = f"r/{sub.name}"
        sub_id = f"t5_{sub.id}"
        sub_type = sub.sub_type
        subscribers = sub.subscribers
        quarantine = sub.state == "quarantined"
        wls = 6 if sub.state == "ok" and sub.sub_type != "private" else None
    deleted = post.author in (DELETED, REMOVED)
    permalink = f"/r/{sub_name}/comments/{post.id}/{_slug(post.title)}/"
    url = post.url or f"https://www.reddit.com{permalink}"
    flair = post.flair
    has_thumb = post.thumbnail.startswith("https://")
    removed_by_category = None
    if post.author == DELETED:
        removed_by_category = "deleted"
    elif post.author == REMOVED:
        removed_by_category = "moderator"
    d: dict[str, Any] = {
        "approved_at_utc": None,
        "subreddit": sub_name,
        "selftext": post.selftext,
        "author_fullname": f"t2_{user.id}" if user is not None else None,
        "saved": False,
        "mod_reason_title": None,
        "gilded": 0,
        "clicked": False,
        "title": post.title,
        "link_flair_richtext": [{"e": "text", "t": flair}] if flair else [],
        "subreddit_name_prefixed": prefixed,
        "hidden": False,
        "pwls": wls,
        "link_flair_css_class": flair.lower() if flair else None,
        "downs": 0,
        "thumbnail_height": 140 if has_thumb else None,
        "top_awarded_type": None,
        "hide_score": False,
        "name": post.fullname,
        "quarantine": quarantine,
        "link_flair_text_color": "dark",
        "upvote_ratio": post.upvote_ratio,
        "author_flair_background_color": None,
        "subreddit_type": sub_type,
        "ups": post.score,
        "total_awards_received": 0,
        "media_embed": {},
        "thumbnail_width": 140 if has_thumb else None,
        "author_flair_template_id": None,
        "is_original_content": False,
        "user_reports": [],
        "secure_media": None,
        "is_reddit_media_domain": post.kind == "image",
        "is_meta": False,
        "category": None,
        "secure_media_embed": {},
        "link_flair_text": flair,
        "can_mod_post": False,
        "score": post.score,
        "approved_by": None,
        "is_created_from_ads_ui": False,
        "author_premium": bool(user is not None and user.premium),
        "thumbnail": post.thumbnail,
        "edited": post.edited,
        "author_flair_css_class": None,
        "author_flair_richtext": [],
        "gildings": {},
    }
    if post.kind == "image":
        d["post_hint"] = "image"
    elif post.kind == "link" and has_thumb:
        d["post_hint"] = "link"
    d.update(
        {
            "content_categories": None,
            "is_self": post.kind == "self",
            "mod_note": None,
            "created": post.created_utc,
            "link_flair_type": "richtext" if flair else "text",
            "wls": wls,
            "removed_by_category": removed_by_category,
            "banned_by": None,
            "author_flair_type": "text",
            "domain": post.domain,
            "allow_live_comments": False,
            "selftext_html": md_html(post.selftext),
            "likes": None,
            "suggested_sort": None,
            "banned_at_utc": None,
        }
    )
    if post.kind != "self":
        d["url_overridden_by_dest"] = url
    d.update(
        {
            "view_count": None,
            "archived": post.created_utc < NOW - _ARCHIVE_AGE,
            "no_follow": post.score < 3,
            "is_crosspostable": not deleted,
            "pinned": False,
            "over_18": post.over_18,
        }
    )
    if post.kind == "image":
        src = f"https://preview.redd.it/{post.id}.jpeg"
        d["preview"] = {
            "images": [
                {
                    "source": {
                        "url": f"{src}?auto=webp&s={post.num:x}",
                        "width": 1080,
                        "height": 1350,
                    },
                    "resolutions": [
                        {
                            "url": f"{src}?width={w}&crop=smart&auto=webp&s={post.num:x}",
                            "width": w,
                            "height": w * 5 // 4,
                        }
                        for w in (108, 216, 320, 640)
                    ],
                    "variants": {},
                    "id": f"p{post.id}",
                }
            ],
            "enabled": True,
        }
    d.update(
        {
            "all_awardings": [],
            "awarders": [],
            "media_only": False,
        }
    )
    if flair:
        d["link_flair_template_id"] = f"f1a1{post.sub.id if post.sub else 'x'}-{flair.lower()}"
    d.update(
        {
            "can_gild": False,
            "spoiler": post.spoiler,
            "locked": post.locked,
            "author_flair_text": None,
            "treatment_tags": [],
            "visited": False,
            "removed_by": None,
            "num_reports": None,
            "distinguished": "moderator" if post.stickied else None,
            "subreddit_id": sub_id,
            "author_is_blocked": False,
            "mod_reason_by": None,
            "removal_reason": None,
            "link_flair_background_color": "#dadada" if flair else "",
            "id": post.id,
            "is_robot_indexable": not deleted,
            "report_reasons": None,
            "author": post.author,
            "discussion_type": None,
            "num_comments": post.num_comments,
            "send_replies": True,
            "contest_mode": False,
            "mod_reports": [],
            "author_patreon_flair": False,
            "author_flair_text_color": None,
            "permalink": permalink,
            "stickied": post.stickied,
            "url": url,
            "subreddit_subscribers": subscribers,
            "created_utc": post.created_utc,
            "num_crossposts": post.num_crossposts,
            "media": None,
            "is_video": False,
        }
    )
    if deleted:
        for key in _DELETED_AUTHOR_ABSENT:
            del d[key]
    return {"kind": "t3", "data": d}


def link_bytes(post: Post) -> bytes:
    """Serialized :func:`link` child, cached on the post."""
    cached = post.cached_json
    if cached is None:
        cached = post.cached_json = dumps(link(post))
    return cached


def listing(children: list[dict[str, Any]], after: str | None) -> dict[str, Any]:
    """A Listing envelope (``before`` stays null, as without ``count=``)."""
    return {
        "kind": "Listing",
        "data": {
            "after": after,
            "dist": len(children),
            "modhash": None,
            "geo_filter": "",
            "children": children,
            "before": None,
        },
    }


def listing_bytes(children: list[bytes], after: str | None) -> bytes:
    """Byte-identical to ``dumps(listing(children_objects, after))``, built by joining."""
    head = b'{"kind": "Listing", "data": {"after": ' + dumps(after)
    head += b', "dist": ' + str(len(children)).encode() + b', "modhash": null'
    head += b', "geo_filter": "", "children": ['
    # One join into one buffer: concatenating large bytes objects is ~15x slower.
    parts = [head]
    for i, child in enumerate(children):
        if i:
            parts.append(b", ")
        parts.append(child)
    parts.append(b'], "before": null}}')
    return b"".join(parts)


# ------------------------------------------------------------------------------------------
# t2 user about (05-user-about.json)
# ------------------------------------------------------------------------------------------


def _profile_subreddit(user: User) -> dict[str, Any]:
    return {
        "default_set": True,
        "user_is_contributor": False,
        "banner_img": "",
        "allowed_media_in_comments": [],
        "user_is_banned": False,
        "free_form_reports": True,
        "community_icon": None,
        "show_media": True,
        "icon_color": "#94B3FF",
        "user_is_muted": None,
        "display_name": user.profile_name,
        "header_img": None,
        "title": user.profile_title,
        "previous_names": [],
        "over_18": False,
        "icon_size": [256, 256],
        "primary_color": "",
        "icon_img": user.icon_img,
        "description": "",
        "submit_link_label": "",
        "header_size": None,
        "restrict_posting": True,
        "restrict_commenting": False,
        "subscribers": 0,
        "submit_text_label": "",
        "is_default_icon": True,
        "link_flair_position": "",
        "display_name_prefixed": f"u/{user.name}",
        "key_color": "",
        "name": f"t5_{user.profile_id}",
        "is_default_banner": True,
        "url": f"/user/{user.name}/",
        "quarantine": False,
        "banner_size": None,
        "user_is_moderator": False,
        "accept_followers": True,
        "public_description": "",
        "link_flair_enabled": False,
        "disable_contributor_requests": False,
        "subreddit_type": "user",
        "user_is_subscriber": False,
    }


def user_about(user: User) -> dict[str, Any]:
    """``/user/<name>/about.json`` body of a normal account (public view)."""
    data: dict[str, Any] = {
        "is_employee": False,
        "is_friend": False,
        "subreddit": _profile_subreddit(user),
        "snoovatar_size": None,
        "awardee_karma": user.awardee_karma,
        "id": user.id,
        "verified": user.verified,
        "is_gold": user.is_gold,
        "is_mod": user.is_mod,
        "awarder_karma": user.awarder_karma,
        "has_verified_email": user.has_verified_email,
        "icon_img": user.icon_img,
        "hide_from_robots": False,
        "link_karma": user.link_karma,
        "pref_show_snoovatar": False,
        "is_blocked": False,
        "total_karma": user.link_karma
        + user.comment_karma
        + user.awardee_karma
        + user.awarder_karma,
        "accept_chats": True,
        "name": user.name,
        "created": user.created_utc,
        "created_utc": user.created_utc,
        "snoovatar_img": "",
        "comment_karma": user.comment_karma,
        "accept_followers": True,
        "has_subscribed": True,
        "accept_pms": True,
    }
    return {"kind": "t2", "data": data}


def suspended_user_about(user: User) -> dict[str, Any]:
    """``/user/<name>/about.json`` of a suspended account: only a few keys, as Reddit sends."""
    return {
        "kind": "t2",
        "data": {
            "is_blocked": False,
            "is_suspended": True,
            "awardee_karma": 0,
            "awarder_karma": 0,
            "total_karma": 0,
            "name": user.name,
        },
    }


# ------------------------------------------------------------------------------------------
# Errors and redirects (09-*.json, 08-redirect-302.json)
# ------------------------------------------------------------------------------------------


def error(status: int, reason: str | None = None) -> dict[str, Any]:
    """``{"reason", "message", "error"}`` (or without ``reason``)."""
    message = {403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}.get(status, "Error")
    body: dict[str, Any] = {}
    if reason is not None:
        body["reason"] = reason
    body["message"] = message
    body["error"] = status
    return body


def quarantined(sub: Subreddit) -> dict[str, Any]:
    """403 body of a quarantined subreddit (same key order as the recording)."""
    text = (
        f"r/{sub.name} is quarantined: it may contain content that is offensive or upsetting. "
        "See the [content policy](https://www.redditinc.com/policies/content-policy)."
    )
    html = md_html(
        f"r/{sub.name} is quarantined: it may contain content that is offensive or upsetting. "
        "See the CONTENT_POLICY_LINK."
    )
    assert html is not None
    html = html.replace(
        "CONTENT_POLICY_LINK",
        '<a href="https://www.redditinc.com/policies/content-policy">content policy</a>',
    )
    return {
        "reason": "quarantined",
        "quarantine_message_html": html,
        "message": "Forbidden",
        "quarantine_message": text,
        "error": 403,
    }


def redirect_html(location: str) -> str:
    """The small HTML body Reddit sends with a 302."""
    loc = _escape(location)
    return (
        "<html>\n <head>\n  <title>302 Found</title>\n </head>\n <body>\n"
        "  <h1>302 Found</h1>\n"
        f'  The resource was found at <a href="{loc}">{loc}</a>;\n'
        "you should be redirected automatically.\n\n\n </body>\n</html>"
    )
