"""Crawls of the stand-in into the real PostgreSQL: exact rows, idempotence, restarts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from scripts.demo_queries import TABLES
from tests import pg
from tests.conftest import Tenant
from tests.crawl import CrawlResult, run_crawl, start_crawl
from tests.pgcluster import private_cluster
from tests.test_spider_reddit import assert_matches_truth

SEEDS = ["python", "learnpython", "datascience", "secretclub", "doesnotexist"]
PLAN = {"users_per_sub": 6, "depth": 1, "max_subs": 12}


# The crawls migrate their database themselves (conftest.py: dsn).
DSN_MIGRATED = False


def crawl_into(dsn: str, tenant: Tenant, tmp_path: Path, **settings: Any) -> CrawlResult:
    result = run_crawl(
        tenant.base_url,
        tmp_path,
        {"subs": ",".join(SEEDS), **PLAN},
        {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": dsn, **settings},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def database_view(dsn: str) -> dict[str, Any]:
    """The database in the shape of the stand-in's truth."""
    return {
        "subreddits": dict(pg.query(dsn, "SELECT name, status FROM subreddits")),
        "posts": sorted(r[0] for r in pg.query(dsn, "SELECT id FROM posts")),
        "users": {r[0]: r[1] for r in pg.query(dsn, "SELECT name, status FROM users")},
        "edges": sorted(
            list(r)
            for r in pg.query(dsn, "SELECT username, subreddit, post_count FROM user_activity")
        ),
        "discovered": sorted(
            list(r)
            for r in pg.query(
                dsn, "SELECT subreddit, from_subreddit, via_user FROM subreddit_discoveries"
            )
        ),
    }


def lowered(truth: dict[str, Any]) -> dict[str, Any]:
    return {
        "subreddits": truth["subreddits"],
        "posts": truth["posts"],
        "users": {k.lower(): v for k, v in truth["users"].items()},
        "edges": sorted([u.lower(), s.lower(), n] for u, s, n in truth["edges"]),
        "discovered": sorted(
            [s, f, u] for s, f, u in {tuple(x.lower() for x in t) for t in truth["discovered"]}
        ),
    }


def test_crawl_stores_exactly_the_truth(dsn: str, tenant: Tenant, tmp_path: Path) -> None:
    result = crawl_into(dsn, tenant, tmp_path)
    truth = tenant.truth(SEEDS, **PLAN)
    assert_matches_truth(result, truth)
    stored = database_view(dsn)
    expected = lowered(truth)
    for key in expected:
        assert stored[key] == expected[key], key
    snapshots = pg.scalar(dsn, "SELECT count(*) FROM subreddit_snapshots")
    assert snapshots == len(truth["subreddits"])
    run = pg.query(dsn, "SELECT finish_reason, finished_at IS NOT NULL, args FROM crawl_runs")
    assert len(run) == 1 and run[0][0] == "finished" and run[0][1]
    assert run[0][2]["subs"] == ",".join(SEEDS)
    # Nothing silently dropped: everything received was written.
    assert result.stats["postgres/items"] == result.stats["item_scraped_count"]
    assert result.stats["postgres/items/written"] == result.stats["postgres/items"]
    assert result.stats.get("postgres/deadletter", 0) == 0
    related = pg.query(dsn, "SELECT related FROM related_subreddits WHERE subreddit = 'python'")
    assert related


def test_second_identical_crawl_is_idempotent(dsn: str, tenant: Tenant, tmp_path: Path) -> None:
    crawl_into(dsn, tenant, tmp_path)
    first = database_view(dsn)
    counts = pg.counts(dsn, TABLES)
    crawl_into(dsn, tenant, tmp_path)
    assert database_view(dsn) == first
    again = pg.counts(dsn, TABLES)
    assert again["subreddit_snapshots"] == 2 * counts["subreddit_snapshots"]
    assert again["crawl_runs"] == 2
    for table in TABLES:
        if table not in ("subreddit_snapshots", "crawl_runs"):
            assert again[table] == counts[table], table


def test_text_fidelity_round_trips(dsn: str, tenant: Tenant, tmp_path: Path) -> None:
    result = crawl_into(dsn, tenant, tmp_path)
    for post in result.by_kind("post"):
        if len(post["selftext"]) > 39_000 or any(ord(c) > 0x2000 for c in post["title"]):
            row = pg.query(dsn, "SELECT title, selftext FROM posts WHERE id = %s", (post["id"],))
            assert row == [(post["title"], post["selftext"])]
    assert pg.scalar(dsn, "SELECT max(length(selftext)) FROM posts") >= 39_000
    assert pg.scalar(dsn, "SELECT count(*) FROM posts WHERE title ~ '[\u0590-\u06ff]'") > 0


def test_unreachable_database_exits_before_any_request(tenant: Tenant, tmp_path: Path) -> None:
    dsn = "postgresql://crawler:hunter2-pw@127.0.0.1:1/reddit"
    result = run_crawl(
        tenant.base_url,
        tmp_path,
        {"subs": "python"},
        {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": dsn},
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "127.0.0.1:1" in errors[0] and "***" in errors[0]
    assert "hunter2-pw" not in result.stderr
    assert tenant.requests() == []


def test_postgres_restart_mid_crawl_loses_nothing(tenant: Tenant, tmp_path: Path) -> None:
    tenant.configure(latency_ms=40)
    with private_cluster() as cluster:
        out = tmp_path / "out.jsonl"
        crawl = start_crawl(
            tenant.base_url,
            out,
            {"subs": ",".join(SEEDS), **PLAN},
            {
                "POSTGRES_ENABLED": "true",
                "POSTGRES_DSN": cluster.dsn,
                "POSTGRES_FLUSH_INTERVAL": "0.2",
                "CONCURRENT_REQUESTS": "6",
            },
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if pg.scalar(cluster.dsn, "SELECT count(*) FROM posts") > 0:
                    break
            except Exception:
                pass
            time.sleep(0.05)
        cluster.restart()
        result = crawl.wait(timeout=240)
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stats.get("postgres/retries", 0) >= 1
        assert result.stats["postgres/items/written"] == result.stats["item_scraped_count"]
        stored = database_view(cluster.dsn)
        expected = lowered(tenant.truth(SEEDS, **PLAN))
        assert stored["posts"] == expected["posts"]
        assert stored["users"] == expected["users"]
        assert stored["subreddits"] == expected["subreddits"]
