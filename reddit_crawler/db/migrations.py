"""Versioned schema migrations: numbered SQL files shipped inside the package.

Files are ``reddit_crawler/db/migrations/NNNN_name.sql``, read with
:mod:`importlib.resources` (so they also load from a zipped Scrapyd egg). Each pending
file runs in its own transaction and is recorded in ``schema_migrations`` with a
checksum; the whole run holds a PostgreSQL advisory lock, so two processes migrating at
once serialise and the second finds nothing left to do. An applied file whose content
changed is refused (write a new migration instead). Reads no settings.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import psycopg

from reddit_crawler.db.connection import connect, unavailable
from reddit_crawler.db.dsn import mask_dsn, one_line
from reddit_crawler.db.errors import MigrationError

logger = logging.getLogger(__name__)

# pg_advisory_lock key: "reddit" in ASCII, shared by every process of this project.
LOCK_KEY = 0x726564646974
_FILE_RE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def load_migrations() -> list[Migration]:
    """Every migration file of the package, in version order."""
    folder = files("reddit_crawler.db").joinpath("migrations")
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        match = _FILE_RE.match(entry.name)
        if not match:
            continue
        version = int(match.group("version"))
        if version in found:
            raise MigrationError(f"two migration files with version {version}")
        found[version] = Migration(version, match.group("name"), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def migrate(dsn: str) -> list[Migration]:
    """Apply every pending migration to the DSN's database; return those applied."""
    try:
        conn = connect(dsn, autocommit=True, application_name="reddit_crawler-migrate")
    except psycopg.Error as exc:
        raise unavailable(dsn, exc) from None
    with conn:
        try:
            return apply_migrations(conn)
        except psycopg.OperationalError as exc:
            raise unavailable(dsn, exc) from None
        except psycopg.Error as exc:
            raise MigrationError(
                f"migrating {mask_dsn(dsn)} failed: {one_line(str(exc))}"
            ) from None


def apply_migrations(conn: psycopg.Connection[Any]) -> list[Migration]:
    """Apply pending migrations on an autocommit connection, under the advisory lock."""
    conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    try:
        conn.execute(_CREATE_TABLE)
        applied = dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())
        migrations = load_migrations()
        _check_applied(migrations, applied)
        pending = [m for m in migrations if m.version not in applied]
        for migration in pending:
            _apply(conn, migration)
        return pending
    finally:
        if not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _check_applied(migrations: list[Migration], applied: dict[int, str]) -> None:
    for migration in migrations:
        checksum = applied.get(migration.version)
        if checksum is not None and checksum != migration.checksum:
            raise MigrationError(
                f"migration {migration.version:04d}_{migration.name}.sql was changed after it "
                "was applied; add a new migration instead"
            )
    unknown = sorted(set(applied) - {m.version for m in migrations})
    if unknown:
        logger.warning("Database has migrations this code does not know: %s", unknown)


def _apply(conn: psycopg.Connection[Any], migration: Migration) -> None:
    label = f"{migration.version:04d}_{migration.name}"
    logger.info("Applying migration %s", label)
    try:
        with conn.transaction():
            conn.execute(migration.sql.encode("utf-8"))
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                [migration.version, migration.name, migration.checksum],
            )
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        raise MigrationError(f"migration {label} failed: {one_line(str(exc))}") from None


def current_version(conn: psycopg.Connection[Any]) -> int | None:
    """The highest applied migration version, or None for an empty database."""
    exists = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if not exists or exists[0] is None:
        return None
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return row[0] if row else None
