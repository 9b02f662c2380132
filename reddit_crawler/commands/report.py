"""``scrapy report``: the latest crawl runs and, for a subreddit, its subscriber history.

``scrapy report [--runs N] [--subreddit NAME] [--dsn DSN]`` prints a table of the latest N
runs (default 10), newest first: id, start and end (UTC), finish reason, spider arguments,
items scraped, errors (``log_count/ERROR``) and dead-lettered items. With ``--subreddit`` it
then prints the subreddit's state (status, review status, last successful crawl) and its
snapshot history, one row per crawl: time, subscribers and the change since the previous
snapshot, active users, status. Read-only: it creates nothing and migrates nothing. On
failure it prints one line, ``error: <message>`` (password masked), and exits with status 1.
Reads ``POSTGRES_DSN`` (or ``$DATABASE_URL``, default ``postgresql:///reddit``); ``--dsn``
wins.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from reddit_crawler.db import load_migrations, mask_dsn, resolve_dsn
from reddit_crawler.db.connection import connect, unavailable
from reddit_crawler.db.migrations import current_version
from reddit_crawler.errors import ConfigError, print_error
from reddit_crawler.names import InvalidName, normalize_subreddit

FAILURE_EXIT = 1
ARGS_WIDTH = 48

RUNS = """
SELECT id, started_at, finished_at, finish_reason, args,
       stats->>'item_scraped_count', stats->>'log_count/ERROR', stats->>'postgres/deadletter'
FROM crawl_runs ORDER BY id DESC LIMIT %s
"""
SUBREDDIT = """
SELECT display_name, status, review_status, last_ok_at, crawled_at
FROM subreddits WHERE name = %s
"""
SNAPSHOTS = """
SELECT taken_at, subscribers,
       subscribers - lag(subscribers) OVER (ORDER BY taken_at, run_id),
       active_users, status, run_id
FROM subreddit_snapshots WHERE subreddit = %s ORDER BY taken_at, run_id
"""


class ReportError(ConfigError):
    """The report cannot be made (one line)."""


class Command(ScrapyCommand):
    requires_project = False
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--runs N] [--subreddit NAME] [--dsn DSN]"

    def short_desc(self) -> str:
        return "Print the latest crawl runs and a subreddit's subscriber history"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--runs", type=int, default=10, metavar="N", help="runs to show")
        parser.add_argument("--subreddit", metavar="NAME", help="also show its snapshot history")
        parser.add_argument("--dsn", metavar="DSN", help="PostgreSQL DSN (default: POSTGRES_DSN)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("scrapy report takes no positional arguments")
        if opts.runs < 0:
            raise UsageError("--runs must be 0 or more")
        assert self.settings is not None
        dsn = opts.dsn or resolve_dsn(self.settings)
        try:
            print(report(dsn, opts.runs, opts.subreddit), flush=True)
        except ConfigError as exc:
            self.exitcode = print_error(exc, FAILURE_EXIT)


def report(dsn: str, runs: int, subreddit: str | None = None) -> str:
    """The report's text; :class:`ConfigError` (one line) when it cannot be made."""
    name = None
    if subreddit is not None:
        try:
            name = normalize_subreddit(subreddit)
        except InvalidName as exc:
            raise ReportError(str(exc)) from None
    try:
        with connect(dsn, autocommit=True, application_name="reddit_crawler-report") as conn:
            _check_schema(conn, dsn)
            parts = [runs_table(conn.execute(RUNS, [runs]).fetchall())]
            if name is not None:
                parts.append(subreddit_history(conn, name))
    except psycopg.Error as exc:
        raise unavailable(dsn, exc) from None
    return "\n\n".join(parts)


def _check_schema(conn: psycopg.Connection[Any], dsn: str) -> None:
    version = current_version(conn)
    latest = load_migrations()[-1].version
    if version is None:
        raise ReportError(f"no crawl stored in {mask_dsn(dsn)} yet (no schema)")
    if version < latest:
        raise ReportError(
            f"the schema of {mask_dsn(dsn)} is at version {version}, this code needs {latest}:"
            " run scrapy migrate"
        )


def runs_table(rows: Sequence[tuple[Any, ...]]) -> str:
    header = ("run", "started (UTC)", "finished", "reason", "arguments", "items", "errors", "dead")
    lines = [
        (
            str(run_id),
            _time(started),
            _time(finished),
            reason or ("-" if finished else "unfinished"),
            _args(args),
            _count(items),
            _count(errors, zero=finished is not None),
            _count(dead, zero=finished is not None),
        )
        for run_id, started, finished, reason, args, items, errors, dead in rows
    ]
    if not lines:
        return "no crawl runs yet"
    return "latest crawl runs\n" + _table(header, lines, right={0, 5, 6, 7})


def subreddit_history(conn: psycopg.Connection[Any], name: str) -> str:
    row = conn.execute(SUBREDDIT, [name.lower()]).fetchone()
    if row is None:
        raise ReportError(f"no subreddit {name!r} in the database")
    shown, status, review, last_ok, crawled = row
    title = (
        f"r/{shown}: status {status}, review status {review or '-'}, "
        f"last crawled {_time(crawled)}, last successful crawl {_time(last_ok)}"
    )
    header = ("taken at (UTC)", "subscribers", "change", "active users", "status", "run")
    lines = [
        (_time(taken), _count(subs), _delta(delta), _count(active), state, str(run_id))
        for taken, subs, delta, active, state, run_id in conn.execute(SNAPSHOTS, [name.lower()])
    ]
    if not lines:
        return f"{title}\nno snapshots"
    return f"{title}\n" + _table(header, lines, right={1, 2, 3, 5})


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _time(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _count(value: Any, zero: bool = False) -> str:
    if value is None or value == "":
        return "0" if zero else "-"
    return f"{int(value):,}"


def _delta(value: int | None) -> str:
    return "" if value is None else f"{value:+,}"


def _args(args: Any) -> str:
    if not isinstance(args, dict) or not args:
        return "-"
    text = " ".join(f"{k}={v}" for k, v in args.items())
    return text if len(text) <= ARGS_WIDTH else text[: ARGS_WIDTH - 1] + "…"
