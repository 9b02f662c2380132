"""Exceptions the storage layer raises when PostgreSQL cannot be used.

Every message is a single line and never contains a password: DSNs are shown through
:func:`reddit_crawler.db.dsn.mask_dsn`. They subclass the project's
:class:`~reddit_crawler.errors.ConfigError`, so when the pipeline raises one from
``from_crawler`` (before any request), ``scrapy crawl`` prints ``error: <message>`` and
exits non-zero; ``scrapy migrate`` does the same.

Reads no settings.
"""

from __future__ import annotations

from reddit_crawler.errors import ConfigError


class StorageError(ConfigError):
    """Base class: PostgreSQL storage cannot be used; ``str(exc)`` is one safe line."""


class DatabaseUnavailable(StorageError):
    """The server is unreachable, refuses the credentials, or the database cannot be created."""


class MigrationError(StorageError):
    """The schema migrations could not be applied (or an applied one was modified)."""
