"""Where the database is (DSN resolution) and how to show it safely (password masking).

Reads the ``POSTGRES_DSN`` setting, then the ``DATABASE_URL`` environment variable;
the default is ``postgresql:///reddit`` (local socket, database ``reddit``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_DSN = "postgresql:///reddit"
MASK = "***"

_URL_RE = re.compile(r"^(?P<scheme>postgres(?:ql)?://)(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_KV_PASSWORD_RE = re.compile(r"(\bpassword\s*=\s*)('(?:\\.|[^'\\])*'|\S+)", re.IGNORECASE)
_QUERY_PASSWORD_RE = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)
# user:secret@ inside any URL (proxy URLs, DSNs) embedded in free text.
_USERINFO_RE = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@", re.IGNORECASE)


def resolve_dsn(
    settings: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """The DSN to use: ``POSTGRES_DSN`` setting, else ``$DATABASE_URL``, else the default."""
    environ = os.environ if environ is None else environ
    from_settings = (settings or {}).get("POSTGRES_DSN")
    return str(from_settings or environ.get("DATABASE_URL") or DEFAULT_DSN).strip()


def mask_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ``***`` (URL or ``key=value`` form)."""
    match = _URL_RE.match(dsn)
    if not match:
        return _KV_PASSWORD_RE.sub(lambda m: m.group(1) + MASK, dsn)
    rest = match.group("rest")
    authority, sep, query = rest.partition("?")
    at = authority.rfind("@")
    if at >= 0 and ":" in authority[:at]:
        user = authority[:at].split(":", 1)[0]
        authority = f"{user}:{MASK}{authority[at:]}"
    masked = match.group("scheme") + authority + sep + query
    return _QUERY_PASSWORD_RE.sub(lambda m: m.group(1) + MASK, masked)


def scrub(text: str, dsn: str | None = None) -> str:
    """``text`` with URL passwords masked and the DSN's own password (if any) removed."""
    text = _USERINFO_RE.sub(lambda m: m.group(1) + MASK + "@", text)
    password = dsn_password(dsn) if dsn else None
    if password:
        text = text.replace(password, MASK)
    return text


def one_line(text: str) -> str:
    """Collapse a (libpq, multi-line) message into one line."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def dsn_password(dsn: str) -> str | None:
    """The password written in the DSN, or None (also None for an unparsable DSN)."""
    try:
        return conninfo_to_dict(dsn).get("password") or None
    except Exception:
        return None


def dsn_dbname(dsn: str) -> str | None:
    """The database name written in the DSN, or None when libpq would pick a default."""
    return conninfo_to_dict(dsn).get("dbname") or None


def with_dbname(dsn: str, dbname: str) -> str:
    """The same connection parameters, for another database (a ``key=value`` DSN)."""
    return make_conninfo(dsn, dbname=dbname)
