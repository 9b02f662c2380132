"""A bare Scrapy spider: the CPU floor of fetching a list of URLs with Scrapy.

Reads a file of URLs (one a line), requests them all (no duplicate filter), ``json.loads``
each body, yields nothing. Scrapy's default middlewares; the engine settings the crawler
uses (asyncio reactor, concurrency, no cookies, no robots.txt, no telnet). The CPU baseline
of ``benchmarks/bench_crawl.py``'s cpu scenario. Run it from a directory without a
``scrapy.cfg`` (so the project's settings are not loaded)::

    scrapy runspider /path/to/benchmarks/bare_spider.py -a urls_file=urls.txt \
        [-a stats_file=stats.json] [-s CONCURRENT_REQUESTS=32]

Stats: ``bare/decoded``, ``bare/undecodable``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response


class BareSpider(Spider):
    name = "bare"
    custom_settings = {
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "REMOTE_CONTROL_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_TIMEOUT": 30,
        "COOKIES_ENABLED": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "LOG_LEVEL": "INFO",
        "DEFAULT_REQUEST_HEADERS": {"Accept": "application/json"},
    }

    def __init__(self, urls_file: str = "", stats_file: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = [u.strip() for u in Path(urls_file).read_text().splitlines() if u.strip()]
        self.stats_file = stats_file

    def closed(self, reason: str) -> None:
        if self.stats_file:
            stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
            stats["finish_reason"] = reason
            Path(self.stats_file).write_text(json.dumps(stats, default=str))

    async def start(self) -> AsyncIterator[Any]:
        for url in self.urls:
            yield Request(
                url,
                callback=self.parse,
                dont_filter=True,
                meta={"dont_redirect": True, "handle_httpstatus_all": True},
            )

    def parse(self, response: Response) -> Iterator[Any]:
        stats = self.crawler.stats
        assert stats is not None
        try:
            json.loads(response.body)
        except ValueError:
            stats.inc_value("bare/undecodable")
        else:
            stats.inc_value("bare/decoded")
        yield from ()
