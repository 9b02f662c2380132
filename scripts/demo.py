"""``make demo``: start the offline Reddit stand-in, crawl three seed subreddits with
depth=1 into PostgreSQL and a JSON-lines feed, then print what was collected.

Environment: ``DEMO_DSN`` (default ``postgresql://root@127.0.0.1:5432/reddit_demo``),
``DEMO_SUBS`` (default ``python,learnpython,datascience``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from standin import client  # noqa: E402

OUT = ROOT / "demo-out"
SUBS = os.environ.get("DEMO_SUBS", "python,learnpython,datascience")
DSN = os.environ.get("DEMO_DSN", "postgresql://root@127.0.0.1:5432/reddit_demo")


def crawl(base_url: str) -> int:
    feed = OUT / "items.jsonl"
    cmd = [
        sys.executable, "-m", "scrapy", "crawl", "reddit",
        "-a", f"subs={SUBS}", "-a", "depth=1", "-a", "users_per_sub=25",
        "-O", str(feed),
        "-s", f"REDDIT_BASE_URL={base_url}",
        "-s", f"POSTGRES_DSN={DSN}",
        "-s", "LOG_LEVEL=INFO",
        "-s", "REDDIT_PROGRESS_INTERVAL=2",
    ]  # fmt: skip
    print("$", " ".join(cmd[2:]), flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=False).returncode


def feed_counts() -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in (OUT / "items.jsonl").read_text(encoding="utf-8").splitlines():
        counts[json.loads(line)["kind"]] += 1
    return counts


def main() -> int:
    OUT.mkdir(exist_ok=True)
    proc, root = client.start_standin(OUT)
    try:
        code = crawl(client.tenant_url(root, "demo"))
    finally:
        client.stop(proc)
    if code != 0:
        print(f"demo: the crawl exited with status {code}", file=sys.stderr)
        return code
    print("\nitems in demo-out/items.jsonl:")
    for kind, count in sorted(feed_counts().items()):
        print(f"  {kind:<10} {count}")
    try:
        from scripts.demo_queries import print_queries
    except ImportError:
        return 0
    print_queries(DSN)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
