"""Tests of the PostgreSQL pipeline against the real local server (no mocks).

Each test gets its own throw-away database (``tests/pg.py``). Items go through Scrapy
itself: a tiny spider yields hand-built items from ``start()`` and the crawl runs with
``CrawlerRunner`` on the asyncio reactor (pytest-twisted); "script" steps that are
coroutines run between items (to kill the pipeline's connection, hold locks, …).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_twisted
from scrapy import Spider
from scrapy.crawler import Crawler, CrawlerRunner
from scrapy.exceptions import NotConfigured
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from twisted.internet.defer import Deferred

from reddit_crawler.db import DatabaseUnavailable, StorageError
from reddit_crawler.items import (
    ActivityItem,
    DiscoveryItem,
    ListingRank,
    ListingStats,
    PostItem,
    RuleItem,
    SubredditItem,
    UserItem,
)
from reddit_crawler.pipelines.postgres import PostgresPipeline
from reddit_crawler.pipelines.writer import APPLICATION_NAME
from reddit_crawler.signals import items_lost, items_stored
from tests import pg

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = "reddit_crawler.pipelines.postgres.PostgresPipeline"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TABLES = [
    "subreddits",
    "subreddit_rules",
    "subreddit_snapshots",
    "posts",
    "post_listings",
    "users",
    "user_activity",
    "subreddit_discoveries",
    "crawl_runs",
]


# -- driving the pipeline through Scrapy ---------------------------------------------------
class ItemsSpider(Spider):
    """Yields the items of its script; callables in the script are awaited in between."""

    name = "items"

    def __init__(self, script: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = script or []
        self.errors: list[BaseException] = []
        self.crawl_args = {
            "subs": "python",
            "api_password": "hunter2",
            "proxy": "http://bob:hunter2@10.1.1.1:3128",
        }

    async def start(self) -> Any:
        for step in self.script:
            if not callable(step):
                yield step
                continue
            try:
                await step(self)
            except BaseException as exc:
                self.errors.append(exc)
                raise


def settings_for(dsn: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "ITEM_PIPELINES": {PIPELINE: 300},
        "POSTGRES_DSN": dsn,
        "POSTGRES_DEADLETTER_FILE": str(tmp_path / "dead-%(name)s.jsonl"),
        "POSTGRES_FLUSH_INTERVAL": 0.2,
        "LOG_LEVEL": "INFO",
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        **extra,
    }


def crawl(settings: dict[str, Any], script: list[Any]) -> Deferred[Crawler]:
    runner = CrawlerRunner(settings)
    crawler = runner.create_crawler(ItemsSpider)
    done: Deferred[Any] = runner.crawl(crawler, script=script)

    def finished(_: Any) -> Crawler:
        spider = crawler.spider
        assert isinstance(spider, ItemsSpider)
        if spider.errors:
            raise spider.errors[0]
        return crawler

    return done.addCallback(finished)


def pipeline_of(spider: Spider) -> PostgresPipeline:
    assert spider.crawler.engine is not None
    found = [
        p
        for p in spider.crawler.engine.scraper.itemproc.middlewares
        if isinstance(p, PostgresPipeline)
    ]
    return found[0]


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for a condition"
        await asyncio.sleep(0.02)


def stat(crawler: Crawler, key: str) -> Any:
    assert crawler.stats is not None
    return crawler.stats.get_value(key)


def assert_accounted(crawler: Crawler) -> None:
    received = stat(crawler, "postgres/items")
    assert (
        stat(crawler, "postgres/items/written") + stat(crawler, "postgres/deadletter") == received
    )


# -- a small hand-built world ------------------------------------------------------------------
def world(t: datetime = T0) -> list[Any]:
    rules = [
        RuleItem(1, "Be nice", "all", "No insults", "Insult", t),
        RuleItem(2, "No spam", "link", None, None, None),
    ]
    stats = ListingStats(hot_count=2, top_week_count=1, top_year_count=1, top_year_avg_score=10.5)
    return [
        SubredditItem(
            name="Python",
            status="ok",
            depth=0,
            crawled_at=t,
            id="2qh0y",
            title="Python",
            subscribers=1_200_000,
            active_users=3000,
            created_utc=t - timedelta(days=5000),
            over18=False,
            subreddit_type="public",
            lang="en",
            url="/r/Python/",
            rules=rules,
            stats=stats,
        ),
        SubredditItem(
            name="rust", status="ok", depth=1, crawled_at=t, subscribers=300_000, rules=rules[:1]
        ),
        SubredditItem(name="SecretClub", status="private", depth=1, crawled_at=t),
        post("p1", "Python", "alice", t, score=10, listings=[("hot", 1), ("top_week", 2)]),
        post("p2", "Python", "Bob", t, score=3, listings=[("hot", 2)]),
        post("p3", "rust", "alice", t, score=7, listings=[("top_year", 1)]),
        # p1 met again, through alice's submitted listing: still one row, listings merged
        post("p1", "Python", "alice", t, score=11, listings=[("submitted", 5)]),
        UserItem(name="alice", status="ok", crawled_at=t, link_karma=5, posts_fetched=2),
        UserItem(name="Bob", status="suspended", crawled_at=t),
        ActivityItem("alice", "Python", 3, t),
        ActivityItem("alice", "rust", 1, t),
        ActivityItem("Bob", "python", 2, t),
        ActivityItem("carol", "Python", 1, t),
        ActivityItem("carol", "rust", 4, t),
        DiscoveryItem("rust", "Python", "alice", t),
        DiscoveryItem("Rust", "python", "Alice", t),  # the same link, other spelling
    ]


def post(pid: str, sub: str, author: str, t: datetime, **fields: Any) -> PostItem:
    listings = [ListingRank(name, rank) for name, rank in fields.pop("listings", [])]
    title = fields.pop("title", f"title of {pid}")
    return PostItem(
        id=pid, subreddit=sub, author=author, title=title, created_utc=t, crawled_at=t,
        listings=listings, **fields,
    )  # fmt: skip


EXPECTED = {
    "subreddits": 3,
    "subreddit_rules": 3,
    "subreddit_snapshots": 3,
    "posts": 3,
    "post_listings": 5,
    "users": 2,
    "user_activity": 5,
    "subreddit_discoveries": 1,
    "crawl_runs": 1,
}


async def add_proxy_stats(spider: Spider) -> None:
    assert spider.crawler.stats is not None
    spider.crawler.stats.inc_value("proxy/http://bob:hunter2@10.0.0.1:3128/success", 5)
    spider.crawler.stats.inc_value("proxy/10.0.0.2:8080/429", 2)
    spider.crawler.stats.inc_value("proxy/10.0.0.2:8080/ok", 7)
    spider.crawler.stats.inc_value("proxy/10.0.0.2:8080/blocked", 1)
    spider.crawler.stats.inc_value("proxy/10.0.0.2:8080/error", 3)


# -- tests ---------------------------------------------------------------------------------------
@pytest_twisted.inlineCallbacks
def test_writes_expected_rows(dsn: str, tmp_path: Path) -> Iterator[Any]:
    crawler = yield crawl(settings_for(dsn, tmp_path), [*world(), add_proxy_stats])
    assert pg.counts(dsn, TABLES) == EXPECTED
    assert stat(crawler, "postgres/items") == 16
    assert stat(crawler, "postgres/items/written") == 16
    assert stat(crawler, "postgres/deadletter") == 0
    assert stat(crawler, "postgres/rows/posts") == 3
    assert stat(crawler, "postgres/flushes") >= 1
    assert pg.scalar(dsn, "SELECT score FROM posts WHERE id = 'p1'") == 11
    listings = pg.query(
        dsn, "SELECT listing, rank FROM post_listings WHERE post_id = 'p1' ORDER BY 1"
    )
    assert listings == [("hot", 1), ("submitted", 5), ("top_week", 2)]
    assert pg.query(dsn, "SELECT name, display_name, status FROM subreddits ORDER BY name") == [
        ("python", "Python", "ok"),
        ("rust", "rust", "ok"),
        ("secretclub", "SecretClub", "private"),
    ]
    related = pg.query(
        dsn, "SELECT related, shared_users FROM related_subreddits WHERE subreddit = 'python'"
    )
    assert related == [("rust", 2)]
    run = pg.query(dsn, "SELECT spider, finish_reason, finished_at, args, stats FROM crawl_runs")[0]
    assert run[:2] == ("items", "finished") and run[2] is not None
    assert run[3] == {
        "subs": "python",
        "api_password": "***",
        "proxy": "http://bob:***@10.1.1.1:3128",
    }
    assert run[4]["postgres/items"] == 16 and "start_time" in run[4]
    assert "hunter2" not in pg.scalar(dsn, "SELECT row_to_json(c)::text FROM crawl_runs c")
    proxies = pg.query(
        dsn,
        "SELECT host, port, success_count, error_count, ratelimited_count, blocked_count"
        " FROM proxies ORDER BY host",
    )
    assert proxies == [("10.0.0.1", 3128, 5, 0, 0, 0), ("10.0.0.2", 8080, 7, 3, 2, 1)]
    assert not list(tmp_path.glob("dead-*"))


@pytest_twisted.inlineCallbacks
def test_same_items_twice_is_idempotent(dsn: str, tmp_path: Path) -> Iterator[Any]:
    posts_sql = (
        "SELECT id, subreddit, author, title, score, first_seen_at, crawled_at"
        " FROM posts ORDER BY id"
    )
    yield crawl(settings_for(dsn, tmp_path), world())
    first, first_posts = pg.counts(dsn, TABLES), pg.query(dsn, posts_sql)
    # a small batch size this time: the same rows arrive in other batches
    yield crawl(settings_for(dsn, tmp_path, POSTGRES_BATCH_SIZE=2), world())
    second = pg.counts(dsn, TABLES)
    assert second == {**first, "subreddit_snapshots": 6, "crawl_runs": 2}
    assert pg.query(dsn, posts_sql) == first_posts
    per_sub = pg.query(
        dsn, "SELECT subreddit, count(*) FROM subreddit_snapshots GROUP BY 1 ORDER BY 1"
    )
    assert per_sub == [("python", 2), ("rust", 2), ("secretclub", 2)]


@pytest_twisted.inlineCallbacks
def test_recrawl_keeps_latest_state(dsn: str, tmp_path: Path) -> Iterator[Any]:
    later = T0 + timedelta(days=1)
    rules = [RuleItem(i, f"rule {i}", "all", None, None, None) for i in (1, 2, 3)]
    sub = {"status": "ok", "depth": 1, "crawled_at": later}
    first = [
        SubredditItem(
            name="Python", status="ok", depth=0, crawled_at=T0, title="Old", subscribers=10,
            rules=rules,
        ),
        UserItem(name="alice", status="ok", crawled_at=T0, link_karma=5),
    ]  # fmt: skip
    second = [
        # the rules request failed: the stored rules stay; a later state otherwise wins
        SubredditItem(name="python", title="New", subscribers=12, failed_parts=["rules"], **sub),
        # a failed fetch keeps the last known values
        UserItem(name="Alice", status="failed", crawled_at=later),
    ]
    third = [SubredditItem(name="PYTHON", rules=rules[:1], **sub)]
    for items in (first, second, third):
        yield crawl(settings_for(dsn, tmp_path), items)
    assert pg.query(
        dsn, "SELECT name, display_name, title, subscribers, depth FROM subreddits"
    ) == [("python", "PYTHON", None, None, 1)]
    assert pg.query(dsn, "SELECT status, link_karma, display_name FROM users") == [
        ("failed", 5, "Alice")
    ]
    assert pg.query(dsn, "SELECT position, short_name FROM subreddit_rules") == [(0, "rule 1")]
    growth = pg.query(dsn, "SELECT subscribers, subscribers_delta FROM subreddit_growth")
    assert growth == [(10, None), (12, 2)]


@pytest_twisted.inlineCallbacks
def test_text_round_trips(dsn: str, tmp_path: Path) -> Iterator[Any]:
    long_text = ("שלום עולם مرحبا بالعالم 🐍🚀 " * 2000)[:40_000]
    items = [
        post("t1", "py\x00thon", "al\x00ice", T0, title="nul\x00inside", selftext=long_text),
        post("t2", "python", "bob", T0, title="emoji 👩‍💻 and RTL ‏עברית‎", selftext="x\x00" * 10),
        SubredditItem(
            name="python", status="ok", depth=0, crawled_at=T0, public_description="عربي 🎉",
            rules=[RuleItem(1, "קודם\x00", None, "🙂" * 500, None, None)],
        ),
        UserItem(name="ünïcödé_ÄÖ", status="ok", crawled_at=T0),
    ]  # fmt: skip
    crawler = yield crawl(settings_for(dsn, tmp_path), items)
    assert_accounted(crawler)
    assert stat(crawler, "postgres/deadletter") == 0
    rows = dict(pg.query(dsn, "SELECT id, selftext FROM posts"))
    assert rows["t1"] == long_text and len(rows["t1"]) == 40_000
    assert rows["t2"] == "x" * 10
    assert pg.query(dsn, "SELECT subreddit, author, title FROM posts WHERE id = 't1'") == [
        ("python", "alice", "nulinside")
    ]
    assert pg.scalar(dsn, "SELECT title FROM posts WHERE id = 't2'") == "emoji 👩‍💻 and RTL ‏עברית‎"
    assert pg.scalar(dsn, "SELECT public_description FROM subreddits") == "عربي 🎉"
    assert pg.query(dsn, "SELECT short_name, description FROM subreddit_rules") == [
        ("קודם", "🙂" * 500)
    ]
    assert pg.query(dsn, "SELECT name, display_name FROM users") == [("ünïcödé_äö", "ünïcödé_ÄÖ")]


@pytest_twisted.inlineCallbacks
def test_bad_rows_are_dead_lettered_and_batch_mates_land(dsn: str, tmp_path: Path) -> Iterator[Any]:
    good = [post(f"g{i}", "python", "alice", T0, listings=[("hot", i + 1)]) for i in range(40)]
    bad = [
        post("huge", "python", "bob", T0, score=2**40),  # integer out of range
        post("notitle", "python", "bob", T0, title=None),  # NOT NULL
        SubredditItem(name="weird", status="sideways", depth=0, crawled_at=T0),  # CHECK status
        ActivityItem("bob", "python", -1, T0),  # CHECK (post_count >= 0)
        {"something": "else"},  # not one of our items
    ]
    items = good[:20] + bad + good[20:]
    crawler = yield crawl(settings_for(dsn, tmp_path, POSTGRES_BATCH_SIZE=1000), items)
    assert stat(crawler, "postgres/items") == 45
    assert stat(crawler, "postgres/items/written") == 40
    assert stat(crawler, "postgres/deadletter") == 5
    assert_accounted(crawler)
    assert pg.counts(dsn, ["posts", "post_listings", "subreddits", "user_activity"]) == {
        "posts": 40,
        "post_listings": 40,
        "subreddits": 0,
        "user_activity": 0,
    }
    (dead_file,) = tmp_path.glob("dead-items.jsonl")
    letters = [json.loads(line) for line in dead_file.read_text().splitlines()]
    assert len(letters) == 5
    by_id = {
        (d["kind"], (d["item"] or {}).get("id") or (d["item"] or {}).get("name")): d
        for d in letters
    }
    assert by_id[("post", "huge")]["sqlstate"] == "22003"
    assert by_id[("post", "notitle")]["sqlstate"] == "23502"
    assert by_id[("subreddit", "weird")]["sqlstate"] == "23514"
    assert all(d["error"] and d["run_id"] for d in letters)
    assert by_id[("post", "huge")]["item"]["score"] == 2**40


@pytest_twisted.inlineCallbacks
def test_items_stored_reports_each_item_once_after_commit(
    dsn: str, tmp_path: Path
) -> Iterator[Any]:
    good = [post(f"i{i}", "python", "alice", T0) for i in range(25)]
    too_big = post("huge", "python", "bob", T0, score=2**40)  # dead-lettered by PostgreSQL
    not_storable = {"something": "else"}  # dead-lettered before the database
    items: list[Any] = [*good[:10], too_big, *good[10:17], not_storable, *good[17:]]
    reports: list[list[Any]] = []
    problems: list[str] = []

    def stored(items: list[Any]) -> None:
        reports.append(list(items))
        ids = [i.id for i in items if isinstance(i, PostItem) and i.id != "huge"]
        found = {r[0] for r in pg.query(dsn, "SELECT id FROM posts WHERE id = ANY(%s)", [ids])}
        if found != set(ids):
            problems.append(f"reported before commit: {sorted(set(ids) - found)}")
        dead_file = tmp_path / "dead-items.jsonl"
        letters = dead_file.read_text().splitlines() if dead_file.exists() else []
        dead = [i for i in items if i is not_storable or i is too_big]
        if len(letters) < len(dead):
            problems.append("dead letter reported before it was written")

    async def listen(spider: Spider) -> None:
        spider.crawler.signals.connect(stored, signal=items_stored)

    settings = settings_for(dsn, tmp_path, POSTGRES_BATCH_SIZE=4)
    crawler = yield crawl(settings, [listen, *items])
    assert problems == []
    assert len(reports) > 1  # several flushes
    reported = [item for report in reports for item in report]
    assert sorted(map(id, reported)) == sorted(map(id, items))  # each exactly once
    assert stat(crawler, "postgres/deadletter") == 2
    assert pg.scalar(dsn, "SELECT count(*) FROM posts") == 25


@pytest_twisted.inlineCallbacks
def test_connection_killed_between_batches_reconnects(dsn: str, tmp_path: Path) -> Iterator[Any]:
    first = [post(f"a{i}", "python", "alice", T0) for i in range(50)]
    second = [post(f"b{i}", "python", "alice", T0) for i in range(50)]

    async def kill(spider: Spider) -> None:
        await until(lambda: stat(spider.crawler, "postgres/items/written") == 50)
        assert pg.terminate_backends(dsn, APPLICATION_NAME) == 1

    settings = settings_for(dsn, tmp_path, POSTGRES_BATCH_SIZE=50)
    crawler = yield crawl(settings, [*first, kill, *second])
    assert pg.scalar(dsn, "SELECT count(*) FROM posts") == 100
    assert stat(crawler, "postgres/retries") >= 1
    assert stat(crawler, "postgres/deadletter") == 0
    assert_accounted(crawler)
    assert pg.scalar(dsn, "SELECT finish_reason FROM crawl_runs") == "finished"


@pytest_twisted.inlineCallbacks
def test_connection_killed_inside_a_flush_retries_it(dsn: str, tmp_path: Path) -> Iterator[Any]:
    blocker = psycopg.connect(dsn, autocommit=False)
    items = [post(f"k{i}", "python", "alice", T0, listings=[("hot", i + 1)]) for i in range(60)]

    async def lock(spider: Spider) -> None:
        blocker.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")

    async def kill_while_blocked(spider: Spider) -> None:
        waiting = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND wait_event_type = 'Lock'"
        )
        await until(lambda: pg.scalar(pg.ADMIN_DSN, waiting, [APPLICATION_NAME]) == 1)
        assert pg.terminate_backends(dsn, APPLICATION_NAME) == 1
        blocker.rollback()

    settings = settings_for(dsn, tmp_path, POSTGRES_BATCH_SIZE=30)
    try:
        crawler = yield crawl(settings, [lock, *items, kill_while_blocked])
    finally:
        blocker.close()
    assert pg.scalar(dsn, "SELECT count(*) FROM posts") == 60
    assert pg.scalar(dsn, "SELECT count(*) FROM post_listings") == 60
    assert stat(crawler, "postgres/retries") >= 1
    assert_accounted(crawler)


@pytest_twisted.inlineCallbacks
def test_database_gone_dead_letters_instead_of_dropping(dsn: str, tmp_path: Path) -> Iterator[Any]:
    dbname = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]

    def allow(on: bool) -> None:
        value = "true" if on else "false"
        pg.execute(pg.ADMIN_DSN, f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS {value}')

    async def take_database_away(spider: Spider) -> None:
        await until(lambda: stat(spider.crawler, "postgres/items/written") == 10)
        allow(False)
        pg.terminate_backends(dsn, APPLICATION_NAME)

    async def bring_it_back(spider: Spider) -> None:
        await until(lambda: stat(spider.crawler, "postgres/deadletter") == 10)
        allow(True)

    first = [post(f"a{i}", "python", "alice", T0) for i in range(10)]
    second = [post(f"b{i}", "python", "alice", T0) for i in range(10)]
    settings = settings_for(dsn, tmp_path, POSTGRES_BATCH_SIZE=10, POSTGRES_RETRIES=2)
    try:
        script = [*first, take_database_away, *second, bring_it_back]
        crawler = yield crawl(settings, script)
    finally:
        allow(True)
    assert pg.scalar(dsn, "SELECT count(*) FROM posts") == 10
    assert stat(crawler, "postgres/deadletter") == 10
    assert_accounted(crawler)
    letters = (tmp_path / "dead-items.jsonl").read_text().splitlines()
    assert len(letters) == 10
    assert all("PostgreSQL unavailable at" in json.loads(line)["error"] for line in letters)
    assert pg.scalar(dsn, "SELECT finish_reason FROM crawl_runs") == "finished"


@pytest_twisted.inlineCallbacks
def test_process_item_waits_when_the_database_is_slow(dsn: str, tmp_path: Path) -> Iterator[Any]:
    blocker = psycopg.connect(dsn, autocommit=False)
    items = [post(f"s{i}", "python", "alice", T0) for i in range(300)]
    seen: dict[str, int] = {}

    async def lock(spider: Spider) -> None:
        blocker.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")

    async def sample_then_release(spider: Spider) -> None:
        pipeline = pipeline_of(spider)
        await asyncio.sleep(1.0)
        seen["received"] = stat(spider.crawler, "postgres/items")
        seen["written"] = stat(spider.crawler, "postgres/items/written")
        seen["in_memory"] = sum(map(len, pipeline._buffers.values())) + sum(
            p.size for p in pipeline._pending
        )
        blocker.rollback()

    settings = settings_for(dsn, tmp_path, POSTGRES_BATCH_SIZE=10, POSTGRES_MAX_BUFFERED_BATCHES=2)
    try:
        crawler = yield crawl(settings, [lock, *items, sample_then_release])
    finally:
        blocker.close()
    assert seen["received"] == 300 and seen["written"] == 0
    assert seen["in_memory"] <= (2 + 1) * 10 + 10
    assert pg.scalar(dsn, "SELECT count(*) FROM posts") == 300
    assert_accounted(crawler)


def test_unreachable_database_stops_before_the_crawl(tmp_path: Path) -> None:
    bad = "postgresql://rc_user:hunter2@127.0.0.1:1/reddit"
    crawler = get_crawler(ItemsSpider, settings_for(bad, tmp_path))
    with pytest.raises(DatabaseUnavailable) as caught:
        build_from_crawler(PostgresPipeline, crawler)
    message = str(caught.value)
    assert "\n" not in message and "hunter2" not in message
    assert message.startswith(
        "PostgreSQL unavailable at postgresql://rc_user:***@127.0.0.1:1/reddit: "
    )
    assert isinstance(caught.value, StorageError)


def test_disabled_pipeline_is_not_configured(tmp_path: Path) -> None:
    settings = settings_for("postgresql://x:y@127.0.0.1:1/z", tmp_path, POSTGRES_ENABLED=False)
    with pytest.raises(NotConfigured):
        build_from_crawler(PostgresPipeline, get_crawler(ItemsSpider, settings))


def test_database_url_is_used_when_no_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env_user:envsecret@127.0.0.1:1/fromenv")
    settings = {**settings_for("", tmp_path)}
    del settings["POSTGRES_DSN"]
    with pytest.raises(DatabaseUnavailable, match=r"env_user:\*\*\*@127\.0\.0\.1:1/fromenv"):
        build_from_crawler(PostgresPipeline, get_crawler(ItemsSpider, settings))


# -- SIGTERM: a real process, stopped while items are still buffered -------------------------
SIGTERM_SCRIPT = """
import asyncio, json, sys
from datetime import UTC, datetime
from scrapy import Spider
from scrapy.crawler import AsyncCrawlerProcess
from reddit_crawler.items import PostItem

class Forever(Spider):
    name = "forever"
    async def start(self):
        n = 0
        while True:
            n += 1
            yield PostItem(id=f"s{n}", subreddit="python", author="a", title="t",
                           created_utc=None, crawled_at=datetime.now(UTC))
            if n % 100 == 0:
                print(f"yielded {n}", flush=True)
                await asyncio.sleep(0.02)

process = AsyncCrawlerProcess(json.loads(sys.argv[1]))
process.crawl(Forever)
process.start()
"""


def test_sigterm_flushes_everything_buffered(dsn: str, tmp_path: Path) -> None:
    settings = {
        **settings_for(dsn, tmp_path),
        "ITEM_PIPELINES": {PIPELINE: 300},
        "POSTGRES_BATCH_SIZE": 1_000_000,  # nothing is flushed before the signal …
        "POSTGRES_FLUSH_INTERVAL": 3600,
        "LOG_LEVEL": "WARNING",
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", SIGTERM_SCRIPT, json.dumps(settings)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    watchdog = threading.Timer(30, proc.kill)
    watchdog.start()
    try:
        for line in proc.stdout:
            if line.startswith("yielded 1000"):
                break
        assert pg.scalar(dsn, "SELECT count(*) FROM posts") == 0  # … so all is still buffered
        proc.send_signal(signal.SIGTERM)
        proc.communicate()
    finally:
        watchdog.cancel()
    reason, stats = pg.query(dsn, "SELECT finish_reason, stats FROM crawl_runs")[0]
    assert reason == "shutdown"
    written = pg.scalar(dsn, "SELECT count(*) FROM posts")
    assert written >= 1000
    assert written == stats["postgres/items"] == stats["postgres/items/written"]


def test_forced_shutdown_still_writes_everything(dsn: str, tmp_path: Path) -> None:
    """Ctrl-C twice while the close-time flush is blocked: the atexit hook completes it."""
    settings = {
        **settings_for(dsn, tmp_path),
        "POSTGRES_BATCH_SIZE": 1_000_000,
        "POSTGRES_FLUSH_INTERVAL": 3600,
        "LOG_LEVEL": "WARNING",
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", SIGTERM_SCRIPT, json.dumps(settings)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    blocker = psycopg.connect(dsn, autocommit=False)
    watchdog = threading.Timer(40, proc.kill)
    watchdog.start()
    waiting = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE application_name = %s AND wait_event_type = 'Lock'"
    )
    try:
        for line in proc.stdout:
            if line.startswith("yielded 500"):
                break
        blocker.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")
        proc.send_signal(signal.SIGINT)  # graceful stop: the close-time flush now waits …
        deadline = time.monotonic() + 20
        while pg.scalar(pg.ADMIN_DSN, waiting, [APPLICATION_NAME]) != 1:
            assert time.monotonic() < deadline, "the flush never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # … and a second Ctrl-C stops the reactor
        time.sleep(1.0)
        blocker.rollback()
        proc.communicate()
    finally:
        watchdog.cancel()
        blocker.close()
    reason, stats = pg.query(dsn, "SELECT finish_reason, stats FROM crawl_runs")[0]
    assert reason == "shutdown (forced)"
    written = pg.scalar(dsn, "SELECT count(*) FROM posts")
    assert written >= 500
    assert written == stats["postgres/items"] == stats["postgres/items/written"]


@pytest_twisted.inlineCallbacks
def test_items_lost_reports_a_failed_flush(dsn: str, tmp_path: Path) -> Iterator[Any]:
    items = [post(f"l{i}", "python", "alice", T0) for i in range(6)]
    lost: list[Any] = []

    def broken_flush(job: Any) -> Any:
        raise RuntimeError("writer broke")

    def on_lost(items: list[Any]) -> None:
        lost.extend(items)

    def on_stored(items: list[Any]) -> None:
        lost.append("stored?")

    async def break_writer(spider: Spider) -> None:
        pipeline = pipeline_of(spider)
        assert pipeline._writer is not None
        pipeline._writer.flush = broken_flush  # type: ignore[method-assign]
        spider.crawler.signals.connect(on_lost, signal=items_lost)
        spider.crawler.signals.connect(on_stored, signal=items_stored)

    settings = settings_for(dsn, tmp_path, POSTGRES_BATCH_SIZE=4)
    crawler = yield crawl(settings, [break_writer, *items])
    assert sorted(map(id, lost)) == sorted(map(id, items))  # each once, none "stored"
    assert stat(crawler, "postgres/lost") == 6
