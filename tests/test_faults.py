"""Crawls under injected faults (``standin/faults.py``): real ``scrapy crawl`` processes.

- Under a 10% fault rate of every kind the crawl gives exactly the items of a fault-free crawl
  of the same world, each fault costs exactly one bounded retry, and the log stays clean.
- A subreddit whose every request fails for good is stored ``failed`` with each part's reason,
  and the next ``refresh=stale`` run (faults gone) crawls it again and mends the row.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from standin import client
from standin.faults import FAULT_KINDS, FaultConfig, request_key
from tests import pg
from tests.conftest import Tenant
from tests.crawl import CrawlResult, run_crawl, start_crawl
from tests.test_spider_reddit import assert_matches_truth

SEEDS = ["python", "learnpython", "datascience"]
PLAN = {"users_per_sub": 10, "depth": 1, "max_subs": 8}
RETRY_TIMES = 3
# Chosen so that this plan meets every kind of fault (the choice is deterministic).
FAULT_SEED = 175
FAULTS = {"rate": 0.1, "seed": FAULT_SEED, "attempts": 2, "slow_ms": 3000}
SETTINGS = {"DOWNLOAD_TIMEOUT": "2", "RETRY_TIMES": str(RETRY_TIMES)}
VOLATILE = {"crawled_at"}


def run_together(jobs: list[tuple[Tenant, Path]], args: dict[str, Any]) -> list[CrawlResult]:
    """The same crawl against several tenants at once (separate processes)."""
    crawls = [start_crawl(tenant.base_url, out, args, SETTINGS) for tenant, out in jobs]
    return [crawl.wait(timeout=240) for crawl in crawls]


def comparable(result: CrawlResult) -> dict[str, list[Any]]:
    """Every item without its crawl time, in a stable order per kind."""
    out: dict[str, list[Any]] = {}
    for kind, items in result.items.items():
        rows = [
            repr(sorted((k, v) for k, v in item.items() if k not in VOLATILE)) for item in items
        ]
        out[kind] = sorted(rows)
    return out


@pytest.fixture
def faulty(standin_root: str, request: pytest.FixtureRequest) -> Iterator[Tenant]:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[:56] + "_faulty"
    client.reset(standin_root, name)
    yield Tenant(standin_root, name)
    client.reset(standin_root, name)


def test_crawl_under_ten_percent_faults_loses_nothing(
    tenant: Tenant, faulty: Tenant, tmp_path: Path
) -> None:
    faulty.configure(faults=FAULTS)  # same world as ``tenant`` (default seed)
    args = {"subs": ",".join(SEEDS), **PLAN}
    clean, faulted = run_together(
        [(tenant, tmp_path / "clean.jsonl"), (faulty, tmp_path / "faulty.jsonl")], args
    )
    assert clean.returncode == 0, clean.stderr[-3000:]
    assert faulted.returncode == 0, faulted.stderr[-3000:]
    truth = tenant.truth(SEEDS, **PLAN)
    assert_matches_truth(clean, truth)

    # Faults really happened, of every kind.
    log = faulty.requests()
    faults = Counter(e["fault"] for e in log if e["fault"])
    assert set(faults) == set(FAULT_KINDS), faults
    # Each request that faulted was retried until answered, and no more: a chosen request was
    # sent 1 + attempts times, any other once; so the crawl never spent more than RETRY_TIMES.
    sent: dict[str, list[int]] = defaultdict(list)
    for entry in log:
        sent[request_key(entry["path"], entry["query"])].append(entry["attempt"])
    config = FaultConfig(FAULTS["rate"], FAULT_KINDS, FAULT_SEED, FAULTS["attempts"])
    for key, attempts in sent.items():
        expected = 1 + FAULTS["attempts"] if config.chosen(key) else 1
        assert sorted(attempts) == list(range(1, expected + 1)), key
    assert max(len(a) for a in sent.values()) <= RETRY_TIMES + 1
    assert len(sent) == len(tenant.requests()) == truth["requests"]["total"]
    stats = faulted.stats
    assert stats["retry/count"] == sum(faults.values())
    assert "retry/max_reached" not in stats
    assert stats["retry/reason_count/reddit/bad_body"] == sum(
        faults[k] for k in ("truncated", "html", "empty", "garbage")
    )
    assert stats["retry/reason_count/reddit/redirect"] == faults["login"] + faults["over18"]
    assert not [k for k in stats if k.startswith("reddit/failed/")]

    # Exactly the same items as the fault-free crawl: subreddits (about fields, rules,
    # listing statistics), posts with their ranks, users, activity edges and discoveries.
    assert comparable(faulted) == comparable(clean)
    assert all(not s["failed_parts"] for s in faulted.by_kind("subreddit"))
    assert all(not u["failed_parts"] for u in faulted.by_kind("user"))
    for text in (faulted.stderr, clean.stderr):
        for bad in ("Traceback", "Unhandled", " ERROR: ", " CRITICAL: "):
            assert bad not in text, text[text.find(bad) - 2000 :][:4000]


# The reason a part records when the last attempt (RETRY_TIMES + 1) met each kind.
REASONS = {
    "500": r"HTTP 500",
    "502": r"HTTP 502",
    "503": r"HTTP 503",
    "reset": r"ResponseDataLossError: .*",
    "truncated": r"HTTP 200 not JSON: .*",
    "html": r"HTTP 200 not JSON: .*",
    "empty": r"HTTP 200 not JSON: .*",
    "garbage": r"HTTP 200 not JSON: .*",
    "login": r"HTTP 302 to /t/[\w-]+/login/",
    "over18": r"HTTP 302 to /t/[\w-]+/over18",
}
PARTS = {
    "about": "/r/learnpython/about.json?raw_json=1",
    "rules": "/r/learnpython/about/rules.json?raw_json=1",
    "hot": "/r/learnpython/hot.json?limit=30&raw_json=1",
    "top_week": "/r/learnpython/top.json?limit=10&raw_json=1&t=week",
    "top_year": "/r/learnpython/top.json?limit=100&raw_json=1&t=year",
}


def test_persistent_faults_fail_a_subreddit_and_refresh_mends_it(
    tenant: Tenant, tmp_path: Path
) -> None:
    kinds = [k for k in FAULT_KINDS if k != "slow"]
    faults = {"rate": 1, "kinds": kinds, "seed": 2, "attempts": None, "match": "^/r/learnpython/"}
    tenant.configure(faults=faults)
    with pg.throwaway_database(migrated=False) as dsn:
        settings = {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": dsn}
        first = run_crawl(
            tenant.base_url, tmp_path, {"subs": "python,learnpython", "users_per_sub": 3}, settings
        )
        assert first.returncode == 0, first.stderr[-3000:]
        assert "Traceback" not in first.stderr and "Unhandled" not in first.stderr
        # Every learnpython request was sent exactly 1 + RETRY_TIMES times, then given up.
        log = tenant.requests()
        sent = Counter(request_key(e["path"], e["query"]) for e in log)
        assert {k: n for k, n in sent.items() if "learnpython" in k} == {
            key: RETRY_TIMES + 1 for key in PARTS.values()
        }
        status, failed_parts = pg.query(
            dsn, "SELECT status, failed_parts FROM subreddits WHERE name = 'learnpython'"
        )[0]
        assert status == "failed"
        config = FaultConfig(1.0, tuple(kinds), 2, None, "^/r/learnpython/")
        assert len(failed_parts) == len(PARTS)
        for part, key in PARTS.items():
            last = config.decide(key, RETRY_TIMES + 1)
            assert last is not None
            (entry,) = [p for p in failed_parts if p.startswith(f"{part}: ")]
            assert re.fullmatch(f"{part}: {REASONS[last]}", entry), (entry, last)
        stats = first.stats
        assert stats["reddit/subreddit/failed"] == 1 and stats["reddit/subreddit/ok"] == 1
        assert all(stats[f"reddit/failed/{part}"] == 1 for part in PARTS)
        assert "sub learnpython about failed: " in first.stderr
        assert pg.query(dsn, "SELECT status FROM subreddits WHERE name = 'python'") == [("ok",)]

        # The faults are gone; the scheduled refresh picks the failed subreddit and mends it.
        tenant.configure()
        client.clear_requests(tenant.root, tenant.name)
        second = run_crawl(
            tenant.base_url, tmp_path, {"refresh": "stale", "users_per_sub": 3}, settings
        )
        assert second.returncode == 0, second.stderr[-3000:]
        crawled = {
            e["path"].split("/")[2].lower() for e in tenant.requests() if e["path"][1] == "r"
        }
        assert crawled == {"learnpython"}
        row = pg.query(
            dsn,
            "SELECT status, failed_parts, last_ok_at IS NOT NULL FROM subreddits"
            " WHERE name = 'learnpython'",
        )
        assert row == [("ok", [], True)]
        truth = tenant.truth(["learnpython"], users_per_sub=3)
        stored = {r[0] for r in pg.query(dsn, "SELECT id FROM posts")}
        assert set(truth["posts"]) <= stored  # its listings and its users' posts
        assert second.stats["reddit/subreddit/ok"] == 1
