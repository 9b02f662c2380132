"""Settings of the PostgreSQL pipeline, read and checked once in ``from_crawler``.

Settings: ``POSTGRES_ENABLED`` (default True; False raises ``NotConfigured``),
``POSTGRES_DSN`` (default: ``$DATABASE_URL``, else ``postgresql:///reddit``),
``POSTGRES_BATCH_SIZE`` (500), ``POSTGRES_FLUSH_INTERVAL`` (2.0 s),
``POSTGRES_MAX_BUFFERED_BATCHES`` (10), ``POSTGRES_RETRIES`` (8),
``POSTGRES_DEADLETTER_FILE`` (``deadletter-%(name)s-%(time)s.jsonl``; ``%(name)s`` is the
spider name, ``%(time)s`` the UTC start time; relative paths are from the working dir).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from reddit_crawler.db.dsn import resolve_dsn
from reddit_crawler.errors import ConfigError

DEFAULT_DEADLETTER_FILE = "deadletter-%(name)s-%(time)s.jsonl"


@dataclass(frozen=True)
class PostgresConfig:
    """The pipeline's settings, validated."""

    dsn: str
    batch_size: int = 500
    flush_interval: float = 2.0
    max_buffered_batches: int = 10
    retries: int = 8
    deadletter_file: str = DEFAULT_DEADLETTER_FILE

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> PostgresConfig:
        if not settings.getbool("POSTGRES_ENABLED", True):
            raise NotConfigured
        try:
            config = cls(
                dsn=resolve_dsn(settings),
                batch_size=settings.getint("POSTGRES_BATCH_SIZE", 500),
                flush_interval=settings.getfloat("POSTGRES_FLUSH_INTERVAL", 2.0),
                max_buffered_batches=settings.getint("POSTGRES_MAX_BUFFERED_BATCHES", 10),
                retries=settings.getint("POSTGRES_RETRIES", 8),
                deadletter_file=settings.get("POSTGRES_DEADLETTER_FILE") or DEFAULT_DEADLETTER_FILE,
            )
        except ValueError as exc:
            raise ConfigError(f"invalid POSTGRES_* setting: {exc}") from None
        config.check()
        return config

    def check(self) -> None:
        if self.batch_size < 1:
            raise ConfigError(f"POSTGRES_BATCH_SIZE must be at least 1, not {self.batch_size}")
        if not self.flush_interval > 0:
            raise ConfigError(
                f"POSTGRES_FLUSH_INTERVAL must be positive, not {self.flush_interval}"
            )
        if self.max_buffered_batches < 1:
            raise ConfigError(
                f"POSTGRES_MAX_BUFFERED_BATCHES must be at least 1, not {self.max_buffered_batches}"
            )
        if self.retries < 0:
            raise ConfigError(f"POSTGRES_RETRIES must be 0 or more, not {self.retries}")

    def deadletter_path(self, spider_name: str, now: datetime | None = None) -> Path:
        when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H-%M-%S")
        try:
            return Path(self.deadletter_file % {"name": spider_name, "time": when})
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"invalid POSTGRES_DEADLETTER_FILE: {exc}") from None
