"""``scrapy report``: the latest runs and a subreddit's subscriber history."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reddit_crawler.commands.report import report
from reddit_crawler.errors import ConfigError
from tests import pg
from tests.conftest import Tenant
from tests.crawl import ROOT, SCRAPY, crawl_env, run_crawl

RUN = (
    "INSERT INTO crawl_runs (spider, started_at, finished_at, finish_reason, args, stats)"
    " VALUES ('reddit', %s, %s, %s, %s, %s) RETURNING id"
)
SNAPSHOT = (
    "INSERT INTO subreddit_snapshots (run_id, subreddit, status, subscribers, active_users,"
    " taken_at) VALUES (%s, 'python', %s, %s, %s, %s)"
)


def scrapy_report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SCRAPY, "report", *args],
        cwd=ROOT,
        env=crawl_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def add_run(dsn: str, start: str, end: str | None, reason: str | None, **stats: int) -> int:
    args = json.dumps({"subs": "python", "depth": "1"})
    stats_json = json.dumps(stats) if end else None
    return int(pg.scalar(dsn, RUN, [start, end, reason, args, stats_json]))


def test_runs_newest_first_with_counts(dsn: str) -> None:
    add_run(dsn, "2026-11-01 03:00Z", "2026-11-01 03:20Z", "finished", item_scraped_count=1234)
    add_run(
        dsn, "2026-11-02 03:00Z", "2026-11-02 03:05Z", "shutdown",
        item_scraped_count=10, **{"log_count/ERROR": 2, "postgres/deadletter": 1},
    )  # fmt: skip
    add_run(dsn, "2026-11-03 03:00Z", None, None)
    lines = report(dsn, 10).splitlines()
    assert lines[0] == "latest crawl runs"
    assert lines[1].split() == [
        "run", "started", "(UTC)", "finished", "reason", "arguments", "items", "errors", "dead",
    ]  # fmt: skip
    rows = [line.split() for line in lines[3:]]
    assert [row[0] for row in rows] == ["3", "2", "1"]
    assert rows[0][1:4] == ["2026-11-03", "03:00:00", "-"] and rows[0][4] == "unfinished"
    assert rows[1][-3:] == ["10", "2", "1"] and rows[1][5] == "shutdown"
    assert rows[2][-3:] == ["1,234", "0", "0"] and "subs=python depth=1" in lines[5]
    assert len(report(dsn, 1).splitlines()) == 4


def test_subreddit_history(dsn: str) -> None:
    pg.execute(
        dsn,
        "INSERT INTO subreddits (name, display_name, status, first_seen_at, crawled_at,"
        " last_ok_at, review_status) VALUES ('python', 'Python', 'ok', now(), now(), now(), 'Ok')",
    )
    first = add_run(dsn, "2026-11-01 03:00Z", "2026-11-01 03:20Z", "finished")
    second = add_run(dsn, "2026-11-02 03:00Z", "2026-11-02 03:20Z", "finished")
    pg.execute(dsn, SNAPSHOT, [first, "ok", 1_200_000, 3000, "2026-11-01 03:01Z"])
    pg.execute(dsn, SNAPSHOT, [second, "ok", 1_201_500, 2800, "2026-11-02 03:01Z"])
    text = report(dsn, 0, "r/Python")
    assert text.startswith("no crawl runs yet\n\nr/Python: status ok, review status Ok,")
    rows = [line.split() for line in text.splitlines()[-2:]]
    assert rows[0] == ["2026-11-01", "03:01:00", "1,200,000", "3,000", "ok", str(first)]
    assert rows[1] == ["2026-11-02", "03:01:00", "1,201,500", "+1,500", "2,800", "ok", str(second)]
    with pytest.raises(ConfigError, match=r"^no subreddit 'rust' in the database$"):
        report(dsn, 5, "rust")
    with pytest.raises(ConfigError, match=r"^invalid subreddit name"):
        report(dsn, 5, "not a name")


def test_report_needs_a_schema() -> None:
    with pg.throwaway_database(migrated=False) as empty:
        with pytest.raises(ConfigError, match=r"no crawl stored in .* yet"):
            report(empty, 5)
        pg.execute(empty, "CREATE TABLE schema_migrations (version int, name text, checksum text)")
        pg.execute(empty, "INSERT INTO schema_migrations VALUES (2, 'views', 'x')")
        with pytest.raises(ConfigError, match=r"at version 2, this code needs \d+: run scrapy"):
            report(empty, 5)


def test_scrapy_report_after_real_crawls(dsn: str, tenant: Tenant, tmp_path: Path) -> None:
    settings = {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": dsn}
    args = {"subs": "python,secretclub", "users_per_sub": 2}
    results = [run_crawl(tenant.base_url, tmp_path, args, settings) for _ in range(2)]
    assert [r.returncode for r in results] == [0, 0]
    done = scrapy_report("--dsn", dsn, "--runs", "5", "--subreddit", "python")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    runs = [line.split() for line in lines[3:5]]
    assert [row[0] for row in runs] == ["2", "1"]
    for row, result in zip(runs, reversed(results), strict=True):
        assert row[5] == "finished"
        assert row[-3:] == [f"{result.stats['item_scraped_count']:,}", "0", "0"]
    assert "subs=python,secretclub users_per_sub=2" in lines[3]
    history = lines[lines.index(next(x for x in lines if x.startswith("r/python:"))) :]
    assert len(history) == 2 + 3 and history[-2].split()[-1] == "1"
    # POSTGRES_DSN works as for a crawl; failures are one line and exit status 1.
    assert (
        scrapy_report("-s", f"POSTGRES_DSN={dsn}", "--runs", "1").stdout
        == "\n".join(lines[:4]) + "\n"
    )
    bad = scrapy_report("--dsn", "postgresql://u:pw-secret@127.0.0.1:1/x")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("error: PostgreSQL unavailable at postgresql://u:***@127.0.0.1:1")
    assert len(bad.stderr.splitlines()) == 1 and "pw-secret" not in bad.stderr
    missing = scrapy_report("--dsn", dsn, "--subreddit", "nosuchsub")
    assert (missing.returncode, missing.stderr) == (
        1, "error: no subreddit 'nosuchsub' in the database\n"
    )  # fmt: skip
