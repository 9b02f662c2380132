"""PostgreSQL storage support: DSN handling, connections, schema migrations.

:func:`prepare_database` is what a crawl and ``scrapy migrate`` run first: create the
database if the server is reachable but the database is missing, then apply pending
migrations. Failures raise a :class:`~reddit_crawler.db.errors.StorageError` whose
message is one line with the password masked. Reads no settings itself; see
:func:`~reddit_crawler.db.dsn.resolve_dsn` for ``POSTGRES_DSN`` / ``DATABASE_URL``.
"""

from __future__ import annotations

from dataclasses import dataclass

from reddit_crawler.db.connection import check_database, connect, ensure_database
from reddit_crawler.db.dsn import DEFAULT_DSN, mask_dsn, resolve_dsn
from reddit_crawler.db.errors import DatabaseUnavailable, MigrationError, StorageError
from reddit_crawler.db.migrations import Migration, load_migrations, migrate

__all__ = [
    "DEFAULT_DSN",
    "DatabaseUnavailable",
    "Migration",
    "MigrationError",
    "Prepared",
    "StorageError",
    "check_database",
    "connect",
    "ensure_database",
    "load_migrations",
    "mask_dsn",
    "migrate",
    "prepare_database",
    "resolve_dsn",
]


@dataclass(frozen=True)
class Prepared:
    """What :func:`prepare_database` did."""

    created: bool
    applied: list[Migration]


def prepare_database(dsn: str) -> Prepared:
    """Create the database when missing, then apply pending migrations."""
    created = ensure_database(dsn)
    return Prepared(created=created, applied=migrate(dsn))
