"""The run lock: one run of a job at a time per database; a second is refused at once."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from reddit_crawler.db.runlock import RunInProgress, acquire_run_lock, lock_key
from reddit_crawler.errors import ConfigError
from standin import client
from tests import pg
from tests.conftest import Tenant
from tests.crawl import run_crawl, start_crawl
from tests.scrapyd import PROJECT, Scrapyd
from tests.test_scrapyd import scrapyd, version  # noqa: F401  (fixtures: a deployed Scrapyd)

REFUSED = re.compile(
    r"^error: another run of job 'reddit' is in progress "
    r"\(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, pid \d+ on \S+\)$"
)


def test_keys_are_stable_and_per_job() -> None:
    assert lock_key("reddit", "reddit") == lock_key("reddit", "reddit")
    pairs = [("reddit", "reddit"), ("reddit", "nightly"), ("other", "reddit")]
    keys = {lock_key(spider, job) for spider, job in pairs}
    assert len(keys) == 3
    assert all(-(2**63) <= key < 2**63 for key in keys)


def test_second_holder_is_refused_until_release(dsn: str) -> None:
    first = acquire_run_lock(dsn, "reddit", "nightly")
    with pytest.raises(RunInProgress) as refused:
        acquire_run_lock(dsn, "reddit", "nightly")
    assert isinstance(refused.value, ConfigError)
    assert re.fullmatch(
        r"another run of job 'nightly' is in progress \(since .+ UTC, pid \d+ on \S+\)",
        str(refused.value),
    )
    other = acquire_run_lock(dsn, "reddit", "hourly")  # another job runs alongside
    other.release()
    first.release()
    assert not first.held
    first.release()  # twice is harmless
    acquire_run_lock(dsn, "reddit", "nightly").release()


def test_lock_goes_with_its_connection(dsn: str) -> None:
    held = acquire_run_lock(dsn, "reddit", "reddit")
    assert pg.terminate_backends(dsn, held_application(dsn)) == 1  # as if the process died
    acquire_run_lock(dsn, "reddit", "reddit").release()
    held.release()  # a lost connection is only logged


def held_application(dsn: str) -> str:
    rows = pg.query(
        dsn,
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
        " WHERE l.locktype = 'advisory' AND l.granted",
    )
    assert len(rows) == 1
    return str(rows[0][0])


def test_a_run_of_a_locked_job_exits_before_any_request(
    dsn: str, tenant: Tenant, tmp_path: Path
) -> None:
    settings = {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": dsn}
    lock = acquire_run_lock(dsn, "reddit", "reddit")
    try:
        result = run_crawl(tenant.base_url, tmp_path, {"subs": "python"}, settings)
        assert result.returncode == 2
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and REFUSED.match(errors[0]), result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        assert tenant.requests() == []
        assert pg.scalar(dsn, "SELECT count(*) FROM crawl_runs") == 0
        # Another job name is another lock.
        args = {"subs": "python", "users_per_sub": 0, "crawl": "adhoc"}
        assert run_crawl(tenant.base_url, tmp_path, args, settings).returncode == 0
    finally:
        lock.release()
    assert run_crawl(tenant.base_url, tmp_path, {"subs": "python"}, settings).returncode == 0


def test_two_concurrent_runs_one_refused(dsn: str, tenant: Tenant, tmp_path: Path) -> None:
    tenant.configure(latency_ms=400)  # the first run lasts a few seconds
    plan = {"subs": "python,learnpython", "users_per_sub": 3}
    settings = {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": dsn, "CONCURRENT_REQUESTS": "4"}
    out = tmp_path / "first.jsonl"
    first = start_crawl(tenant.base_url, out, plan, settings)
    deadline = time.monotonic() + 60
    while not tenant.requests() and time.monotonic() < deadline:
        time.sleep(0.02)
    second = run_crawl(tenant.base_url, tmp_path, plan, settings)
    assert first.proc.poll() is None, "the first run should still be running"
    done = first.wait(timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert second.returncode == 2
    errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and REFUSED.match(errors[0]), second.stderr[-2000:]
    # Only the first run's requests reached the stand-in, each once.
    truth = tenant.truth(["python", "learnpython"], users_per_sub=3)
    requests = tenant.requests()
    assert len(requests) == truth["requests"]["total"]
    assert pg.query(dsn, "SELECT finish_reason FROM crawl_runs") == [("finished",)]


# -- through Scrapyd: the same code path ---------------------------------------------------------


def test_overlapping_scrapyd_jobs_one_refused(
    scrapyd: Scrapyd,  # noqa: F811
    version: str,  # noqa: F811
    dsn: str,
    tenant: Tenant,
    tmp_path: Path,
) -> None:
    settings = {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": dsn}
    seeded = run_crawl(tenant.base_url, tmp_path, {"subs": "python,learnpython"}, settings)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    pg.execute(dsn, "UPDATE subreddits SET last_ok_at = now() - interval '2 days'")
    client.clear_requests(tenant.root, tenant.name)
    tenant.configure(latency_ms=400)
    form = [
        ("project", PROJECT),
        ("spider", "reddit"),
        ("_version", version),
        ("refresh", "stale"),
        ("users_per_sub", "3"),
        ("setting", f"REDDIT_BASE_URL={tenant.base_url}"),
        ("setting", f"POSTGRES_DSN={dsn}"),
        ("setting", "REDDIT_DEFAULT_RATE=0"),
        ("setting", "CONCURRENT_REQUESTS=4"),
    ]
    first = scrapyd.api("schedule", data=form)["jobid"]
    deadline = time.monotonic() + 60
    while not tenant.requests() and time.monotonic() < deadline:
        time.sleep(0.05)
    second = scrapyd.api("schedule", data=form)["jobid"]
    refused = scrapyd.wait_for_job(second)
    running = [entry["id"] for entry in scrapyd.api("listjobs", project=PROJECT)["running"]]
    assert first in running, "the first job should still be running"
    log = scrapyd.fetch(refused["log_url"]).decode("utf-8", errors="replace")
    assert "ERROR: Run refused: another run of job 'reddit' is in progress (since" in log
    server_log = scrapyd.server_log.read_text(encoding="utf-8", errors="replace")
    assert "error: another run of job 'reddit' is in progress (since" in server_log

    done = scrapyd.wait_for_job(first)
    log = scrapyd.fetch(done["log_url"]).decode("utf-8", errors="replace")
    assert "'finish_reason': 'finished'" in log and "Traceback" not in log
    runs = pg.query(dsn, "SELECT finish_reason, args->>'refresh' FROM crawl_runs ORDER BY id")
    assert runs == [("finished", None), ("finished", "stale")]
    # The refresh crawled both stale subreddits, once each; their users were fetched by the
    # seeding crawl, so none is fetched again.
    sent = [(r["path"], tuple(sorted(r["query"].items()))) for r in tenant.requests()]
    assert len(sent) == len(set(sent)) == 10
