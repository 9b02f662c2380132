"""Opening connections, and making sure the database exists before a crawl starts.

:func:`connect` opens a psycopg 3 connection with a connect timeout and the session time
zone set to UTC. :func:`ensure_database` creates the database named in the DSN when the
server is reachable but the database is missing, and turns every connection failure into
a one-line :class:`~reddit_crawler.db.errors.DatabaseUnavailable` with the password
masked. Reads no settings (callers pass the DSN, see :mod:`reddit_crawler.db.dsn`).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from reddit_crawler.db.dsn import dsn_dbname, mask_dsn, one_line, scrub, with_dbname
from reddit_crawler.db.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10
APPLICATION_NAME = "reddit_crawler"
MAINTENANCE_DATABASES = ("postgres", "template1")


def connect(
    dsn: str, *, autocommit: bool = False, application_name: str = APPLICATION_NAME
) -> psycopg.Connection[Any]:
    """A new connection; DSN values for ``connect_timeout``/``application_name`` win."""
    try:
        given = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise DatabaseUnavailable(
            f"invalid PostgreSQL DSN {mask_dsn(dsn)}: {one_line(str(exc))}"
        ) from None
    extra: dict[str, Any] = {}
    if "connect_timeout" not in given:
        extra["connect_timeout"] = CONNECT_TIMEOUT
    if "application_name" not in given:
        extra["application_name"] = application_name
    conn = psycopg.connect(dsn, autocommit=autocommit, **extra)
    conn.execute("SET TIME ZONE 'UTC'")
    if not autocommit:
        conn.commit()
    return conn


def unavailable(dsn: str, exc: BaseException) -> DatabaseUnavailable:
    """A one-line, password-free error for a failed connection to ``dsn``."""
    detail = one_line(scrub(str(exc), dsn)).removeprefix("connection failed: ")
    return DatabaseUnavailable(f"PostgreSQL unavailable at {mask_dsn(dsn)}: {detail}")


def check_database(dsn: str) -> None:
    """Connect once; raise :class:`DatabaseUnavailable` (one line, masked) on failure."""
    try:
        connect(dsn, autocommit=True).close()
    except psycopg.Error as exc:
        raise unavailable(dsn, exc) from None


def ensure_database(dsn: str) -> bool:
    """Make sure the DSN's database exists; return True when it had to be created.

    Raises :class:`DatabaseUnavailable` when the server cannot be reached, refuses the
    credentials, or the database is missing and cannot be created.
    """
    try:
        connect(dsn, autocommit=True).close()
        return False
    except DatabaseUnavailable:
        raise
    except psycopg.Error as exc:
        first_error: psycopg.Error = exc
    dbname = dsn_dbname(dsn)
    if not dbname or not _create_database(dsn, dbname, first_error):
        raise unavailable(dsn, first_error) from None
    check_database(dsn)
    logger.info("Created PostgreSQL database %s at %s", dbname, mask_dsn(dsn))
    return True


def _create_database(dsn: str, dbname: str, first_error: psycopg.Error) -> bool:
    """Create ``dbname`` through a maintenance database; False when none is reachable."""
    for maintenance in MAINTENANCE_DATABASES:
        try:
            admin = connect(with_dbname(dsn, maintenance), autocommit=True)
        except psycopg.Error:
            continue
        with admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [dbname]
            ).fetchone()
            if exists:  # the database is there: the first error is the real problem
                raise unavailable(dsn, first_error) from None
            try:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it meanwhile
            except psycopg.Error as exc:
                raise unavailable(dsn, exc) from None
        return True
    return False
