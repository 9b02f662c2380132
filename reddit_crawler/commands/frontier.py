"""``scrapy frontier``: watch or remove a distributed crawl's Redis keys.

``scrapy frontier -a crawl=NAME`` prints the crawl's progress as JSON (plan, level,
queued and leased units, subreddits and users taken and done, workers' last heartbeats);
``--clear`` deletes every key of the crawl; ``--list`` names the crawls Redis holds.
Reads ``REDIS_URL``. Bad input: one ``error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json

from scrapy.commands import ScrapyCommand

from reddit_crawler.commands.enqueue import SPIDER, add_spider_args, parse_spargs
from reddit_crawler.distributed import require_redis_url
from reddit_crawler.distributed.client import redis_client
from reddit_crawler.distributed.frontier import Frontier, list_crawls
from reddit_crawler.errors import ConfigError, print_error
from reddit_crawler.plan import worker_job


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[-a crawl=NAME] [--clear | --list]"

    def short_desc(self) -> str:
        return "Show (or --clear) a distributed crawl's state in Redis"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_spider_args(parser)
        parser.add_argument("--clear", action="store_true", help="delete the crawl's keys")
        parser.add_argument("--list", action="store_true", help="list the crawls in Redis")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        try:
            client = redis_client(self.settings, require_redis_url(self.settings))
            if opts.list:
                print("\n".join(list_crawls(client)))
                return
            frontier = Frontier(client, worker_job(parse_spargs(opts), self.settings) or SPIDER)
        except ConfigError as exc:
            self.exitcode = print_error(exc)
            return
        if opts.clear:
            print(f"crawl {frontier.crawl!r}: {frontier.clear()} keys deleted")
            return
        print(json.dumps(frontier.status(), indent=1, sort_keys=True))
