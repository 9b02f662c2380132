"""Tests of COPY data formatted ahead of the write (``reddit_crawler.pipelines.copydata``).

Against the real local PostgreSQL: the blocks the reactor thread formats must land
exactly the rows psycopg's own ``write_row`` would, the writer must use them when they
cover a table's rows and fall back to the rows otherwise, and staging tables are created
on first use only.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from scrapy import Spider
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from reddit_crawler.items import ActivityItem, ListingRank, PostItem, SubredditItem, UserItem
from reddit_crawler.pipelines import writer as writer_module
from reddit_crawler.pipelines.copydata import CopyBlocks, CopyFormatter, merge, send
from reddit_crawler.pipelines.deadletter import DeadLetterFile
from reddit_crawler.pipelines.postgres import PostgresPipeline
from reddit_crawler.pipelines.rows import Unit, build_unit
from reddit_crawler.pipelines.tables import POSTS, create_staging, staging_types
from reddit_crawler.pipelines.writer import Job, Writer
from tests.support import asyncio_test

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
ODD_TEXTS = ["plain", "emoji 🐍🚀", "עברית مرحبا", "x" * 40_000, "", 'quote " back\\slash \t tab']


def post(pid: str, **fields: Any) -> PostItem:
    base: dict[str, Any] = {
        "id": pid, "subreddit": "Python", "author": "alice", "title": f"title {pid}",
        "created_utc": T0 - timedelta(days=3), "crawled_at": T0, "score": 5,
        "upvote_ratio": 0.5, "listings": [ListingRank("hot", 1)],
    }  # fmt: skip
    base.update(fields)
    return PostItem(**base)


def odd_posts() -> list[PostItem]:
    """Posts with every kind of value a posts row holds: texts, None, floats, times, flags."""
    return [
        post(
            f"p{i}",
            title=text or "untitled",
            selftext=text,
            author=None if i % 2 else "bob",
            edited=bool(i % 2),
            edited_utc=T0 if i % 2 else None,
            over_18=None,
            num_comments=2**31 - 1 if i == 0 else i,
            upvote_ratio=None if i == 1 else 1 / (i + 1),
            listings=[ListingRank("hot", i + 1), ListingRank("submitted", 3)],
        )
        for i, text in enumerate(ODD_TEXTS)
    ]


def writer_for(dsn: str, tmp_path: Path) -> Writer:
    return Writer(dsn, DeadLetterFile(tmp_path / "dead.jsonl"), retries=1)


def posts_in(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT id, title, selftext, author, score, num_comments, upvote_ratio, edited,"
            " edited_utc, over_18, listings, crawled_at FROM posts ORDER BY id"
        ).fetchall()


def blocks_of(writer: Writer, units: list[Unit]) -> dict[str, CopyBlocks]:
    formatter = writer.copy_formatter()
    assert formatter is not None
    blocks = formatter.format("posts", [row for u in units for row in u.rows["posts"]])
    assert blocks is not None
    return {"posts": blocks}


def test_blocks_land_the_same_rows_as_write_row(dsn: str) -> None:
    rows = [build_unit(p, None).rows["posts"][0] for p in odd_posts()]
    with psycopg.connect(dsn, autocommit=True) as conn:
        types = staging_types(conn)
        create_staging(conn, POSTS)
        blocks = CopyFormatter(conn, types).format("posts", rows)
        assert blocks is not None and blocks.rows == len(rows)
        landed = []
        for use_blocks in (True, False):
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(POSTS.copy) as copy:
                    if use_blocks:
                        send(copy, blocks.blocks)
                    else:
                        copy.set_types(types["posts"])
                        for row in rows:
                            copy.write_row(row)
                landed.append(cur.execute(f"SELECT * FROM {POSTS.staging} ORDER BY id").fetchall())
    assert landed[0] == landed[1]
    assert len(landed[0]) == len(rows)
    assert {r[POSTS.columns.index("selftext")] for r in landed[0]} == set(ODD_TEXTS)


def test_writer_sends_the_blocks_when_they_cover_the_rows(dsn: str, tmp_path: Path) -> None:
    units = [build_unit(p, None) for p in odd_posts()]
    # Blocks formatted from other rows than the units': the database shows which were used.
    other = [build_unit(dataclasses.replace(p, score=999), None) for p in odd_posts()]
    writer = writer_for(dsn, tmp_path)
    try:
        result = writer.flush(Job(units, copied=blocks_of(writer, other)))
    finally:
        writer.close()
    assert result.written == len(units) and result.deadlettered == 0
    assert {row[4] for row in posts_in(dsn)} == {999}


@pytest.mark.parametrize(
    "case", ["partial blocks", "a post twice in the flush", "no blocks", "unformattable"]
)
def test_writer_falls_back_to_the_rows(dsn: str, tmp_path: Path, case: str) -> None:
    items = odd_posts()
    if case == "a post twice in the flush":
        items.append(dataclasses.replace(items[0], score=7, listings=[ListingRank("top_week", 2)]))
    units = [build_unit(p, None) for p in items]
    writer = writer_for(dsn, tmp_path)
    try:
        other = [build_unit(dataclasses.replace(p, score=999), None) for p in items]
        copied = {
            "partial blocks": blocks_of(writer, other[:3]),
            "a post twice in the flush": blocks_of(writer, other),
            "no blocks": {},
        }.get(case, {})
        if case == "unformattable":
            formatter = writer.copy_formatter()
            assert formatter is not None
            assert formatter.format("posts", [("p9", "python", "not a row")]) is None
        result = writer.flush(Job(units, copied=copied))
    finally:
        writer.close()
    assert result.written == len(units) and result.deadlettered == 0
    stored = posts_in(dsn)
    assert len(stored) == len(odd_posts())
    assert 999 not in {row[4] for row in stored}
    if case == "a post twice in the flush":  # the last sighting wins, listings merged
        first = next(row for row in stored if row[0] == "p0")
        assert first[4] == 7 and set(first[10]) == {"hot:1", "submitted:3", "top_week:2"}


def test_merge_keeps_every_block_and_row_count() -> None:
    a = {"posts": CopyBlocks([b"a"], 1), "users": CopyBlocks([b"u"], 1)}
    b = {"posts": CopyBlocks([b"b", b"c"], 2)}
    merged = merge(a, b)
    assert merged["posts"] == CopyBlocks([b"a", b"b", b"c"], 3)
    assert merged["users"] == CopyBlocks([b"u"], 1)
    assert a["posts"] == CopyBlocks([b"a"], 1)  # the inputs are left as they were


def test_staging_tables_are_created_on_first_use(dsn: str, tmp_path: Path) -> None:
    writer = writer_for(dsn, tmp_path)

    def staged() -> set[str]:
        conn = writer.connection()
        found = conn.execute(
            "SELECT relname::text FROM pg_class WHERE relname LIKE '\\_rc\\_stage\\_%'"
            " AND relpersistence = 't' AND pg_table_is_visible(oid)"
        ).fetchall()
        return {name for (name,) in found}

    try:
        assert staged() == set()
        writer.flush(Job([build_unit(post("p1"), None)]))
        assert staged() == {"_rc_stage_posts"}
        writer.flush(Job([build_unit(UserItem(name="alice", status="ok", crawled_at=T0), None)]))
        assert staged() == {"_rc_stage_posts", "_rc_stage_users"}
        # a new connection (after a reconnect) creates them again when they are needed
        assert writer.backend_pid() is not None
        writer._drop_connection()
        writer.flush(Job([build_unit(post("p2"), None)]))
        assert staged() == {"_rc_stage_posts"}
    finally:
        writer.close()
    assert [row[0] for row in posts_in(dsn)] == ["p1", "p2"]


def test_no_formatter_unless_the_connection_speaks_utf8(dsn: str, tmp_path: Path) -> None:
    """A formatter encodes text as UTF-8; with another client encoding the writer formats."""
    writer = writer_for(f"{dsn} client_encoding=LATIN1", tmp_path)
    try:
        assert writer.copy_formatter() is None
        result = writer.flush(Job([build_unit(post("p1", title="café crème"), None)]))
    finally:
        writer.close()
    assert result.written == 1
    assert posts_in(dsn)[0][1] == "café crème"


@asyncio_test
async def test_the_pipeline_hands_batches_over_formatted(dsn: str, tmp_path: Path) -> None:
    settings = {
        "POSTGRES_DSN": dsn,
        "POSTGRES_DEADLETTER_FILE": str(tmp_path / "dead.jsonl"),
        "POSTGRES_BATCH_SIZE": 100,
    }
    crawler = get_crawler(Spider, settings)
    pipeline = build_from_crawler(PostgresPipeline, crawler)
    crawler.spider = Spider.from_crawler(crawler, name="copydata")
    await pipeline.open_spider()
    items = [
        post("p1"),
        post("p2"),
        UserItem(name="alice", status="ok", crawled_at=T0),
        ActivityItem("alice", "python", 2, T0),
        SubredditItem(name="python", status="ok", depth=0, crawled_at=T0),
    ]
    try:
        for item in items:
            await pipeline.process_item(item)
        pipeline._submit()
        job = pipeline._pending[-1].job
        assert {name: blocks.rows for name, blocks in job.copied.items()} == {
            "posts": 2,
            "users": 1,
            "user_activity": 1,  # subreddits (three tables, rules replaced) are not formatted
        }
    finally:
        await pipeline.close_spider()
        await pipeline.spider_closed("finished")
    assert [row[0] for row in posts_in(dsn)] == ["p1", "p2"]


def test_no_formatter_when_its_connection_fails(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The formatter's own (closed at once) connection failing only costs the speed-up."""
    writer = writer_for(dsn, tmp_path)
    try:
        writer.connection()

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise psycopg.OperationalError("connection refused (password=hunter2)")

        monkeypatch.setattr(writer_module, "connect", refuse)
        assert writer.copy_formatter() is None
        monkeypatch.undo()
        assert writer.flush(Job([build_unit(post("p1"), None)])).written == 1
    finally:
        writer.close()
    assert [row[0] for row in posts_in(dsn)] == ["p1"]
