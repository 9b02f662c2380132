"""The crawl plan: spider arguments and their settings, parsed and validated.

Every argument can be given as ``-a name=value`` or as a setting
(``-s REDDIT_<NAME>=value``); the argument wins. Reads the settings
``REDDIT_SUBS``, ``REDDIT_SUBS_FILE``, ``REDDIT_USERS_PER_SUB``, ``REDDIT_DEPTH``,
``REDDIT_MAX_SUBS``, ``REDDIT_HOT``, ``REDDIT_TOP_WEEK``, ``REDDIT_TOP_YEAR`` and
``REDDIT_USER_POSTS``.
"""

from __future__ import annotations

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


def _seeds(args: dict[str, Any], settings: BaseSettings) -> list[str]:
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


def build_plan(
    args: dict[str, Any], settings: BaseSettings, *, require_seeds: bool = True
) -> CrawlPlan:
    """Validate spider arguments (``-a``) and settings into a :class:`CrawlPlan`.

    Raises :class:`PlanError` with a one-line message naming the bad value.
    """
    try:
        seeds = _seeds(args, settings)
    except InvalidName as exc:
        raise PlanError(str(exc)) from None
    if require_seeds and not seeds:
        raise PlanError("no subreddits to crawl: give -a subs=name[,name…] or -a subs_file=PATH")
    sizes = {arg: _parse_int(arg, _pick(arg, args, settings)) for arg in INT_ARGS}
    return CrawlPlan(seeds=seeds[: sizes["max_subs"]], **sizes)
