"""Pause and resume with JOBDIR: a crawl stopped by SIGINT or SIGTERM and started again
with the same JOBDIR finishes the plan with the rows of an uninterrupted crawl."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests import pg
from tests.conftest import Tenant
from tests.crawl import (
    BackgroundCrawl,
    start_crawl,
)
from tests.test_storage_e2e import database_view, lowered

SEEDS = ["python", "learnpython", "datascience"]
PLAN = {"users_per_sub": 8, "depth": 1, "max_subs": 8}


def start(tenant: Tenant, out: Path, dsn: str, jobdir: Path) -> BackgroundCrawl:
    settings = {
        "JOBDIR": str(jobdir),
        "CONCURRENT_REQUESTS": "8",
        "POSTGRES_ENABLED": "true",
        "POSTGRES_DSN": dsn,
    }
    return start_crawl(tenant.base_url, out, {"subs": ",".join(SEEDS), **PLAN}, settings)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stop_and_resume_gives_the_uninterrupted_rows(
    tenant: Tenant, tmp_path: Path, sig: signal.Signals
) -> None:
    tenant.configure(latency_ms=100)
    jobdir = tmp_path / "job"
    with pg.throwaway_database(migrated=False) as dsn:
        first = start(tenant, tmp_path / "first.jsonl", dsn, jobdir)
        deadline = time.monotonic() + 60
        while len(tenant.requests()) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
        first.proc.send_signal(sig)
        stopped = first.wait(timeout=180)
        assert stopped.returncode == 0, stopped.stderr[-2000:]
        assert stopped.stats["finish_reason"] == "shutdown"
        truth = tenant.truth(SEEDS, **PLAN)
        assert len(tenant.requests()) < truth["requests"]["total"]  # really interrupted

        resumed = start(tenant, tmp_path / "second.jsonl", dsn, jobdir).wait(timeout=180)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "resuming the crawl saved in JOBDIR" in resumed.stderr
        assert resumed.stats["finish_reason"] == "finished"

        assert database_view(dsn) == lowered(truth)
        # Nothing fetched twice: the plan's requests, each once (no re-sent leftovers needed
        # more than the few in flight at the stop).
        requests = tenant.requests()
        distinct = {(r["path"], tuple(sorted(r["query"].items()))) for r in requests}
        assert len(distinct) == truth["requests"]["total"]
        assert len(requests) - len(distinct) <= 8
        runs = pg.query(dsn, "SELECT finish_reason FROM crawl_runs ORDER BY id")
        assert runs == [("shutdown",), ("finished",)]
