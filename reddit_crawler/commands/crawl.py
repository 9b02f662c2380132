"""``scrapy crawl`` with one-line errors for bad input.

Scrapy's own command logs a traceback when a component refuses to start; this one prints
``error: <message>`` for a :class:`~reddit_crawler.errors.ConfigError` (raised before any
request is sent) and exits with status 2; a crawl that stopped because Reddit refused it
(finish reason ``public_access_blocked`` or ``oauth_refused``) exits with status 3. The
``reddit`` spider's arguments are checked before Scrapy starts at all. Reads no settings of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from reddit_crawler.distributed import redis_url
from reddit_crawler.errors import ConfigError, print_error
from reddit_crawler.plan import build_plan, worker_job

FAILED_CRAWL_EXIT = 3
# Finish reasons that mean the crawl could not do its work (the reason is logged as an error).
FAILED_REASONS = {"public_access_blocked", "oauth_refused"}


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name")
        assert self.crawler_process and self.settings is not None
        if args[0] == "reddit":
            try:
                if redis_url(self.settings):
                    worker_job(opts.spargs, self.settings)
                else:
                    build_plan(opts.spargs, self.settings)
            except ConfigError as exc:
                self._report(exc)
                return
        crawler = self._create_crawler(args[0])
        started: Any = self.crawler_process.crawl(crawler, **opts.spargs)
        if isinstance(started, Deferred):
            started.addErrback(self._on_failure)
        elif isinstance(started, asyncio.Future):
            started.add_done_callback(self._on_done)
        self.crawler_process.start()
        if self.exitcode == 0 and self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        reason = _finish_reason(crawler)
        if self.exitcode == 0 and reason in FAILED_REASONS:
            self.exitcode = FAILED_CRAWL_EXIT

    def _report(self, exc: BaseException) -> None:
        self.exitcode = print_error(exc)

    def _on_failure(self, failure: Failure) -> Failure | None:
        if not failure.check(ConfigError):
            return failure
        self._report(failure.value)
        return None

    def _on_done(self, task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()  # marks it retrieved: no "never retrieved" traceback
        if isinstance(exc, ConfigError):
            self._report(exc)
        elif exc is not None:
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


def _finish_reason(crawler: Any) -> Any:
    """The crawl's finish reason; None when it never started (a component refused to: Scrapy
    2.19's ``Crawler.stats`` raises until the crawl starts, e.g. after the spider's
    ``from_crawler`` raised a ConfigError)."""
    try:
        stats = crawler.stats
    except RuntimeError:
        return None
    return stats.get_value("finish_reason") if stats else None
