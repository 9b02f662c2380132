"""What a crawl takes from the database before it starts: run lock, refresh seeds, skip lists.

:func:`open_crawl` runs in the spider's ``from_crawler``, synchronously, before the engine
starts (never on the reactor thread during the crawl). With storage on it:

1. prepares the database (creates it, applies migrations) like the pipeline does;
2. takes the run lock of the job (``crawl`` argument, default the spider's name): a run of
   the same job in progress makes this one stop with one line (exit status 2);
3. reads the subreddits whose review status is in ``SKIP_REVIEW_STATUSES`` (never crawled:
   dropped from the seeds, never scheduled by discovery), the users fetched within
   ``user_fresh_for`` (not fetched again; their stored subreddits still feed discovery), and
   with ``refresh=stale`` the subreddits to refresh (appended to the seeds, up to
   ``max_subs``) and those crawled within ``stale_after`` (discovery does not schedule them).

With storage off (``POSTGRES_ENABLED=false``) there is no lock and nothing is read
(``refresh`` is refused earlier by :func:`~reddit_crawler.plan.build_refresh_options`).
A refused run's one line goes to stderr (``scrapy crawl``); with ``LOG_FILE`` set (Scrapyd
jobs) it is also logged there. Settings read: ``POSTGRES_ENABLED``, ``POSTGRES_DSN`` (see
:mod:`reddit_crawler.db.dsn`), ``LOG_FILE`` and the refresh options of :mod:`reddit_crawler.plan`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg
from scrapy.settings import BaseSettings

from reddit_crawler.db import mask_dsn, prepare_database, resolve_dsn
from reddit_crawler.db.connection import connect, unavailable
from reddit_crawler.db.queries import (
    fresh_subreddits,
    fresh_users,
    refresh_candidates,
    review_skipped,
)
from reddit_crawler.db.runlock import RunInProgress, RunLock, acquire_run_lock
from reddit_crawler.names import InvalidName
from reddit_crawler.plan import CrawlPlan, PlanError, RefreshOptions, seed_names

logger = logging.getLogger(__name__)

# Why a subreddit is not crawled (CrawlState skip codes; stats reddit/subreddit/skipped_<code>).
SKIP_REVIEW = "review"
SKIP_FRESH = "fresh"


@dataclass
class CrawlStart:
    """The plan with its final seeds, and what the crawl state needs from the database."""

    plan: CrawlPlan
    options: RefreshOptions
    job: str
    skip_subs: dict[str, str] = field(default_factory=dict)  # lower name -> skip code
    review_statuses: dict[str, str] = field(default_factory=dict)  # lower name -> status
    fresh_users: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped_seeds: list[str] = field(default_factory=list)
    lock: RunLock | None = None

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()


def open_crawl(
    args: dict[str, Any],
    settings: BaseSettings,
    spider: str,
    plan: CrawlPlan,
    options: RefreshOptions,
) -> CrawlStart:
    """Lock the job and read what the crawl needs from earlier crawls (see the module doc)."""
    start = CrawlStart(plan, options, options.job or spider)
    if not settings.getbool("POSTGRES_ENABLED", True):
        return start
    dsn = resolve_dsn(settings)
    prepare_database(dsn)
    try:
        start.lock = acquire_run_lock(dsn, spider, start.job)
    except RunInProgress as exc:
        if settings.get("LOG_FILE"):  # e.g. a Scrapyd job: say it in the job's log too
            logger.error("Run refused: %s", exc)
        raise
    try:
        _read(dsn, args, settings, start)
    except BaseException:
        start.release()
        raise
    return start


def _read(dsn: str, args: dict[str, Any], settings: BaseSettings, start: CrawlStart) -> None:
    options, plan = start.options, start.plan
    try:
        with connect(dsn, autocommit=True, application_name="reddit_crawler-start") as conn:
            start.review_statuses = review_skipped(conn, options.skip_review)
            start.fresh_users = fresh_users(conn, options.user_fresh_for)
            candidates = (
                refresh_candidates(conn, options.stale_after, options.skip_review, plan.max_subs)
                if options.refresh
                else []
            )
            fresh = fresh_subreddits(conn, options.stale_after) if options.refresh else set()
    except psycopg.Error as exc:
        raise unavailable(dsn, exc) from None
    start.skip_subs = {name: SKIP_FRESH for name in fresh}
    start.skip_subs.update((name, SKIP_REVIEW) for name in start.review_statuses)
    try:
        explicit = seed_names(args, settings)  # before the max_subs cut: skipped ones leave room
    except InvalidName as exc:
        raise PlanError(str(exc)) from None
    seeds = []
    for name in explicit:
        if name.lower() in start.review_statuses:
            start.skipped_seeds.append(name)
        else:
            seeds.append(name)
    chosen = {name.lower() for name in seeds}
    seeds += [c.name for c in candidates if c.name.lower() not in chosen]
    start.plan = dataclasses.replace(plan, seeds=seeds[: plan.max_subs])
    _log(dsn, start, candidates)


def _log(dsn: str, start: CrawlStart, candidates: list[Any]) -> None:
    options = start.options
    logger.info(
        "Earlier crawls in %s: %d subreddit(s) with a review status in SKIP_REVIEW_STATUSES, "
        "%d user(s) fetched within user_fresh_for (not fetched again)",
        mask_dsn(dsn), len(start.review_statuses), len(start.fresh_users),
    )  # fmt: skip
    if options.refresh:
        failed = sum(1 for c in candidates if c.failed)
        logger.info(
            "refresh=%s: %d subreddit(s) to refresh (%d failed last time, %d stale), "
            "%d crawled within stale_after",
            options.refresh, len(candidates), failed, len(candidates) - failed,
            sum(1 for code in start.skip_subs.values() if code == SKIP_FRESH),
        )  # fmt: skip
        if not start.plan.seeds:
            logger.info("refresh=%s: nothing to refresh", options.refresh)
