"""The crawl plan: spider arguments and their settings, parsed and validated.

Every argument can be given as ``-a name=value`` or as a setting
(``-s REDDIT_<NAME>=value``); the argument wins. Reads the settings
``REDDIT_SUBS``, ``REDDIT_SUBS_FILE``, ``REDDIT_USERS_PER_SUB``, ``REDDIT_DEPTH``,
``REDDIT_MAX_SUBS``, ``REDDIT_HOT``, ``REDDIT_TOP_WEEK``, ``REDDIT_TOP_YEAR`` and
``REDDIT_USER_POSTS``.

The options that use what earlier crawls stored (:class:`RefreshOptions`) read
``REDDIT_REFRESH`` (``stale`` or empty), ``REDDIT_STALE_AFTER`` (``24h``),
``REDDIT_USER_FRESH_FOR`` (``7d``), ``REDDIT_CRAWL`` (the job name; empty: the spider's name),
``SKIP_REVIEW_STATUSES`` (``["No Seller"]``) and ``POSTGRES_ENABLED``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scrapy.settings import BaseSettings

from reddit_crawler.errors import ConfigError
from reddit_crawler.names import (
    InvalidName,
    dedupe_names,
    parse_subreddit_lines,
    parse_subreddit_list,
)

MAX_DEPTH = 10

# argument name -> (default, minimum, maximum)
INT_ARGS: dict[str, tuple[int, int, int]] = {
    "users_per_sub": (25, 0, 1000),
    "depth": (0, 0, MAX_DEPTH),
    "max_subs": (1000, 1, 1_000_000),
    "hot": (30, 0, 1000),
    "top_week": (10, 0, 1000),
    "top_year": (100, 0, 1000),
    "user_posts": (30, 0, 1000),
}


REFRESH_MODES = ("stale",)
DURATION_DEFAULTS = {"stale_after": "24h", "user_fresh_for": "7d"}
MAX_DURATION = 3650 * 86400.0
DEFAULT_SKIP_REVIEW_STATUSES = ("No Seller",)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION_RE = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")
_DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_JOB_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")


class PlanError(ConfigError):
    """A spider argument or setting that makes the crawl impossible (one-line message)."""


@dataclass(frozen=True)
class CrawlPlan:
    seeds: list[str] = field(default_factory=list)
    users_per_sub: int = 25
    depth: int = 0
    max_subs: int = 1000
    hot: int = 30
    top_week: int = 10
    top_year: int = 100
    user_posts: int = 30

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RefreshOptions:
    """What a crawl takes from the database: refresh seeds, skip lists, the run lock's job.

    ``stale_after`` and ``user_fresh_for`` are seconds; ``skip_review`` holds lower-cased
    review statuses; ``job`` is empty when the spider's name is the job name.
    """

    refresh: str = ""
    stale_after: float = 86400.0
    user_fresh_for: float = 7 * 86400.0
    job: str = ""
    skip_review: tuple[str, ...] = tuple(s.lower() for s in DEFAULT_SKIP_REVIEW_STATUSES)


def _setting_name(arg: str) -> str:
    return f"REDDIT_{arg.upper()}"


def _pick(arg: str, args: dict[str, Any], settings: BaseSettings) -> Any:
    if args.get(arg) not in (None, ""):
        return args[arg]
    return settings.get(_setting_name(arg))


def _parse_int(arg: str, raw: Any) -> int:
    default, low, high = INT_ARGS[arg]
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise PlanError(f"{arg} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise PlanError(f"{arg} must be between {low} and {high}, got {value}")
    return value


def _read_subs_file(path: str) -> list[str]:
    file = Path(path)
    if not file.is_file():
        raise PlanError(f"subs_file not found: {path}")
    try:
        names = parse_subreddit_lines(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"subs_file unreadable: {path}: {exc}") from None
    if not names:
        raise PlanError(f"subs_file has no subreddit names: {path}")
    return names


def seed_names(args: dict[str, Any], settings: BaseSettings) -> list[str]:
    """Seeds of ``subs`` and ``subs_file``: normalised, deduplicated, not cut to ``max_subs``."""
    raw_subs = _pick("subs", args, settings)
    subs_file = _pick("subs_file", args, settings)
    names: list[str] = []
    if isinstance(raw_subs, (list, tuple)):
        raw_subs = ",".join(raw_subs)
    if raw_subs:
        names += parse_subreddit_list(str(raw_subs))
    if subs_file:
        names += _read_subs_file(str(subs_file))
    return dedupe_names(names)


def parse_duration(arg: str, raw: Any) -> float:
    """Seconds of ``90m``, ``12h``, ``7d``, ``1d12h`` (units s, m, h, d, w), or ``0``.

    A number that is not a string (a setting given in Python) is taken as seconds.
    """
    if raw in (None, ""):
        raw = DURATION_DEFAULTS[arg]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        seconds = float(raw)
    else:
        text = str(raw).strip().lower().replace(" ", "")
        if text == "0":
            seconds = 0.0
        elif _DURATION_RE.fullmatch(text):
            parts = _DURATION_PART_RE.findall(text)
            seconds = sum(float(n) * _DURATION_UNITS[unit] for n, unit in parts)
        else:
            raise PlanError(f"{arg} must be a duration such as 90m, 12h or 7d, got {raw!r}")
    if not 0 <= seconds <= MAX_DURATION:
        raise PlanError(f"{arg} must be between 0 and 3650d, got {raw!r}")
    return seconds


def _refresh_mode(raw: Any) -> str:
    mode = str(raw or "").strip().lower()
    if mode and mode not in REFRESH_MODES:
        raise PlanError(f"unknown refresh value {str(raw)!r}: use refresh=stale")
    return mode


def _job_name(raw: Any) -> str:
    job = str(raw or "").strip()
    if job and not _JOB_RE.fullmatch(job):
        raise PlanError(
            f"invalid job name crawl={job!r}: up to 100 letters, digits, '_', '.', ':' or '-'"
        )
    return job


def skip_review_statuses(settings: BaseSettings) -> tuple[str, ...]:
    """``SKIP_REVIEW_STATUSES`` (a list, or comma-separated text), stripped and lower-cased."""
    if settings.get("SKIP_REVIEW_STATUSES") is None:
        values: Any = DEFAULT_SKIP_REVIEW_STATUSES
    else:
        values = settings.getlist("SKIP_REVIEW_STATUSES")
    return tuple(dict.fromkeys(str(v).strip().lower() for v in values if str(v).strip()))


def build_refresh_options(args: dict[str, Any], settings: BaseSettings) -> RefreshOptions:
    """Validate the refresh arguments and settings; :class:`PlanError` names a bad one."""
    refresh = _refresh_mode(_pick("refresh", args, settings))
    if refresh and not settings.getbool("POSTGRES_ENABLED", True):
        raise PlanError(f"refresh={refresh} needs the database, but POSTGRES_ENABLED is false")
    return RefreshOptions(
        refresh=refresh,
        stale_after=parse_duration("stale_after", _pick("stale_after", args, settings)),
        user_fresh_for=parse_duration("user_fresh_for", _pick("user_fresh_for", args, settings)),
        job=_job_name(_pick("crawl", args, settings)),
        skip_review=skip_review_statuses(settings),
    )


def build_plan(
    args: dict[str, Any], settings: BaseSettings, *, require_seeds: bool = True
) -> CrawlPlan:
    """Validate spider arguments (``-a``) and settings into a :class:`CrawlPlan`.

    The refresh options are validated too (see :func:`build_refresh_options`); with
    ``refresh`` no seed is needed. Raises :class:`PlanError` with a one-line message naming
    the bad value.
    """
    try:
        seeds = seed_names(args, settings)
    except InvalidName as exc:
        raise PlanError(str(exc)) from None
    options = build_refresh_options(args, settings)
    if require_seeds and not seeds and not options.refresh:
        raise PlanError(
            "no subreddits to crawl: give -a subs=name[,name…], -a subs_file=PATH"
            " or -a refresh=stale"
        )
    sizes = {arg: _parse_int(arg, _pick(arg, args, settings)) for arg in INT_ARGS}
    return CrawlPlan(seeds=seeds[: sizes["max_subs"]], **sizes)


# Arguments that make a plan: a distributed worker takes its plan from Redis instead.
PLAN_ARGS = ("subs", "subs_file", *INT_ARGS, "refresh", "stale_after", "user_fresh_for")


def worker_job(args: dict[str, Any], settings: BaseSettings) -> str:
    """The crawl name of a distributed worker (``crawl``); :class:`PlanError` for a plan
    argument, which belongs to ``scrapy enqueue``."""
    given = [arg for arg in PLAN_ARGS if args.get(arg) not in (None, "")]
    if given:
        raise PlanError(
            f"with REDIS_URL set a worker takes its plan from Redis: give {given[0]}= to "
            "`scrapy enqueue`, and only crawl= to the worker"
        )
    return _job_name(_pick("crawl", args, settings))
