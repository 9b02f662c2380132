"""The run lock: at most one run of a job at a time per database.

A crawl takes ``pg_try_advisory_lock(key)`` on a dedicated connection before its first
request and holds it (the connection stays open, idle) until it closes; the key is derived
from the spider's name and the job name (the ``crawl`` spider argument, by default the
spider's name). A second run of the same job finds the lock taken and is refused with
:class:`RunInProgress`, a one-line :class:`~reddit_crawler.errors.ConfigError` saying since
when the other run holds it. The lock is PostgreSQL's, so it holds across hosts, Scrapyd and
cron alike, and a crashed run cannot leave it behind: the server drops a session's advisory
locks when its connection ends. Reads no settings (callers pass the DSN).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from datetime import datetime
from typing import Any

import psycopg

from reddit_crawler.db.connection import connect, unavailable
from reddit_crawler.db.errors import StorageError

logger = logging.getLogger(__name__)

APPLICATION_PREFIX = "reddit_crawler-run "

_HOLDER = """
SELECT a.backend_start, a.application_name
FROM pg_locks l
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid::bigint = %s AND l.objid::bigint = %s
LIMIT 1
"""


class RunInProgress(StorageError):
    """Another run of the same job holds the run lock."""


def lock_key(spider: str, job: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of ``job`` of ``spider``."""
    digest = hashlib.sha256(f"reddit_crawler run lock\0{spider}\0{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _application_name() -> str:
    return f"{APPLICATION_PREFIX}{os.getpid()}@{socket.gethostname()}"[:63]


class RunLock:
    """A held run lock; :meth:`release` (or the end of the process) gives it back."""

    def __init__(self, conn: psycopg.Connection[Any], job: str, key: int) -> None:
        self._conn: psycopg.Connection[Any] | None = conn
        self.job = job
        self.key = key

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def release(self) -> None:
        """Unlock and close the connection (closing alone would release it too)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not conn.closed and not conn.broken:
                conn.execute("SELECT pg_advisory_unlock(%s)", [self.key])
        except psycopg.Error as exc:
            logger.warning("Run lock of job %r: connection lost before release: %s", self.job, exc)
        finally:
            conn.close()


def acquire_run_lock(dsn: str, spider: str, job: str) -> RunLock:
    """Take the run lock of ``job``; :class:`RunInProgress` when another run holds it."""
    key = lock_key(spider, job)
    try:
        conn = connect(dsn, autocommit=True, application_name=_application_name())
    except psycopg.Error as exc:
        raise unavailable(dsn, exc) from None
    try:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
        if row and row[0]:
            logger.info("Run lock of job %r taken", job)
            return RunLock(conn, job, key)
        holder = conn.execute(_HOLDER, [(key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF]).fetchone()
    except psycopg.Error as exc:
        conn.close()
        raise unavailable(dsn, exc) from None
    conn.close()
    raise RunInProgress(f"another run of job {job!r} is in progress ({_describe(holder)})")


def _describe(holder: tuple[Any, ...] | None) -> str:
    """``since <time> UTC, pid N on HOST`` from the holder's session, as far as known."""
    if holder is None:
        return "it has just finished; try again"
    started, application = holder
    since = (
        f"since {started:%Y-%m-%d %H:%M:%S} UTC"
        if isinstance(started, datetime)
        else "since an unknown time"
    )
    if isinstance(application, str) and application.startswith(APPLICATION_PREFIX):
        pid, _, host = application.removeprefix(APPLICATION_PREFIX).partition("@")
        return f"{since}, pid {pid} on {host}"
    return since
