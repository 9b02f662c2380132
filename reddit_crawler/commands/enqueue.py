"""``scrapy enqueue``: publish a crawl plan to Redis for distributed workers.

Takes the ``reddit`` spider's plan arguments (``-a subs=…``, ``-a depth=…``, ``-a refresh=stale``
…) and the crawl name (``-a crawl=NAME``, default ``reddit``), validates them like
``scrapy crawl`` does, reads what earlier crawls stored (refresh seeds, skip lists; see
:mod:`reddit_crawler.refresh`) and stores plan, seeds and skip lists under the crawl's
Redis keys. Workers (``scrapy crawl reddit -a crawl=NAME`` with ``REDIS_URL``) then do the
crawl. A name already in Redis is refused unless ``--replace`` and that crawl is finished (it is
cleared first; an unfinished one needs ``scrapy frontier --clear``).
Bad input: one ``error:`` line and exit status 2. Reads ``REDIS_URL`` and the settings
of :mod:`reddit_crawler.plan` and :mod:`reddit_crawler.refresh`.
"""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.conf import arglist_to_dict

from reddit_crawler.distributed import require_redis_url
from reddit_crawler.distributed.client import mask_url, redis_client
from reddit_crawler.distributed.frontier import CrawlExists, Frontier
from reddit_crawler.errors import ConfigError, print_error
from reddit_crawler.plan import build_plan, build_refresh_options
from reddit_crawler.refresh import open_crawl

SPIDER = "reddit"


def parse_spargs(opts: argparse.Namespace) -> dict[str, str]:
    try:
        return arglist_to_dict(opts.spargs)
    except ValueError:
        raise UsageError("invalid -a value, use -a NAME=VALUE", print_help=False) from None


def add_spider_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-a", dest="spargs", action="append", default=[], metavar="NAME=VALUE",
        help="spider argument (may be repeated)",
    )  # fmt: skip


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self) -> str:
        return "-a subs=NAME[,NAME…] [-a crawl=NAME] [-a depth=N …] [--replace]"

    def short_desc(self) -> str:
        return "Publish a crawl plan to Redis for distributed workers"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_spider_args(parser)
        parser.add_argument(
            "--replace", action="store_true", help="clear a crawl of the same name first"
        )

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        spargs = parse_spargs(opts)
        try:
            self._enqueue(spargs, replace=opts.replace)
        except ConfigError as exc:
            self.exitcode = print_error(exc)

    def _enqueue(self, spargs: dict[str, str], *, replace: bool) -> None:
        settings = self.settings
        assert settings is not None
        url = require_redis_url(settings)
        plan = build_plan(spargs, settings)
        options = build_refresh_options(spargs, settings)
        client = redis_client(settings, url)
        start = open_crawl(spargs, settings, SPIDER, plan, options)
        start.release()  # workers write concurrently: no run lock for a distributed crawl
        frontier = Frontier(client, options.job or SPIDER)
        if replace:
            if frontier.plan() is not None and not frontier.is_done():
                raise CrawlExists(
                    f"crawl {frontier.crawl!r} is still running in Redis: --replace clears "
                    f"only a finished crawl (force it with `scrapy frontier --clear "
                    f"-a crawl={frontier.crawl}`)"
                )
            frontier.clear()
        frontier.publish(start.plan, skip_subs=start.skip_subs, fresh_users=start.fresh_users)
        for name in start.skipped_seeds:
            print(f"seed {name} not crawled: its review status is in SKIP_REVIEW_STATUSES")
        print(
            f"crawl {frontier.crawl!r} queued in {mask_url(url)}: "
            f"{len(start.plan.seeds)} seed subreddits, depth={plan.depth}, "
            f"users_per_sub={plan.users_per_sub}, max_subs={plan.max_subs}"
        )
