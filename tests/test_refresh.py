"""Refresh runs (``-a refresh=stale``), the user skip cache and review statuses: real crawls of
the stand-in into a throw-away database, timestamps aged by SQL between runs, and the
stand-in's request log telling exactly which subreddits and users each run fetched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from scrapy.settings import Settings

from reddit_crawler.db import Migration, load_migrations, migrate
from reddit_crawler.plan import (
    PlanError,
    RefreshOptions,
    build_plan,
    build_refresh_options,
    parse_duration,
)
from standin import client
from tests import pg
from tests.conftest import Tenant
from tests.crawl import CrawlResult, run_crawl
from tests.test_spider_reddit import observed
from tests.test_storage_e2e import database_view, lowered

SEEDS = ["python", "learnpython", "datascience", "secretclub", "gatedsub"]


# The crawls migrate their database themselves (conftest.py: dsn).
DSN_MIGRATED = False


def crawl(
    tenant: Tenant, tmp_path: Path, dsn: str, args: dict[str, Any], **settings: Any
) -> CrawlResult:
    """One crawl into ``dsn``; the stand-in's request log is emptied first."""
    client.clear_requests(tenant.root, tenant.name)
    result = run_crawl(
        tenant.base_url,
        tmp_path,
        args,
        {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": dsn, **settings},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def fetched(tenant: Tenant) -> tuple[set[str], set[str]]:
    """Lower-case subreddits and users the last crawl requested."""
    subs, users = set(), set()
    for request in tenant.requests():
        parts = request["path"].split("/")
        (users if parts[1] == "user" else subs).add(parts[2].lower())
    return subs, users


def age(dsn: str, table: str, names: list[str], interval: str) -> None:
    """Make rows of ``table`` look crawled ``interval`` ago."""
    column = "last_ok_at = now() - %(i)s::interval, " if table == "subreddits" else ""
    pg.execute(
        dsn,
        f"UPDATE {table} SET {column}crawled_at = now() - %(i)s::interval WHERE name = ANY(%(n)s)",
        {"i": interval, "n": names},
    )


# -- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90m", 5400), ("12h", 43200), ("7d", 604800), ("1d12h", 129600), ("0", 0), ("30s", 30)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration("stale_after", text) == seconds


@pytest.mark.parametrize("text", ["12", "12x", "h", "-1h", "1.5.2d", "3651d"])
def test_bad_duration_is_named(text: str) -> None:
    with pytest.raises(PlanError, match=r"^stale_after must be"):
        parse_duration("stale_after", text)


def test_refresh_options_defaults_and_settings() -> None:
    assert build_refresh_options({}, Settings()) == RefreshOptions(
        refresh="", stale_after=86400, user_fresh_for=604800, job="", skip_review=("no seller",)
    )
    settings = Settings(
        {
            "REDDIT_REFRESH": "stale",
            "REDDIT_STALE_AFTER": "6h",
            "SKIP_REVIEW_STATUSES": " No Seller ,Spam,spam",
        }
    )
    options = build_refresh_options({"user_fresh_for": "2d", "crawl": "nightly"}, settings)
    assert options == RefreshOptions("stale", 21600, 172800, "nightly", ("no seller", "spam"))
    assert build_refresh_options({}, Settings({"SKIP_REVIEW_STATUSES": []})).skip_review == ()


def test_refresh_needs_no_seeds_but_the_database() -> None:
    assert build_plan({"refresh": "stale"}, Settings()).seeds == []
    with pytest.raises(PlanError, match=r"^refresh=stale needs the database"):
        build_plan({"refresh": "stale"}, Settings({"POSTGRES_ENABLED": False}))
    with pytest.raises(PlanError, match=r"^unknown refresh value 'all'"):
        build_plan({"refresh": "all"}, Settings())
    with pytest.raises(PlanError, match=r"^invalid job name crawl='a b'"):
        build_plan({"subs": "python", "crawl": "a b"}, Settings())


def test_refresh_without_database_stops_before_any_request(tenant: Tenant, tmp_path: Path) -> None:
    result = run_crawl(tenant.base_url, tmp_path, {"refresh": "stale"})
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: refresh=stale needs the database, but POSTGRES_ENABLED is false"]
    assert tenant.requests() == []


# -- refresh=stale -----------------------------------------------------------------------------


def test_refresh_crawls_exactly_the_stale_and_failed_subreddits(
    dsn: str, tenant: Tenant, tmp_path: Path
) -> None:
    crawl(tenant, tmp_path, dsn, {"subs": ",".join(SEEDS), "users_per_sub": 3})
    stored = pg.query(dsn, "SELECT name FROM subreddits WHERE last_ok_at = crawled_at")
    assert sorted(n for (n,) in stored) == sorted(SEEDS)
    age(dsn, "subreddits", ["python"], "3 days")
    age(dsn, "subreddits", ["learnpython"], "25 hours")
    age(dsn, "subreddits", ["secretclub"], "23 hours")  # not stale yet
    pg.execute(dsn, "UPDATE subreddits SET status = 'failed' WHERE name = 'datascience'")
    pg.execute(
        dsn,
        "UPDATE subreddits SET failed_parts = '{rules: HTTP 500}' WHERE name = %s",
        ["gatedsub"],
    )

    result = crawl(tenant, tmp_path, dsn, {"refresh": "stale", "users_per_sub": 3})
    subs, users = fetched(tenant)
    assert subs == {"python", "learnpython", "datascience", "gatedsub"}
    assert users == set()  # every user they select was fetched by the first run
    assert result.stats["reddit/user/skipped_fresh"] > 0
    assert "4 subreddit(s) to refresh (2 failed last time, 2 stale)" in result.stderr
    # Refreshed: a new snapshot each, the failure is history, last_ok_at moved on.
    snapshots = pg.query(dsn, "SELECT subreddit, count(*) FROM subreddit_snapshots GROUP BY 1")
    assert dict(snapshots) == {**dict.fromkeys(subs, 2), "secretclub": 1}
    due = pg.query(
        dsn,
        "SELECT name FROM subreddits WHERE status = 'failed' OR failed_parts <> '{}'"
        " OR last_ok_at < now() - interval '1 hour'",
    )
    assert due == [("secretclub",)]  # aged by hand, not stale yet
    args = pg.scalar(dsn, "SELECT args FROM crawl_runs ORDER BY id DESC LIMIT 1")
    assert args["refresh"] == "stale"

    # Oldest first, up to max_subs; failed ones before stale ones.
    age(dsn, "subreddits", ["python"], "3 days")
    age(dsn, "subreddits", ["learnpython"], "5 days")
    age(dsn, "subreddits", ["datascience"], "2 days")
    crawl(tenant, tmp_path, dsn, {"refresh": "stale", "max_subs": 2, "users_per_sub": 3})
    assert fetched(tenant)[0] == {"learnpython", "python"}
    pg.execute(dsn, "UPDATE subreddits SET status = 'failed' WHERE name = 'secretclub'")
    crawl(tenant, tmp_path, dsn, {"refresh": "stale", "max_subs": 1, "users_per_sub": 3})
    assert fetched(tenant)[0] == {"secretclub"}

    # Nothing stale: a clean run that sends nothing.
    result = crawl(tenant, tmp_path, dsn, {"refresh": "stale", "stale_after": "7d"})
    assert tenant.requests() == []
    assert "nothing to refresh" in result.stderr
    assert result.stats["finish_reason"] == "finished"


def test_refresh_with_seeds_and_discovery(dsn: str, tenant: Tenant, tmp_path: Path) -> None:
    plan = {"users_per_sub": 3, "depth": 1, "max_subs": 6}
    unlimited = tenant.truth(["datascience", "python"], **{**plan, "max_subs": 100})
    candidates = list(unlimited["subreddits"])[2:]
    fresh = candidates[1]
    crawl(tenant, tmp_path, dsn, {"subs": f"python,{fresh}", "users_per_sub": 3})
    age(dsn, "subreddits", ["python"], "2 days")
    args = {"refresh": "stale", "subs": "datascience", "stale_after": "12h", **plan}
    result = crawl(tenant, tmp_path, dsn, args, REDDIT_USER_FRESH_FOR="0")
    # The seeds given first, then the stale ones; discovery goes on from both but does not
    # schedule what was crawled within stale_after: the next candidate takes its place.
    level1 = [name for name in candidates if name != fresh][:4]
    subs, users = fetched(tenant)
    assert subs == {"datascience", "python", *level1}
    assert set(observed(result)["subreddits"]) == subs
    assert result.stats["reddit/subreddit/skipped_fresh"] == 1
    assert f"subreddit {fresh} not crawled: crawled within stale_after" in result.stderr
    crawled = tenant.truth(["datascience", "python", *level1], users_per_sub=3)
    assert users == {u.lower() for u in crawled["users"]}


# -- the user skip cache ------------------------------------------------------------------------


def test_recent_users_are_not_fetched_again_but_still_lead_discovery(
    dsn: str, tenant: Tenant, tmp_path: Path
) -> None:
    seeds = ["python", "learnpython", "datascience"]
    plan = {"users_per_sub": 4, "depth": 1, "max_subs": 8}
    args = {"subs": ",".join(seeds), **plan}
    crawl(tenant, tmp_path, dsn, args)
    truth = tenant.truth(seeds, **plan)
    assert database_view(dsn) == lowered(truth)
    users = sorted(u.lower() for u in truth["users"])
    assert len(users) > 4
    age(dsn, "users", users[:2], "8 days")  # older than user_fresh_for: fetched again

    result = crawl(tenant, tmp_path, dsn, args)
    subs, fetched_users = fetched(tenant)
    assert fetched_users == set(users[:2])
    assert subs == set(truth["subreddits"])
    assert result.stats["reddit/user/skipped_fresh"] == len(users) - 2
    # Discovery through the users not fetched gives exactly what fetching them gave.
    got = observed(result)
    assert got["discovered"] == truth["discovered"]
    assert got["subreddits"] == truth["subreddits"]
    assert database_view(dsn) == lowered(truth)

    # A shorter window fetches everyone again.
    age(dsn, "users", users, "2 hours")
    crawl(tenant, tmp_path, dsn, {**args, "user_fresh_for": "90m"})
    assert fetched(tenant)[1] == set(users)


# -- review statuses --------------------------------------------------------------------------


def test_review_statuses_are_never_crawled_again(dsn: str, tenant: Tenant, tmp_path: Path) -> None:
    plan = {"users_per_sub": 3, "depth": 1, "max_subs": 4}
    crawl(tenant, tmp_path, dsn, {"subs": "python", **plan})
    truth = tenant.truth(["python"], **plan)
    discovered = sorted(name for name in truth["subreddits"] if name != "python")
    assert len(discovered) == 3
    skipped = discovered[0]
    review = "UPDATE subreddits SET review_status = %s WHERE name = %s"
    pg.execute(dsn, review, [" no SELLER ", skipped])
    pg.execute(dsn, review, ["Ok", "python"])

    # Not refreshed ...
    pg.execute(dsn, "UPDATE subreddits SET last_ok_at = now() - interval '2 days'")
    crawl(tenant, tmp_path, dsn, {"refresh": "stale", "users_per_sub": 3})
    assert fetched(tenant)[0] == set(truth["subreddits"]) - {skipped}

    # ... nor crawled as a seed, nor scheduled by discovery.
    result = crawl(tenant, tmp_path, dsn, {"subs": f"{skipped},python", **plan})
    subs = fetched(tenant)[0]
    assert skipped not in subs and "python" in subs
    assert result.stats["reddit/subreddit/skipped_review"] == 1
    said = f"subreddit {skipped} not crawled: review status ' no SELLER ' is in SKIP_REVIEW_"
    assert said in result.stderr
    assert skipped in {d[0].lower() for d in observed(result)["discovered"]}  # still recorded

    # The list is a setting.
    crawl(tenant, tmp_path, dsn, {"subs": f"{skipped},python"}, SKIP_REVIEW_STATUSES="Ok,Banned")
    assert fetched(tenant)[0] == {skipped}
    review = pg.query(dsn, "SELECT name, review_status FROM subreddits WHERE review_status <> ''")
    assert sorted(review) == sorted([(skipped, " no SELLER "), ("python", "Ok")])  # untouched


def test_migration_0003_fills_last_ok_at_of_existing_rows() -> None:
    with pg.throwaway_database(migrated=False) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            older = [m for m in load_migrations() if m.version < 3]
            apply_migrations_upto(conn, older)
            rows = [("a1", "ok", "{}"), ("b2", "private", "{}"), ("c3", "failed", "{about: x}")]
            for name, status, failed in [*rows, ("d4", "ok", "{hot: x}")]:
                conn.execute(
                    "INSERT INTO subreddits (name, display_name, status, failed_parts,"
                    " first_seen_at, crawled_at) VALUES (%s, %s, %s, %s, now(), now())",
                    [name, name, status, failed],
                )
        assert [m.version for m in migrate(dsn)] == [m.version for m in load_migrations()][2:]
        rows = pg.query(dsn, "SELECT name FROM subreddits WHERE last_ok_at = crawled_at")
        assert sorted(n for (n,) in rows) == ["a1", "b2"]
        assert pg.scalar(dsn, "SELECT count(*) FROM subreddits WHERE review_status IS NULL") == 4


def apply_migrations_upto(conn: psycopg.Connection[Any], migrations: list[Migration]) -> None:
    """Apply ``migrations`` and record them as the runner would (checksums included)."""
    conn.execute(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for migration in migrations:
        conn.execute(migration.sql.encode())
        conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
            [migration.version, migration.name, migration.checksum],
        )
