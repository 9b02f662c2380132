"""Progress: a periodic log line while the ``reddit`` spider runs, a summary table at close.

The line gives subreddits done / queued / discovered, users done / queued, posts,
requests per minute and 429 answers. Settings read: ``REDDIT_PROGRESS_INTERVAL``
(seconds, default 30; 0 turns the periodic line off, the summary stays) and
``REDDIT_STATS_FILE`` (a path: Scrapy's final stats are written there as JSON; off when empty).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.utils.asyncio import create_looping_call

logger = logging.getLogger(__name__)

SUMMARY_KEYS = ("subreddit", "user", "post", "activity", "discovery")


class Progress:
    def __init__(self, crawler: Crawler, interval: float, stats_file: str = "") -> None:
        self.crawler = crawler
        self.interval = interval
        self.stats_file = stats_file
        self.task: Any = None
        self.started = time.monotonic()
        self.last_requests = 0
        self.last_time = self.started

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        settings = crawler.settings
        ext = cls(
            crawler,
            settings.getfloat("REDDIT_PROGRESS_INTERVAL", 30.0),
            settings.get("REDDIT_STATS_FILE", ""),
        )
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _stat(self, key: str) -> int:
        assert self.crawler.stats is not None
        return int(self.crawler.stats.get_value(key, 0) or 0)

    def spider_opened(self, spider: Spider) -> None:
        self.started = self.last_time = time.monotonic()
        if self.interval > 0:
            self.task = create_looping_call(self.log_progress)
            self.task.start(self.interval, now=False)

    def progress_line(self) -> str:
        state = getattr(self.crawler.spider, "crawl_state", None)
        if state is None:
            return ""
        now = time.monotonic()
        requests = self._stat("downloader/request_count")
        rate = (requests - self.last_requests) * 60.0 / max(now - self.last_time, 1e-6)
        self.last_requests, self.last_time = requests, now
        counters = state.counters
        return (
            f"progress: subreddits {counters.subs_done} done / {state.queued('sub')} queued / "
            f"{counters.discovered} discovered; users {counters.users_done} done / "
            f"{state.queued('user')} queued; posts {counters.posts}; "
            f"{rate:.0f} requests/min; 429s {self._stat('downloader/response_status_count/429')}"
        )

    def log_progress(self) -> None:
        line = self.progress_line()
        if line:
            logger.info(line)

    def summary(self, reason: str) -> str:
        rows = [("finish reason", reason), ("elapsed", f"{time.monotonic() - self.started:.1f} s")]
        rows.append(("requests", str(self._stat("downloader/request_count"))))
        for kind in SUMMARY_KEYS:
            rows.append((f"{kind} items", str(self._stat(f"reddit/items/{kind}"))))
        assert self.crawler.stats is not None
        for key, value in sorted(self.crawler.stats.get_stats().items()):
            if key.startswith(("reddit/subreddit/", "reddit/user/", "reddit/failed/")):
                rows.append((key.removeprefix("reddit/"), str(value)))
        rows.append(("429 answers", str(self._stat("downloader/response_status_count/429"))))
        width = max(len(name) for name, _ in rows)
        lines = [f"  {name.ljust(width)}  {value}" for name, value in rows]
        return "crawl summary:\n" + "\n".join(lines)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        if getattr(spider, "crawl_state", None) is not None:
            logger.info(self.summary(reason))
        if self.stats_file:
            self.write_stats(reason)

    def write_stats(self, reason: str) -> None:
        assert self.crawler.stats is not None
        stats = dict(self.crawler.stats.get_stats())
        stats.setdefault("finish_reason", reason)
        text = json.dumps(stats, default=str, sort_keys=True, indent=1)
        Path(self.stats_file).write_text(text, encoding="utf-8")
