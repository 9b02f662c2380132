"""Shared helpers of the crawl benchmarks: the stand-in, squid proxies, timed subprocesses.

Used by :mod:`benchmarks.bench_crawl`; standard library plus the project's ``standin.client``
and ``scripts.proxies`` (both standard library only).
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.proxies import ProxyHandle, start_proxies, stop_all  # noqa: E402
from standin import client  # noqa: E402

PYTHON = sys.executable
BENCH_DIR = Path(__file__).resolve().parent

#: The design document's endpoint latencies (ms). It gives the five subreddit calls (about 500,
#: rules 400, hot 600, top week 500, top year 800); the stand-in has one latency for both top
#: listings (``sub_top``), set to the year listing's 800 ms, the one that bounds each
#: subreddit's five parallel calls. The document gives none for the two user calls: about as
#: the subreddit about (500), submitted (a 30-post listing) as hot (600). ``latency_ms`` (the
#: fallback, e.g. for 429 answers) is 500.
DOC_LATENCY_MS: dict[str, float] = {
    "sub_about": 500,
    "sub_rules": 400,
    "sub_hot": 600,
    "sub_top": 800,
    "user_about": 500,
    "user_submitted": 600,
}
DOC_DEFAULT_LATENCY_MS = 500.0


def latency_config(scale: float) -> dict[str, Any]:
    """``latency_ms`` and ``latency_ms_by_endpoint`` of the document's latencies x ``scale``."""
    return {
        "latency_ms": DOC_DEFAULT_LATENCY_MS * scale,
        "latency_ms_by_endpoint": {k: v * scale for k, v in DOC_LATENCY_MS.items()},
    }


# -- statistics --------------------------------------------------------------------------------


@dataclass
class Spread:
    median: float
    low: float
    high: float
    values: list[float]

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        vals = list(values)
        return cls(statistics.median(vals), min(vals), max(vals), vals)

    def fmt(self, spec: str = ".2f", unit: str = "") -> str:
        return (
            f"{format(self.median, spec)}{unit} "
            f"[{format(self.low, spec)}-{format(self.high, spec)}]"
        )


# -- subprocesses ------------------------------------------------------------------------------


@dataclass
class Timed:
    """A finished subprocess: wall seconds, CPU seconds (user + system) and its output."""

    returncode: int
    wall: float
    cpu_user: float
    cpu_sys: float
    stdout: str
    stderr: str

    @property
    def cpu(self) -> float:
        return self.cpu_user + self.cpu_sys


def run_timed(
    cmd: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float = 300.0
) -> Timed:
    """Run ``cmd`` to its end; its CPU time is the RUSAGE_CHILDREN delta (only it is reaped
    in between: the stand-in and squids stay running, un-reaped, until the end)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(
        list(cmd), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Timed(
        proc.returncode,
        wall,
        after.ru_utime - before.ru_utime,
        after.ru_stime - before.ru_stime,
        proc.stdout,
        proc.stderr,
    )


def clean_env() -> dict[str, str]:
    """The environment of a crawl: no REDDIT_*/PROXY_*/DATABASE_URL of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDDIT_", "PROXY_"))}
    env.pop("DATABASE_URL", None)
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONHASHSEED"] = "0"
    return env


# -- our crawler -------------------------------------------------------------------------------


@dataclass
class CrawlRun:
    timed: Timed
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.timed.returncode == 0 and self.stats.get("finish_reason") == "finished"


def crawl_command(
    base_url: str,
    subs: Sequence[str],
    users_per_sub: int,
    stats_file: Path,
    *,
    proxies: Sequence[str] = (),
    settings: dict[str, Any] | None = None,
    out: Path | None = None,
) -> list[str]:
    """``scrapy crawl reddit`` as the tests run it (``tests/crawl.py``), depth 0."""
    cmd = [PYTHON, "-m", "scrapy", "crawl", "reddit"]
    if out is not None:
        cmd += ["-O", str(out)]
    cmd += ["-a", "subs=" + ",".join(subs), "-a", f"users_per_sub={users_per_sub}", "-a", "depth=0"]
    merged: dict[str, Any] = {
        "REDDIT_BASE_URL": base_url,
        "POSTGRES_ENABLED": "false",
        "REDDIT_STATS_FILE": str(stats_file),
        # The stand-in sends rate-limit headers only under a configured limit; without one
        # there is nothing to pace against (Reddit always sends them).
        "REDDIT_DEFAULT_RATE": "0",
        "LOG_LEVEL": "INFO",
    }
    if proxies:
        merged["PROXY_LIST"] = ",".join(proxies)
    merged.update(settings or {})
    for key, value in merged.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def run_crawl(cmd: list[str], stats_file: Path, timeout: float = 300.0) -> CrawlRun:
    stats_file.unlink(missing_ok=True)
    timed = run_timed(cmd, cwd=ROOT, env=clean_env(), timeout=timeout)
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return CrawlRun(timed, stats)


# -- the stand-in and proxies -----------------------------------------------------------------

_tenant_counter = itertools.count(1)


class Lab:
    """One stand-in for the whole benchmark (a tenant per run) and, on demand, squid proxies."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self._proc, self.base = client.start_standin(workdir / "standin")
        self._proxies: list[ProxyHandle] = []
        self._tag = secrets.token_hex(3)

    def proxies(self, n: int) -> list[ProxyHandle]:
        if len(self._proxies) < n:
            more = start_proxies(
                n - len(self._proxies),
                self.workdir / "squid",
                first_source=2 + len(self._proxies),
            )
            self._proxies += more
        for handle in self._proxies[:n]:
            if not handle.alive():
                handle.restart()
        return self._proxies[:n]

    def tenant(self, label: str, **config: Any) -> str:
        """A fresh tenant (its rate-limit clock starts now); returns its name."""
        name = f"b{self._tag}-{next(_tenant_counter)}-{label}"[:64]
        client.configure(self.base, name, **config)
        return name

    def url(self, tenant: str) -> str:
        return client.tenant_url(self.base, tenant)

    def requests(self, tenant: str) -> list[dict[str, Any]]:
        return client.get_requests(self.base, tenant)

    def close(self) -> None:
        try:
            stop_all(self._proxies)
        finally:
            client.stop(self._proc)


def ok_subreddits(summary: dict[str, Any], n: int, *, min_top_year: int = 0) -> list[str]:
    """The first ``n`` subreddits of the world in state ``ok`` (display names)."""
    subs = [
        s["display_name"]
        for s in summary["subreddits"]
        if s["state"] == "ok" and s["top_year"] >= min_top_year
    ]
    if len(subs) < n:
        raise RuntimeError(f"the world has only {len(subs)} ok subreddits, {n} wanted")
    return subs[:n]


def log_url(base_url: str, entry: dict[str, Any]) -> str:
    """The URL (under ``base_url``, a tenant URL) of a request-log entry."""
    from urllib.parse import urlencode

    query = urlencode(entry.get("query") or {})
    return base_url + entry["path"] + ("?" + query if query else "")
