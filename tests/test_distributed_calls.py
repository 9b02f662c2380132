"""Redis outages: :class:`FrontierCalls` and whole workers against a private ``redis-server``
(its own port), killed and restarted (calls are refused) or stopped with SIGSTOP (a hung
server: calls time out) while the crawl runs."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import redis
from scrapy.utils.test import get_crawler

from reddit_crawler.distributed.calls import FrontierCalls
from reddit_crawler.distributed.frontier import Frontier
from reddit_crawler.spiders.reddit import RedditSpider
from tests.conftest import Tenant
from tests.distributed import REDIS_URL, Crawl
from tests.scrapyd import free_port
from tests.test_distributed_e2e import (
    PLAN,
    _holding,
    content,
    new_crawl,
    single_process_content,
    storage_in,
    wait_for,
)

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """A throw-away redis-server on a free port: stop/start (state lost), pause/resume."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(self.workdir)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = self.client(timeout=0.5)
        wait_for(lambda: _answers(client), timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            self.resume()
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGCONT)

    def client(self, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis.from_url(
            self.url, decode_responses=True, socket_timeout=timeout, socket_connect_timeout=timeout
        )


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


# The crawls migrate their database themselves (conftest.py: dsn).
DSN_MIGRATED = False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    found = RedisServer(tmp_path)
    found.start()
    yield found
    found.stop()


def test_calls_wait_out_an_outage_and_keep_their_order(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = server.client(timeout=0.5)
    calls = FrontierCalls()
    server.stop()
    with caplog.at_level(logging.WARNING, logger="reddit_crawler.distributed.calls"):
        futures = [calls.submit(client.rpush, "order", i) for i in range(5)]
        time.sleep(1.5)
        assert not any(f.done() for f in futures)  # refused: still trying
        server.start()
        for future in futures:
            future.result(timeout=30)
    calls.shutdown()
    assert client.lrange("order", 0, -1) == ["0", "1", "2", "3", "4"]
    assert "Redis unavailable" in caplog.text
    assert "Redis answers again" in caplog.text


def test_calls_give_up_once_the_worker_closes(server: RedisServer) -> None:
    client = server.client(timeout=0.5)
    calls = FrontierCalls(give_up_after=1.0)
    server.stop()
    future = calls.submit(client.ping)
    calls.closing()
    with pytest.raises(redis.ConnectionError):
        future.result(timeout=15)
    calls.shutdown()


def test_a_non_outage_error_is_not_retried(server: RedisServer) -> None:
    client = server.client()
    client.set("text", "x")
    calls = FrontierCalls()
    with pytest.raises(redis.ResponseError):
        calls.submit(client.lpush, "text", 1).result(timeout=5)  # wrong type
    calls.shutdown()


def test_workers_ride_out_a_hung_redis_and_store_everything(
    server: RedisServer, tenant: Tenant, tmp_path: Path, crawls: list[Crawl], dsn: str
) -> None:
    storage = storage_in(dsn)
    expected = single_process_content(tenant, tmp_path, dsn)
    tenant.configure(latency_ms=150)  # units stay in flight while Redis hangs
    settings = {
        **storage,
        "REDIS_URL": server.url,
        "REDIS_LEASE": "3",
        "REDIS_PARAMS": json.dumps({"socket_timeout": 1, "socket_connect_timeout": 1}),
    }
    crawl = new_crawl(tenant, tmp_path, crawls, args=PLAN, settings=settings)
    assert crawl.enqueue().returncode == 0
    crawl.start_worker()
    crawl.start_worker()
    frontier = Frontier(server.client(), crawl.name)
    wait_for(lambda: _holding(frontier), timeout=60)  # mid-crawl, units held
    server.pause()
    time.sleep(4)  # longer than a lease: some expire and are crawled again
    server.resume()
    results = crawl.wait()
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
    assert any("Redis unavailable" in r.stderr for r in results)
    assert frontier.is_done()
    got = content(dsn)
    got.pop("snapshots"), expected.pop("snapshots")
    assert got == expected


def test_a_unit_whose_result_was_not_recorded_is_not_acknowledged(frontier: Frontier) -> None:
    crawler = get_crawler(RedditSpider, {"REDIS_URL": REDIS_URL, "POSTGRES_ENABLED": False})
    spider = RedditSpider.from_crawler(crawler, crawl=frontier.crawl)
    frontier.client.zadd(frontier.keys.leases, {"sub:0:lost": 1e15, "sub:0:kept": 1e15})
    failed: Future[Any] = Future()
    failed.set_exception(redis.ConnectionError("gone"))
    spider._note_unrecorded("sub:0:lost", failed)
    with pytest.raises(RuntimeError, match="not recorded"):
        spider._ack_if_recorded("sub:0:lost")
    spider._ack_if_recorded("sub:0:kept")
    assert frontier.client.zrange(frontier.keys.leases, 0, -1) == ["sub:0:lost"]
    spider.calls.shutdown()


def test_a_call_after_shutdown_fails_instead_of_raising(server: RedisServer) -> None:
    calls = FrontierCalls()
    calls.shutdown()
    future = calls.submit(server.client().ping)
    with pytest.raises(RuntimeError, match="have ended"):
        future.result(timeout=1)
