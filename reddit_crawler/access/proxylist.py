"""Proxy entries: parsing ``PROXY_LIST`` / ``PROXY_FILE`` and masking passwords.

Entries are ``user:pass@host:port`` or ``host:port``, optionally prefixed ``http://``;
separated by commas or newlines; ``#`` starts a comment in a file. Settings read (by
:func:`proxies_from_settings`): ``PROXY_LIST`` (also the environment variable of that name)
and ``PROXY_FILE``.
"""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from scrapy.settings import BaseSettings

from reddit_crawler.errors import ConfigError

_ENTRY = re.compile(
    r"(?:(?P<user>[^:@/\s]+):(?P<password>[^@\s]*)@)?(?P<host>[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\])"
    r":(?P<port>\d{1,5})"
)


@dataclass(frozen=True)
class ProxyEntry:
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """``host:port``: the proxy's name in stats, logs, download slots and the database."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The proxy URL without credentials."""
        return f"http://{self.key}"

    def auth_header(self) -> bytes | None:
        if self.user is None:
            return None
        raw = f"{self.user}:{self.password or ''}".encode()
        return b"Basic " + base64.b64encode(raw)

    def __str__(self) -> str:
        return self.key


def mask_entry(entry: str) -> str:
    """An entry as typed, with whatever stands between ``:`` and ``@`` replaced by ``***``."""
    return re.sub(r"(^|//)([^:@/\s]*):.*@", r"\1\2:***@", entry.strip())


def parse_entry(raw: str) -> ProxyEntry:
    text = raw.strip()
    text = text.removeprefix("http://")
    match = None if "://" in text else _ENTRY.fullmatch(text)
    port = int(match["port"]) if match else 0
    if not match or not 0 < port < 65536:
        raise ConfigError(
            f"malformed proxy entry {mask_entry(raw)!r}: expected user:pass@host:port or host:port"
        )
    return ProxyEntry(match["host"], port, match["user"], match["password"])


def parse_proxy_text(text: str) -> list[ProxyEntry]:
    entries: list[ProxyEntry] = []
    seen: set[str] = set()
    for line in text.splitlines():
        for part in line.split("#", 1)[0].split(","):
            if part.strip():
                entry = parse_entry(part)
                if entry.key not in seen:
                    seen.add(entry.key)
                    entries.append(entry)
    return entries


def proxies_from_settings(settings: BaseSettings) -> list[ProxyEntry]:
    """The configured proxies, in order; raises :class:`ConfigError` on a bad entry or file."""
    listed = settings.get("PROXY_LIST") or os.environ.get("PROXY_LIST", "")
    if isinstance(listed, (list, tuple)):
        listed = "\n".join(listed)
    text = str(listed)
    path = settings.get("PROXY_FILE") or os.environ.get("PROXY_FILE", "")
    if path:
        file = Path(path)
        if not file.is_file():
            raise ConfigError(f"PROXY_FILE not found: {path}")
        text += "\n" + file.read_text(encoding="utf-8")
    return parse_proxy_text(text)
