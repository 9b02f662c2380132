"""``scrapy enqueue``, ``scrapy frontier`` and a worker's bad input: one ``error:`` line,
exit status 2, no request sent."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.crawl import ROOT, SCRAPY, crawl_env, run_crawl
from tests.distributed import REDIS_URL, Crawl, new_crawl_name


def scrapy(*args: str, settings: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [*SCRAPY, *args]
    for key, value in {"POSTGRES_ENABLED": "false", **(settings or {})}.items():
        cmd += ["-s", f"{key}={value}"]
    return subprocess.run(cmd, cwd=ROOT, env=crawl_env(), capture_output=True, text=True)


def one_error(result: Any) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return errors[0]


def test_worker_refuses_plan_arguments(tenant: Tenant, tmp_path: Path) -> None:
    result = run_crawl(
        tenant.base_url, tmp_path, {"crawl": "x", "subs": "python"}, {"REDIS_URL": REDIS_URL}
    )
    assert "subs=" in one_error(result) and "scrapy enqueue" in one_error(result)
    assert tenant.requests() == []


def test_unreachable_redis_is_one_line_with_the_password_masked(
    tenant: Tenant, tmp_path: Path
) -> None:
    url = "redis://:hunter2-redis@127.0.0.1:1/0"
    result = run_crawl(tenant.base_url, tmp_path, {"crawl": "x"}, {"REDIS_URL": url})
    line = one_error(result)
    assert "127.0.0.1:1" in line and "***" in line
    assert "hunter2-redis" not in result.stderr + result.stdout
    assert tenant.requests() == []
    enqueue = scrapy("enqueue", "-a", "subs=python", settings={"REDIS_URL": url})
    assert "***" in one_error(enqueue) and "hunter2-redis" not in enqueue.stderr


@pytest.mark.parametrize(
    ("args", "settings", "expected"),
    [
        (["-a", "subs=python"], {}, "REDIS_URL is not set"),
        (["-a", "subs=no way"], {"REDIS_URL": REDIS_URL}, "no way"),
        (["-a", "subs=python", "-a", "depth=99"], {"REDIS_URL": REDIS_URL}, "depth"),
        (["-a", "crawl=bad name!", "-a", "subs=python"], {"REDIS_URL": REDIS_URL}, "crawl="),
        ([], {"REDIS_URL": REDIS_URL}, "no subreddits to crawl"),
    ],
)
def test_enqueue_bad_input(args: list[str], settings: dict[str, str], expected: str) -> None:
    assert expected in one_error(scrapy("enqueue", *args, settings=settings))


def test_enqueue_refuses_a_crawl_name_in_use_unless_replace(
    tenant: Tenant, tmp_path: Path, crawls: list[Crawl]
) -> None:
    crawl = Crawl(new_crawl_name(), tenant.base_url, tmp_path, {"subs": "python"})
    crawls.append(crawl)
    first = crawl.enqueue()
    assert first.returncode == 0 and crawl.name in first.stdout
    assert "already in Redis" in one_error(crawl.enqueue())
    crawl.args = {"subs": "rust"}
    assert "still running" in one_error(crawl.enqueue("--replace"))  # not finished yet
    crawl.start_worker()
    assert crawl.wait()[0].returncode == 0
    assert crawl.enqueue("--replace").returncode == 0  # finished: replaced
    status = scrapy("frontier", "-a", f"crawl={crawl.name}", settings={"REDIS_URL": REDIS_URL})
    state = json.loads(status.stdout)
    assert state["plan"]["seeds"] == ["rust"] and state["queued"] == 1
    listed = scrapy("frontier", "--list", settings={"REDIS_URL": REDIS_URL})
    assert crawl.name in listed.stdout.split()
    cleared = scrapy("frontier", "--clear", "-a", f"crawl={crawl.name}",
                     settings={"REDIS_URL": REDIS_URL})  # fmt: skip
    assert cleared.returncode == 0 and "keys deleted" in cleared.stdout
    assert crawl.name not in scrapy("frontier", "--list", settings={"REDIS_URL": REDIS_URL}).stdout
