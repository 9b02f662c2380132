"""Throw-away PostgreSQL databases for tests, and small query helpers.

Each test gets its own database ``rc_test_<random>`` on the local server, created here
and dropped (``WITH (FORCE)``) afterwards. The server is reached through
``RC_TEST_ADMIN_DSN`` (default ``postgresql:///postgres``: local socket, trust auth);
``scripts/services.sh`` / ``make services`` start it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from reddit_crawler.db import migrate

ADMIN_DSN = os.environ.get("RC_TEST_ADMIN_DSN", "postgresql:///postgres")
PREFIX = "rc_test_"


def admin() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"tests need the local PostgreSQL ({ADMIN_DSN}); start it with `make services`: {exc}"
        ) from None


def new_name() -> str:
    return PREFIX + secrets.token_hex(6)


def dsn_for(name: str) -> str:
    return make_conninfo(ADMIN_DSN, dbname=name)


def drop_database(name: str) -> None:
    with admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def unused_database() -> Iterator[str]:
    """The DSN of a database that does not exist yet (dropped afterwards if created)."""
    name = new_name()
    try:
        yield dsn_for(name)
    finally:
        drop_database(name)


@contextmanager
def throwaway_database(*, migrated: bool = True) -> Iterator[str]:
    """A new empty database (with the schema applied when ``migrated``); dropped after."""
    name = new_name()
    with admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        dsn = dsn_for(name)
        if migrated:
            migrate(dsn)
        yield dsn
    finally:
        drop_database(name)


def query(dsn: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(statement.encode(), params).fetchall()


def execute(dsn: str, statement: str, params: Any = None) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement.encode(), params)


def scalar(dsn: str, statement: str, params: Any = None) -> Any:
    rows = query(dsn, statement, params)
    return rows[0][0] if rows else None


def counts(dsn: str, tables: list[str]) -> dict[str, int]:
    return {t: scalar(dsn, f"SELECT count(*) FROM {t}") for t in tables}


def terminate_backends(dsn: str, application_name: str) -> int:
    """Kill (``pg_terminate_backend``) the sessions of ``application_name`` on the DSN's db."""
    dbname = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    rows = query(
        ADMIN_DSN,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND application_name = %s AND pid <> pg_backend_pid()",
        [dbname, application_name],
    )
    return sum(1 for (ok,) in rows if ok)
