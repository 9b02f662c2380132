"""Test helpers: run ``scrapy crawl reddit`` as a subprocess and read what it produced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
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


def run_crawl(
    base_url: str,
    tmp_path: Path,
    args: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    timeout: float = 300,
    extra: list[str] | None = None,
) -> CrawlResult:
    out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}.jsonl"
    cmd = [*SCRAPY, "crawl", "reddit", "-O", str(out)]
    for key, value in (args or {}).items():
        cmd += ["-a", f"{key}={value}"]
    stats_file = out.with_suffix(".stats.json")
    merged = {
        "REDDIT_BASE_URL": base_url,
        "POSTGRES_ENABLED": "false",
        "LOG_LEVEL": "INFO",
        "REDDIT_STATS_FILE": str(stats_file),
        "REDDIT_PROGRESS_INTERVAL": "1",
        # The stand-in sends no rate-limit headers unless a test asks for limits.
        "REDDIT_DEFAULT_RATE": "0",
    }
    merged.update(settings or {})
    for key, value in merged.items():
        cmd += ["-s", f"{key}={value}"]
    cmd += extra or []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    items, lines = read_jsonl(out)
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return CrawlResult(proc.returncode, proc.stdout, proc.stderr, items, lines, stats)
