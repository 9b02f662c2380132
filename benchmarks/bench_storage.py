"""Storage benchmark: the pipeline's write path versus row-by-row upserts.

Writes N realistic posts (default 100,000; one or two listing ranks each, 40 % self
posts with up to a few KB of text) into a throw-away database twice per run — an
insert pass, then a full update pass: the same posts re-crawled six hours later, with
what a re-crawl changes (score, comment count, upvote ratio, listing ranks,
``crawled_at``; 2 % edited, 1 % new flair) and nothing else (a post keeps its
subreddit, author, title and creation time on Reddit):

* ``pipeline``: every item through :class:`~reddit_crawler.pipelines.postgres.PostgresPipeline`
  itself (``process_item`` awaited in a loop, default settings: batches of 500, the
  writer thread, COPY into staging tables + one upsert per table per flush);
* ``row-by-row``: the same rows (built by the same code), one parameterised
  ``INSERT … ON CONFLICT DO UPDATE`` each (the pipeline's statement with one row of
  parameters; psycopg prepares it after 5 runs) in a transaction of its own, as a
  pipeline that writes each item as it comes does. This is the issue's "row-by-row
  path": its two targets (30,000 rows/s, and 10x the row-by-row path) agree only for a
  row-by-row path of about 3,000 rows/s, which is what a transaction per row gives here;
* ``row-by-row, batched``: a reference, not the target's baseline: the same statements
  with a commit every ``--commit-every`` rows (500, the pipeline's batch size), so only
  the statement strategy differs from the pipeline;
* ``COPY ceiling``: a bound, no pipeline: the rows, formatted before the clock starts,
  COPYed in transactions of 2,500 rows into an unlogged table with no index, constraint
  or upsert. No write path that upserts can be faster on this machine.

All items are built before the clock starts and then frozen out of the garbage
collector's sight (``gc.freeze()``): a crawl does not hold its items, and full
collections over 200,000 held items cost both methods seconds per run.
Each method runs ``--runs`` times (default 3, tables emptied in between); the medians,
ranges and ratio are printed. Usage (from the project root)::

    .venv/bin/python benchmarks/bench_storage.py [--rows 100000] [--runs 3] [--commit-every 500]
        [-s POSTGRES_BATCH_SIZE=1000 …] [--only METHOD]

The server is ``$BENCH_ADMIN_DSN`` (default ``postgresql:///postgres``); the database
``rc_bench_<random>`` is created and dropped. Exit status 1 when the target (30,000
rows/s and 10x the row-by-row path) is missed. Reads no Scrapy project settings (``-s`` sets
pipeline settings for this run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from scrapy import Spider
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reddit_crawler.db import connect, migrate
from reddit_crawler.items import ListingRank, PostItem
from reddit_crawler.pipelines.copydata import CopyFormatter, send
from reddit_crawler.pipelines.postgres import PostgresPipeline
from reddit_crawler.pipelines.rows import build_unit
from reddit_crawler.pipelines.tables import POSTS, create_staging, staging_types

ADMIN_DSN = os.environ.get("BENCH_ADMIN_DSN", "postgresql:///postgres")
PIPELINE, ROW_BY_ROW, BATCHED, CEILING = (
    "pipeline",
    "row-by-row",
    "row-by-row-batched",
    "copy-ceiling",
)
METHODS = (PIPELINE, ROW_BY_ROW, BATCHED, CEILING)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
# fmt: off
WORDS = [
    "python", "rust", "data", "model", "release", "question", "help", "show", "build", "bug",
    "fix", "guide", "learn", "async", "the", "a", "of", "to", "in", "and", "for", "with", "on",
    "is", "this", "my", "how", "why", "what", "new", "first", "week",
]
# fmt: on


def make_posts(n: int, seed: int, crawled_at: datetime) -> list[PostItem]:
    """``n`` posts with ids 0…n-1 (the same ids for every seed: a second pass updates)."""
    rng = random.Random(seed)
    subs = [f"Sub_{i}" for i in range(300)]
    authors = [f"user_{i}" for i in range(20_000)]
    return [_post(rng, i, rng.choice(subs), rng.choice(authors), crawled_at) for i in range(n)]


def recrawl(posts: list[PostItem], seed: int, crawled_at: datetime) -> list[PostItem]:
    """The same posts crawled again later: what a re-crawl changes, and only that.

    New score, comment count, upvote ratio, listing ranks and ``crawled_at``; 2 % were
    edited since (new text, ``edited_utc``), 1 % got another flair. Id, subreddit, author,
    title, creation time, URL … stay what they were, as on Reddit.
    """
    rng = random.Random(seed)
    again = []
    for post in posts:
        changes: dict[str, Any] = {
            "crawled_at": crawled_at,
            "score": (post.score or 0) + rng.randint(0, 500),
            "num_comments": (post.num_comments or 0) + rng.randint(0, 50),
            "upvote_ratio": round(rng.random(), 2),
            "listings": [ListingRank(lr.listing, rng.randint(1, 100)) for lr in post.listings],
        }
        if rng.random() < 0.02:
            changes.update(edited=True, edited_utc=crawled_at, selftext=post.selftext + " edit")
        if rng.random() < 0.01:
            changes["link_flair_text"] = rng.choice([None, "Solved", "Meta"])
        again.append(dataclasses.replace(post, **changes))
    return again


def _post(rng: random.Random, i: int, sub: str, author: str, crawled_at: datetime) -> PostItem:
    pid = f"{i:07x}"
    is_self = rng.random() < 0.4
    listings = [ListingRank(rng.choice(("hot", "top_week", "top_year")), rng.randint(1, 100))]
    if rng.random() < 0.3:
        listings.append(ListingRank("submitted", rng.randint(1, 100)))
    return PostItem(
        id=pid,
        subreddit=sub,
        author=author,
        title=" ".join(rng.choices(WORDS, k=rng.randint(4, 18))).capitalize(),
        created_utc=T0 - timedelta(seconds=rng.randint(0, 30_000_000)),
        crawled_at=crawled_at,
        subreddit_id=f"t5_{sub.lower()}",
        subreddit_type="public",
        author_fullname=f"t2_{author}",
        selftext=" ".join(rng.choices(WORDS, k=rng.randint(20, 600))) if is_self else "",
        url=f"https://example.com/{pid}",
        permalink=f"/r/{sub}/comments/{pid}/",
        domain=f"self.{sub}" if is_self else "example.com",
        score=rng.randint(0, 50_000),
        upvote_ratio=round(rng.random(), 2),
        num_comments=rng.randint(0, 5000),
        over_18=False,
        spoiler=False,
        stickied=False,
        locked=False,
        is_self=is_self,
        link_flair_text=rng.choice([None, "Discussion", "News"]),
        listings=listings,
    )


def pipeline_method(
    dsn: str, passes: list[list[PostItem]], workdir: Path, extra: dict[str, str] | None = None
) -> float:
    """Seconds to push every pass through the pipeline until its close has flushed."""
    return asyncio.run(_through_pipeline(dsn, passes, workdir, extra or {}))


async def _through_pipeline(
    dsn: str, passes: list[list[PostItem]], workdir: Path, extra: dict[str, str]
) -> float:
    settings = {
        "POSTGRES_DSN": dsn,
        "POSTGRES_DEADLETTER_FILE": str(workdir / "dead.jsonl"),
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    crawler = get_crawler(Spider, settings)
    pipeline = build_from_crawler(PostgresPipeline, crawler)
    crawler.spider = Spider.from_crawler(crawler, name="bench")
    await pipeline.open_spider()
    started = time.perf_counter()
    for posts in passes:
        for post in posts:
            await pipeline.process_item(post)
    await pipeline.close_spider()
    elapsed = time.perf_counter() - started
    await pipeline.spider_closed("finished")
    assert crawler.stats is not None
    assert crawler.stats.get_value("postgres/deadletter") == 0
    return elapsed


def _row_sql() -> str:
    """The pipeline's upsert with one row of parameters in place of the staging table."""
    casts = dict(POSTS.casts)
    staged = [f"{c}::{casts[c]}" if c in casts else c for c in POSTS.columns]
    source = ", ".join((*staged, "crawled_at"))
    params = [f"%s::{casts[c]}" if c in casts else "%s" for c in POSTS.columns]
    values = "VALUES (" + ", ".join((*params, "%s")) + ")"
    statement = POSTS.upsert.replace(f"SELECT {source} FROM _rc_stage_posts", values)
    assert statement != POSTS.upsert
    return statement


def row_by_row_method(
    dsn: str, passes: list[list[PostItem]], workdir: Path, commit_every: int = 1
) -> float:
    """Seconds for one parameterised INSERT … ON CONFLICT per row (same rows, same SQL),
    committed every ``commit_every`` rows."""
    statement = _row_sql().encode()
    crawled_at = POSTS.columns.index("crawled_at")
    with connect(dsn) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        for posts in passes:
            for i, post in enumerate(posts, 1):
                (row,) = build_unit(post, 1).rows["posts"]
                cur.execute(statement, (*row, row[crawled_at]))
                if i % commit_every == 0:
                    conn.commit()
            conn.commit()
        return time.perf_counter() - started


CEILING_BATCH = 2_500  # rows per transaction: about the pipeline's flushes (group commit)


def copy_ceiling_method(dsn: str, passes: list[list[PostItem]], workdir: Path) -> float:
    """Seconds to COPY every pass's rows, formatted beforehand, into a bare unlogged table."""
    columns = ", ".join(POSTS.columns)
    with connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_ceiling")
        with contextlib.suppress(psycopg.Error):  # the pipeline's long-text compression
            conn.execute("SET default_toast_compression = 'lz4'")
        create_staging(conn, POSTS)  # the table takes the staging table's (COPY) types
        conn.execute(f"CREATE UNLOGGED TABLE bench_ceiling (LIKE {POSTS.staging})")
        types = staging_types(conn)
        formatter = CopyFormatter(conn, types)
        blocks = []
        for posts in passes:
            rows = [row for post in posts for row in build_unit(post, 1).rows["posts"]]
            for i in range(0, len(rows), CEILING_BATCH):
                formatted = formatter.format("posts", rows[i : i + CEILING_BATCH])
                assert formatted is not None
                blocks.append(formatted.blocks)
        statement = f"COPY bench_ceiling ({columns}) FROM STDIN (FORMAT BINARY)"
        started = time.perf_counter()
        for block in blocks:
            with conn.transaction(), conn.cursor().copy(statement) as copy:
                send(copy, block)
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_ceiling")
        return elapsed


def reset(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE posts")
        conn.execute("VACUUM ANALYZE posts")
        conn.execute("CHECKPOINT")


def check(dsn: str, passes: list[list[PostItem]]) -> None:
    with psycopg.connect(dsn) as conn:
        count, latest = conn.execute("SELECT count(*), min(crawled_at) FROM posts").fetchone() or ()
    assert (count, latest) == (len(passes[0]), passes[-1][0].crawled_at), (count, latest)


def measure(method: Callable[..., float], dsn: str, passes: list[list[PostItem]]) -> float:
    """Rows per second written by ``method`` over all passes."""
    reset(dsn)
    with tempfile.TemporaryDirectory() as tmp:
        elapsed = method(dsn, passes, Path(tmp))
    if method is not copy_ceiling_method:
        check(dsn, passes)
    return sum(map(len, passes)) / elapsed


def make_passes(rows: int) -> list[list[PostItem]]:
    """The insert pass and the update pass (the same posts re-crawled six hours later)."""
    first = make_posts(rows, 1, T0)
    passes = [first, recrawl(first, 2, T0 + timedelta(hours=6))]
    # The fixture (every item of both passes, built before the clock starts) is not part of
    # the write path, and a crawl does not hold its items: keep the collector from scanning
    # it again and again (full collections over it cost both methods seconds per run).
    gc.collect()
    gc.freeze()
    return passes


def run_benchmark(
    dsn: str,
    rows: int,
    runs: int,
    commit_every: int,
    extra: dict[str, str] | None = None,
    only: str | None = None,
) -> dict[str, list[float]]:
    passes = make_passes(rows)
    print(f"{rows:,} posts, insert pass + update pass ({2 * rows:,} rows) per run, {runs} runs")
    if extra:
        print(f"pipeline settings: {extra}")
    methods = {
        PIPELINE: partial(pipeline_method, extra=extra),
        ROW_BY_ROW: row_by_row_method,
        BATCHED: partial(row_by_row_method, commit_every=commit_every),
        CEILING: copy_ceiling_method,
    }
    if only:
        methods = {only: methods[only]}
    results: dict[str, list[float]] = {name: [] for name in methods}
    for run in range(1, runs + 1):
        for name, method in methods.items():
            results[name].append(measure(method, dsn, passes))
            print(f"  run {run}  {name:>20}: {results[name][-1]:>9,.0f} rows/s", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PostgreSQL write path benchmark")
    parser.add_argument("--rows", type=int, default=100_000, help="posts per pass")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--commit-every",
        type=int,
        default=500,
        help="rows per transaction of the batched row-by-row reference",
    )
    parser.add_argument(
        "-s", "--set", action="append", default=[], metavar="NAME=VALUE",
        help="a pipeline setting (POSTGRES_BATCH_SIZE=1000 …); default: the project's",
    )  # fmt: skip
    parser.add_argument("--only", choices=METHODS, help="measure one method only")
    args = parser.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.set)
    name = f"rc_bench_{secrets.token_hex(5)}"
    admin: Any = psycopg.connect(ADMIN_DSN, autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        dsn = make_conninfo(ADMIN_DSN, dbname=name)
        migrate(dsn)
        results = run_benchmark(dsn, args.rows, args.runs, args.commit_every, extra, args.only)
    finally:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        admin.execute(drop)
        admin.close()
    for method, rates in results.items():
        low, mid, high = min(rates), statistics.median(rates), max(rates)
        print(f"{method}: median {mid:,.0f} rows/s, range {low:,.0f} to {high:,.0f}")
    if args.only:
        return 0
    return report({name: statistics.median(rates) for name, rates in results.items()})


def report(medians: dict[str, float]) -> int:
    """Print the ratios; 0 when the target is met."""
    fast, slow, batched, ceiling = (medians[k] for k in METHODS)
    print(f"median pipeline (COPY + upsert): {fast:>9,.0f} rows/s")
    print(f"median row-by-row INSERT ... ON CONFLICT, a transaction per row: {slow:>9,.0f} rows/s")
    print(f"ratio: {fast / slow:.1f}x")
    print(f"reference, row-by-row committed in batches: {batched:,.0f} rows/s,", end=" ")
    print(f"pipeline {fast / batched:.1f}x")
    print(f"bound, bare COPY without upsert or index: {ceiling:,.0f} rows/s,", end=" ")
    print(f"pipeline at {fast / ceiling:.0%} of it")
    met = fast >= 30_000 and fast >= 10 * slow
    print("target (>= 30,000 rows/s and >= 10x row-by-row): " + ("met" if met else "NOT met"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
