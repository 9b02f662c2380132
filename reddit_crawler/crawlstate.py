"""The crawl's progress through levels of subreddits, users and discoveries.

Level 0 is the seed subreddits; level ``d + 1`` is the subreddits discovered through the
users of level ``d``, in a fixed order (subreddit, then its users, then their posts) so the
same world and plan always give the same crawl, whatever order answers arrive in. A level
is complete when each of its subreddits has joined and each user they selected has
answered; then its discoveries are emitted and the next level starts while ``depth`` and
``max_subs`` allow. Each user is fetched once per crawl.

What earlier crawls stored (see :mod:`reddit_crawler.refresh`) comes in as ``skip_subs``
(subreddits discovery never schedules, with why: ``review``, ``fresh``) and ``fresh_users``
(users not fetched again: their stored subreddits stand in for their posts' in discovery).
Skips are reported in :attr:`Step.skipped`. Pure Python; reads no settings.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reddit_crawler.fetches import Fetch
from reddit_crawler.items import DiscoveryItem, PostItem
from reddit_crawler.names import dedupe_names
from reddit_crawler.parsers.common import now_utc
from reddit_crawler.plan import CrawlPlan
from reddit_crawler.units import Answer, SubredditUnit, UserUnit


@dataclass
class Step:
    """What one answer led to: items to yield, requests to send, and units not crawled
    (``(kind, name, why)``: ``("subreddit", name, "review")``, ``("user", name, "fresh")`` …)."""

    items: list[Any] = field(default_factory=list)
    fetches: list[Fetch] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)

    def extend(self, other: Step) -> None:
        self.items += other.items
        self.fetches += other.fetches
        self.skipped += other.skipped


@dataclass
class Counters:
    subs_done: int = 0
    users_done: int = 0
    posts: int = 0
    discovered: int = 0


class CrawlState:
    def __init__(
        self,
        plan: CrawlPlan,
        *,
        skip_subs: Mapping[str, str] | None = None,
        fresh_users: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.plan = plan
        self.skip_subs = dict(skip_subs or {})  # lower name -> why (never scheduled)
        self.fresh_users = dict(fresh_users or {})  # lower name -> their stored subreddits
        self.skips_reported: set[str] = set()
        self.level = 0
        self.levels: list[list[str]] = []
        self.subs: dict[str, SubredditUnit] = {}
        self.users: dict[str, UserUnit] = {}
        self.busy: set[tuple[str, str]] = set()
        self.discovered_names: set[str] = set()
        self.counters = Counters()
        self.finished = False
        # Requests sent and not answered yet: what a resumed crawl (JOBDIR) must send again
        # when they are neither answered nor waiting in the scheduler.
        self.outstanding: set[Fetch] = set()

    def _track(self, step: Step) -> Step:
        self.outstanding.update(step.fetches)
        return step

    def lost_fetches(self) -> list[Fetch]:
        """Fetches still unanswered (call when the engine is idle: they will never be)."""
        return sorted(self.outstanding, key=lambda f: (f.unit, f.name.lower(), f.part, f.page))

    # -- starting units -------------------------------------------------------------
    def start(self) -> Step:
        return self._track(self._start_level(list(self.plan.seeds[: self.plan.max_subs])))

    def _start_level(self, names: list[str]) -> Step:
        self.levels.append(names)
        step = Step()
        for name in names:
            unit = SubredditUnit(name=name, depth=self.level, plan=self.plan)
            self.subs[name.lower()] = unit
            self.busy.add(("sub", name.lower()))
            step.fetches += unit.start()
        if not names:
            self.finished = True
        return step

    def _start_user(self, name: str, step: Step) -> None:
        key = name.lower()
        if key in self.users:
            return
        unit = UserUnit(name=name, plan=self.plan)
        self.users[key] = unit
        if key in self.fresh_users:  # fetched within user_fresh_for: done, from the database
            unit.subs = list(self.fresh_users[key])
            step.skipped.append(("user", name, "fresh"))
            return
        self.busy.add(("user", key))
        step.fetches += unit.start()

    # -- answers ----------------------------------------------------------------------
    def record(self, fetch: Fetch, answer: Answer) -> Step:
        """Feed one answer (or failure) for ``fetch``; return what follows from it."""
        self.outstanding.discard(fetch)
        if fetch.unit == "sub":
            return self._track(self._record_sub(fetch, answer))
        return self._track(self._record_user(fetch, answer))

    def _record_sub(self, fetch: Fetch, answer: Answer) -> Step:
        unit = self.subs.get(fetch.name.lower())
        if unit is None or unit.done:
            return Step()
        step = Step(fetches=unit.record(fetch, answer))
        if unit.done:
            item, posts = unit.build(now_utc())
            self.busy.discard(("sub", fetch.name.lower()))
            self.counters.subs_done += 1
            self.counters.posts += len(posts)
            step.items += [item, *posts]
            for user in unit.users:
                self._start_user(user, step)
            step.extend(self._maybe_finish_level())
        return step

    def _record_user(self, fetch: Fetch, answer: Answer) -> Step:
        unit = self.users.get(fetch.name.lower())
        if unit is None or unit.done:
            return Step()
        step = Step(fetches=unit.record(fetch, answer))
        if unit.done:
            items = unit.build(now_utc())
            self.busy.discard(("user", fetch.name.lower()))
            self.counters.users_done += 1
            self.counters.posts += sum(1 for item in items if isinstance(item, PostItem))
            step.items += items
            step.extend(self._maybe_finish_level())
        return step

    # -- levels -----------------------------------------------------------------------
    def _maybe_finish_level(self) -> Step:
        if self.finished or self.busy:
            return Step()
        level = self.levels[-1]
        sources = {n.lower(): (self.subs[n.lower()].about or {}).get("name", n) for n in level}
        user_subs = {key: unit.subs for key, unit in self.users.items()}
        selected = {n.lower(): self.subs[n.lower()].users for n in level}
        discoveries, candidates = level_discoveries(level, sources, selected, user_subs, now_utc())
        self.discovered_names.update(d.subreddit.lower() for d in discoveries)
        self.counters.discovered = len(self.discovered_names)
        step = Step(items=list(discoveries))
        if self.level >= self.plan.depth:
            self.finished = True
            return step
        room = self.plan.max_subs - len(self.subs)
        fresh, skipped = next_level_names(candidates, set(self.subs), self.skip_subs, room)
        for kind, name, why in skipped:
            if name.lower() not in self.skips_reported:
                self.skips_reported.add(name.lower())
                step.skipped.append((kind, name, why))
        self.level += 1
        step.extend(self._start_level(fresh))
        return step

    # -- progress -----------------------------------------------------------------------
    def queued(self, unit: str) -> int:
        return sum(1 for kind, _ in self.busy if kind == unit)


# -- level transitions, shared with the distributed frontier ------------------------------
def level_discoveries(
    level: Sequence[str],
    sources: Mapping[str, str],
    selected: Mapping[str, Sequence[str]],
    user_subs: Mapping[str, Sequence[str]],
    crawled_at: datetime,
) -> tuple[list[DiscoveryItem], list[str]]:
    """Discoveries of a complete level, in the fixed order (subreddit, user, post).

    ``sources``: lower name -> the subreddit's own spelling (from its about page);
    ``selected``: lower name -> the users it selected; ``user_subs``: lower user name ->
    the subreddits of their posts. Returns the items and the candidate names in order.
    """
    items: list[DiscoveryItem] = []
    candidates: list[str] = []
    for name in level:
        source = sources.get(name.lower(), name)
        for user_name in selected.get(name.lower(), ()):
            for found in user_subs.get(user_name.lower(), ()):
                if found.lower() == source.lower():
                    continue
                items.append(DiscoveryItem(found, source, user_name, crawled_at))
                candidates.append(found)
    return items, candidates


def next_level_names(
    candidates: Sequence[str],
    taken: Container[str],
    skip_subs: Mapping[str, str],
    room: int,
) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The next level: new candidates (lower names not in ``taken``) less skipped ones, cut
    to ``room``; and the skipped ones as ``("subreddit", name, why)``."""
    kept: list[str] = []
    skipped: list[tuple[str, str, str]] = []
    for name in dedupe_names(list(candidates)):
        if name.lower() in taken:
            continue
        why = skip_subs.get(name.lower())
        if why is None:
            kept.append(name)
        else:
            skipped.append(("subreddit", name, why))
    return kept[: max(room, 0)], skipped
