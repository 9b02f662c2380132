"""``scrapy migrate``: create the PostgreSQL database if needed and apply pending migrations.

The same steps a crawl runs when it opens, without crawling (useful before a deploy or
to check the database). On failure it prints one line, ``error: <message>`` with the
password masked, and exits with status 1. Reads ``POSTGRES_DSN`` (or ``$DATABASE_URL``,
default ``postgresql:///reddit``); ``-s POSTGRES_DSN=…`` overrides it.
"""

from __future__ import annotations

import argparse

from scrapy.commands import ScrapyCommand

from reddit_crawler.db import StorageError, mask_dsn, prepare_database, resolve_dsn
from reddit_crawler.errors import print_error

FAILURE_EXIT = 1


class Command(ScrapyCommand):
    requires_project = False
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        return "Create the PostgreSQL database if missing and apply pending schema migrations"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        dsn = resolve_dsn(self.settings)
        try:
            prepared = prepare_database(dsn)
        except StorageError as exc:
            self.exitcode = print_error(exc, FAILURE_EXIT)
            return
        created = "created the database, " if prepared.created else ""
        versions = ", ".join(f"{m.version:04d}_{m.name}" for m in prepared.applied) or "none"
        print(f"{mask_dsn(dsn)}: {created}applied migrations: {versions}")
