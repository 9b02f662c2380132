"""Test helpers: run ``scrapy crawl reddit`` as a subprocess and read what it produced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRAPY = [sys.executable, "-m", "scrapy"]


@dataclass
class CrawlResult:
    returncode: int
    stdout: str
    stderr: str
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lines: int = 0

    def by_kind(self, kind: str) -> list[dict[str, Any]]:
        return self.items.get(kind, [])

    stats: dict[str, Any] = field(default_factory=dict)


def read_jsonl(path: Path) -> tuple[dict[str, list[dict[str, Any]]], int]:
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    count = 0
    if not path.exists():
        return {}, 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            items[item.get("kind", "?")].append(item)
            count += 1
    return dict(items), count


def crawl_command(
    base_url: str,
    out: Path,
    args: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> list[str]:
    cmd = [*SCRAPY, "crawl", "reddit", "-O", str(out)]
    for key, value in (args or {}).items():
        cmd += ["-a", f"{key}={value}"]
    merged = {
        "REDDIT_BASE_URL": base_url,
        "POSTGRES_ENABLED": "false",
        "LOG_LEVEL": "INFO",
        "REDDIT_STATS_FILE": str(out.with_suffix(".stats.json")),
        "REDDIT_PROGRESS_INTERVAL": "1",
        # The stand-in sends no rate-limit headers unless a test asks for limits.
        "REDDIT_DEFAULT_RATE": "0",
    }
    merged.update(settings or {})
    for key, value in merged.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def crawl_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDDIT_", "PROXY_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


def finish(proc_returncode: int, stdout: str, stderr: str, out: Path) -> CrawlResult:
    items, lines = read_jsonl(out)
    stats_file = out.with_suffix(".stats.json")
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return CrawlResult(proc_returncode, stdout, stderr, items, lines, stats)


def run_crawl(
    base_url: str,
    tmp_path: Path,
    args: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    timeout: float = 300,
    extra: list[str] | None = None,
) -> CrawlResult:
    out = tmp_path / f"out-{len(list(tmp_path.glob('out-*.jsonl')))}.jsonl"
    cmd = crawl_command(base_url, out, args, settings) + (extra or [])
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=crawl_env(), check=False
    )
    return finish(proc.returncode, proc.stdout, proc.stderr, out)


@dataclass
class BackgroundCrawl:
    """A crawl running as a subprocess while the test acts on the world around it."""

    proc: subprocess.Popen[str]
    out: Path

    def wait_until(
        self, condition: Callable[[], bool], seconds: float = 60, poll: float = 0.05
    ) -> None:
        """Poll ``condition`` until it holds or ``seconds`` have passed (then go on anyway)."""
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            time.sleep(poll)

    def wait(self, timeout: float) -> CrawlResult:
        """Wait for the crawl to end; return what it produced."""
        stdout, stderr = self.proc.communicate(timeout=timeout)
        return finish(self.proc.returncode, stdout, stderr, self.out)


def start_crawl(
    base_url: str,
    out: Path,
    args: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
) -> BackgroundCrawl:
    """Start ``scrapy crawl reddit`` writing to ``out`` and return at once."""
    cmd = crawl_command(base_url, out, args, settings)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=crawl_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return BackgroundCrawl(proc, out)
