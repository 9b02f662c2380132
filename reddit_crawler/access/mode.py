"""Which way the crawler talks to Reddit: ``oauth`` or ``public``.

Settings read: ``REDDIT_AUTH`` (``oauth`` | ``public``; default ``oauth`` when a client id and
secret are configured, else ``public``), ``REDDIT_CLIENT_ID`` and ``REDDIT_CLIENT_SECRET``
(settings or environment variables of those names), ``REDDIT_BASE_URL``,
``REDDIT_OAUTH_URL``, ``REDDIT_AUTH_URL``, ``REDDIT_USER_AGENT``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from scrapy.settings import BaseSettings

from reddit_crawler.errors import ConfigError

MODES = ("oauth", "public")


@dataclass(frozen=True)
class Access:
    mode: str
    api_url: str
    auth_url: str
    user_agent: str
    client_id: str = ""
    client_secret: str = field(default="", repr=False)


def _credential(settings: BaseSettings, name: str) -> str:
    return str(settings.get(name) or os.environ.get(name, "")).strip()


def access_from_settings(settings: BaseSettings) -> Access:
    """Resolve the mode and URLs; raises :class:`ConfigError` for an impossible combination."""
    client_id = _credential(settings, "REDDIT_CLIENT_ID")
    secret = _credential(settings, "REDDIT_CLIENT_SECRET")
    mode = str(settings.get("REDDIT_AUTH") or ("oauth" if client_id and secret else "public"))
    mode = mode.strip().lower()
    if mode not in MODES:
        raise ConfigError(f"REDDIT_AUTH must be 'oauth' or 'public', got {mode!r}")
    if mode == "oauth" and not (client_id and secret):
        missing = "REDDIT_CLIENT_ID" if not client_id else "REDDIT_CLIENT_SECRET"
        raise ConfigError(f"REDDIT_AUTH=oauth needs {missing} (setting or environment variable)")
    base = str(settings.get("REDDIT_BASE_URL") or "https://www.reddit.com").rstrip("/")
    oauth = str(settings.get("REDDIT_OAUTH_URL") or "https://oauth.reddit.com").rstrip("/")
    auth = str(settings.get("REDDIT_AUTH_URL") or base).rstrip("/")
    return Access(
        mode=mode,
        api_url=oauth if mode == "oauth" else base,
        auth_url=auth,
        user_agent=str(settings.get("REDDIT_USER_AGENT") or ""),
        client_id=client_id,
        client_secret=secret,
    )
