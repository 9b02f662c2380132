"""Distributed crawls: real ``scrapy enqueue`` and worker processes, the real Redis, the
stand-in, and (where storage is the point) the real PostgreSQL."""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis

from reddit_crawler.distributed.frontier import Frontier
from tests import pg
from tests.conftest import Tenant
from tests.crawl import CrawlResult, run_crawl
from tests.distributed import REDIS_URL, Crawl, comparable, merged_items, new_crawl_name
from tests.test_spider_reddit import assert_matches_truth
from tests.test_storage_e2e import database_view

SEEDS = ["python", "learnpython", "datascience", "secretclub", "doesnotexist"]
PLAN = {"subs": ",".join(SEEDS), "users_per_sub": 5, "depth": 1, "max_subs": 12}


def new_crawl(tenant: Tenant, tmp_path: Path, crawls: list[Crawl], **kw: Any) -> Crawl:
    crawl = Crawl(new_crawl_name(), tenant.base_url, tmp_path, **kw)
    crawls.append(crawl)
    return crawl


def request_keys(requests: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    return Counter((r["path"], tuple(sorted(r["query"].items()))) for r in requests)


def run_workers(crawl: Crawl, count: int, **settings: Any) -> list[Any]:
    enqueued = crawl.enqueue()
    assert enqueued.returncode == 0, enqueued.stderr[-2000:]
    for _ in range(count):
        crawl.start_worker(**settings)
    results = crawl.wait()
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        assert "ScrapyDeprecationWarning" not in result.stderr
    return results


def test_three_workers_equal_one_process_without_refetching(
    tenant: Tenant, tmp_path: Path, crawls: list[Crawl], dsn: str
) -> None:
    with pg.unused_database() as single_dsn:  # created by the crawl, dropped after
        single = run_crawl(tenant.base_url, tmp_path, PLAN, storage_in(single_dsn))
        assert single.returncode == 0, single.stderr[-2000:]
        expected = content(single_dsn)
    before = len(tenant.requests())
    # At most two units held at once per worker: the work is shared whatever the timing.
    settings = {**storage_in(dsn), "REDIS_UNITS_MAX": "2", "POSTGRES_FLUSH_INTERVAL": "0.3"}
    crawl = new_crawl(tenant, tmp_path, crawls, args=PLAN, settings=settings)
    results = run_workers(crawl, 3)
    # The database equals the single process's (snapshots: one per subreddit in each).
    assert content(dsn) == expected
    merged = merged_items(results)
    assert comparable(merged) == comparable(single.items)
    sizes = {k: v for k, v in PLAN.items() if k != "subs"}
    assert_matches_truth(CrawlResult(0, "", "", merged), tenant.truth(SEEDS, **sizes))
    requests = tenant.requests()[before:]
    assert max(request_keys(requests).values()) == 1  # no URL fetched twice
    assert len(requests) == before
    # The work was shared: more than one worker crawled subreddits.
    assert sum(1 for r in results if r.stats.get("reddit/items/subreddit")) >= 2
    status = Frontier(redis.Redis.from_url(REDIS_URL, decode_responses=True), crawl.name).status()
    assert status["finished"] and status["queued"] == 0 and status["leased"] == 0


def test_max_subs_holds_across_workers(tenant: Tenant, tmp_path: Path, crawls: list[Crawl]) -> None:
    plan = {**PLAN, "max_subs": 7}
    single = run_crawl(tenant.base_url, tmp_path, plan)
    crawl = new_crawl(tenant, tmp_path, crawls, args=plan)
    results = run_workers(crawl, 3)
    subs = [s["name"] for s in merged_items(results)["subreddit"]]
    assert len(subs) == 7
    assert sorted(subs) == sorted(s["name"] for s in single.by_kind("subreddit"))


def test_two_crawls_side_by_side_do_not_mix(
    tenant: Tenant, tmp_path: Path, crawls: list[Crawl]
) -> None:
    plans = [
        {"subs": "python,learnpython", "users_per_sub": 3, "depth": 1, "max_subs": 5},
        {"subs": "datascience", "users_per_sub": 4, "depth": 0},
    ]
    singles = [run_crawl(tenant.base_url, tmp_path, plan) for plan in plans]
    pair = [new_crawl(tenant, tmp_path, crawls, args=plan) for plan in plans]
    for crawl in pair:
        assert crawl.enqueue().returncode == 0
    for crawl in pair:
        crawl.start_worker()
        crawl.start_worker()
    for crawl, single in zip(pair, singles, strict=True):
        results = crawl.wait()
        assert all(r.returncode == 0 for r in results)
        assert comparable(merged_items(results)) == comparable(single.items)


# The crawls migrate their database themselves (conftest.py: dsn).
DSN_MIGRATED = False


def storage_in(dsn: str) -> dict[str, str]:
    return {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": dsn}


def content(dsn: str) -> dict[str, Any]:
    view = database_view(dsn)
    view["rules"] = sorted(
        pg.query(dsn, "SELECT subreddit, priority, short_name FROM subreddit_rules")
    )
    view["snapshots"] = pg.scalar(dsn, "SELECT count(*) FROM subreddit_snapshots")
    return view


def single_process_content(tenant: Tenant, tmp_path: Path, dsn: str) -> dict[str, Any]:
    """What a single-process crawl of PLAN stores in ``dsn``; the tables are emptied after."""
    single = run_crawl(tenant.base_url, tmp_path, PLAN, storage_in(dsn))
    assert single.returncode == 0, single.stderr[-2000:]
    expected = content(dsn)
    pg.execute(
        dsn,
        "TRUNCATE subreddits, subreddit_rules, subreddit_snapshots, posts, users, "
        "user_activity, subreddit_discoveries, crawl_runs",
    )
    return expected


def test_stored_crawl_equals_single_process_and_survives_a_killed_worker(
    tenant: Tenant, tmp_path: Path, crawls: list[Crawl], dsn: str
) -> None:
    storage = storage_in(dsn)
    expected = single_process_content(tenant, tmp_path, dsn)
    # Slow answers keep units in flight; short leases bring a dead worker's back soon.
    tenant.configure(latency_ms=150)
    crawl = new_crawl(
        tenant,
        tmp_path,
        crawls,
        args=PLAN,
        settings={
            **storage,
            "REDIS_LEASE": "3",
            "POSTGRES_FLUSH_INTERVAL": "3",
            "POSTGRES_BATCH_SIZE": "5000",
        },
    )
    assert crawl.enqueue().returncode == 0
    victim = crawl.start_worker()
    frontier = Frontier(redis.Redis.from_url(REDIS_URL, decode_responses=True), crawl.name)
    # Kill it once it has recorded subreddits: their items still wait in the pipeline (no flush
    # before 3 s, nor before 5,000 rows).
    held = wait_for(lambda: _holding(frontier), timeout=60)
    victim.kill()
    victim.wait()
    assert held["held"] >= 2
    crawl.start_worker()
    crawl.start_worker()
    results = crawl.wait()[1:]
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
    assert sum(r.stats.get("redis/units/requeued", 0) for r in results) >= 1
    got = content(dsn)
    got.pop("snapshots"), expected.pop("snapshots")
    assert got == expected


def _holding(frontier: Frontier) -> dict[str, Any] | None:
    status = frontier.status()
    if status.get("subs_done", 0) < 2:
        return None
    return next((w for w in status["workers"].values() if w["held"] >= 2), None)


def wait_for(check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_workers_sharing_an_oauth_client_stay_under_its_limit(
    tenant: Tenant, tmp_path: Path, crawls: list[Crawl]
) -> None:
    tenant.configure(oauth_clients={"cid": "s3cret-value"}, client_limit={"limit": 15, "window": 1})
    plan = {"subs": ",".join(SEEDS), "users_per_sub": 12}
    settings = {**tenant.oauth_settings(), "REDDIT_DEFAULT_RATE": "1200"}
    crawl = new_crawl(tenant, tmp_path, crawls, args=plan, settings=settings)
    results = run_workers(crawl, 3)
    api = [r for r in tenant.requests() if r.get("host") == "oauth"]
    assert len(api) > 4 * 15  # several windows' worth, sent by three workers
    assert not any(r["limited"] for r in api)
    assert sum(r.stats.get("reddit/ratelimit/waited", 0) for r in results) > 0
    sizes = {"users_per_sub": 12}
    assert_matches_truth(
        CrawlResult(0, "", "", merged_items(results)), tenant.truth(SEEDS, **sizes)
    )


def test_a_worker_stopped_gracefully_gives_its_units_back(
    tenant: Tenant, tmp_path: Path, crawls: list[Crawl]
) -> None:
    single = run_crawl(tenant.base_url, tmp_path, PLAN)
    tenant.configure(latency_ms=150)
    # A short lease: the heartbeat (a third of it) reports what each worker holds.
    crawl = new_crawl(tenant, tmp_path, crawls, args=PLAN, settings={"REDIS_LEASE": "3"})
    assert crawl.enqueue().returncode == 0
    victim = crawl.start_worker()
    frontier = Frontier(redis.Redis.from_url(REDIS_URL, decode_responses=True), crawl.name)
    wait_for(lambda: any(w["held"] >= 2 for w in frontier.status()["workers"].values()), 60)
    victim.send_signal(signal.SIGTERM)
    victim.wait(timeout=60)
    # Nothing left leased: each unit it held was finished and acknowledged, or given back.
    assert frontier.status()["leased"] == 0
    crawl.start_worker()
    stopped, finisher = crawl.wait()
    assert stopped.returncode == 0 and finisher.returncode == 0, finisher.stderr[-2000:]
    assert stopped.stats["finish_reason"] == "shutdown"
    taken, acked = stopped.stats["redis/units/taken"], stopped.stats.get("redis/units/acked", 0)
    assert taken >= 2 and taken == acked + stopped.stats.get("redis/units/released", 0)
    # Units given back are crawled again by the other worker: the feeds together hold every
    # item (some twice, as the database would upsert them).
    merged = {
        kind: sorted(set(rows))
        for kind, rows in comparable(merged_items([stopped, finisher])).items()
    }
    assert merged == {kind: sorted(set(rows)) for kind, rows in comparable(single.items).items()}
