"""Test helpers for distributed crawls: a unique crawl name per test (its Redis keys
removed afterwards), ``scrapy enqueue`` and worker processes against the stand-in."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from reddit_crawler.distributed.frontier import Frontier
from tests.crawl import ROOT, SCRAPY, CrawlResult, crawl_env, finish, start_crawl

REDIS_URL = "redis://127.0.0.1:6379/0"


def new_crawl_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_conn() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def frontier(redis_conn: redis.Redis) -> Iterator[Frontier]:
    front = Frontier(redis_conn, new_crawl_name())
    yield front
    front.clear()


@dataclass
class Crawl:
    """A distributed crawl of one test: its name, plan arguments and settings."""

    name: str
    base_url: str
    tmp_path: Path
    args: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    workers: list[tuple[subprocess.Popen[str], Path]] = field(default_factory=list)

    def common_settings(self) -> dict[str, Any]:
        return {"REDIS_URL": REDIS_URL, **self.settings}

    def enqueue(self, *extra: str) -> subprocess.CompletedProcess[str]:
        cmd = [*SCRAPY, "enqueue", "-a", f"crawl={self.name}", *extra]
        for key, value in self.args.items():
            cmd += ["-a", f"{key}={value}"]
        for key, value in {"POSTGRES_ENABLED": "false", **self.common_settings()}.items():
            cmd += ["-s", f"{key}={value}"]
        return subprocess.run(
            cmd, cwd=ROOT, env=crawl_env(), capture_output=True, text=True, timeout=60
        )

    def start_worker(self, **settings: Any) -> subprocess.Popen[str]:
        out = self.tmp_path / f"{self.name}-w{len(self.workers)}.jsonl"
        crawl = start_crawl(
            self.base_url, out, {"crawl": self.name}, {**self.common_settings(), **settings}
        )
        self.workers.append((crawl.proc, out))
        return crawl.proc

    def wait(self, timeout: float = 240) -> list[CrawlResult]:
        results = []
        for proc, out in self.workers:
            stdout, stderr = proc.communicate(timeout=timeout)
            results.append(finish(proc.returncode, stdout, stderr, out))
        return results


def merged_items(results: list[CrawlResult]) -> dict[str, list[dict[str, Any]]]:
    merged: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        for kind, rows in result.items.items():
            merged.setdefault(kind, []).extend(rows)
    return merged


def comparable(items: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """Items per kind as sorted JSON, without the crawl times (which differ per run)."""
    out = {}
    for kind, rows in items.items():
        out[kind] = sorted(
            json.dumps({k: v for k, v in row.items() if k != "crawled_at"}, sort_keys=True)
            for row in rows
        )
    return out


@pytest.fixture
def crawls(redis_conn: redis.Redis) -> Iterator[list[Crawl]]:
    """Crawls a test makes (append to the list); their workers are killed and keys removed."""
    made: list[Crawl] = []
    yield made
    for crawl in made:
        for proc, _ in crawl.workers:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        Frontier(redis_conn, crawl.name).clear()
