"""The two units of work, a subreddit and a user, and how their answers are joined.

A unit collects the answers of its parts (five for a subreddit, two for a user; listings
may take several pages) and, when every part has answered or failed, builds its items.
Pure Python, no Scrapy: the spider feeds it :class:`Answer` objects. Reads no settings.

Names in Reddit's data that are not valid names (an author that cannot be a user name, a
post's subreddit that cannot be a subreddit name) are never fetched: a unit lists them in
:attr:`~SubredditUnit.rejected` / :attr:`~UserUnit.rejected` as ``(kind, name)`` for the spider
to count and log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reddit_crawler.fetches import LISTING_PARTS, SUBREDDIT_PARTS, Fetch, first_page, next_page
from reddit_crawler.items import ActivityItem, PostItem, SubredditItem, UserItem
from reddit_crawler.names import ABSENT_AUTHORS, is_crawlable_user, is_profile_subreddit
from reddit_crawler.parsers.listing import listing_stats, merge_posts, parse_listing, post_subreddit
from reddit_crawler.parsers.subreddit import parse_about, parse_rules, subreddit_state
from reddit_crawler.parsers.user import parse_user_about
from reddit_crawler.plan import CrawlPlan


@dataclass
class Answer:
    """What came back for one request: an HTTP status and decoded body, or an error."""

    status: int
    body: Any = None
    location: str = ""
    error: str | None = None


def listing_size(plan: CrawlPlan, part: str) -> int:
    return {
        "hot": plan.hot,
        "top_week": plan.top_week,
        "top_year": plan.top_year,
        "submitted": plan.user_posts,
    }.get(part, 0)


def _fail_reason(answer: Answer) -> str:
    return answer.error or f"HTTP {answer.status}"


@dataclass
class SubredditUnit:
    name: str
    depth: int
    plan: CrawlPlan
    pending: set[str] = field(default_factory=set)
    listings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    about: dict[str, Any] | None = None
    state: str | None = None
    rules: list[Any] = field(default_factory=list)
    failed_parts: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # ("user", invalid author)

    def start(self) -> list[Fetch]:
        parts = [
            p for p in SUBREDDIT_PARTS if p in ("about", "rules") or listing_size(self.plan, p)
        ]
        self.pending = set(parts)
        return [first_page("sub", self.name, p, listing_size(self.plan, p)) for p in parts]

    @property
    def done(self) -> bool:
        return not self.pending

    def record(self, fetch: Fetch, answer: Answer) -> list[Fetch]:
        """Take one answer; return the follow-up page to fetch, if any."""
        if answer.error is not None:
            return self._fail(fetch, _fail_reason(answer))
        state = subreddit_state(answer.status, answer.body, answer.location)
        if fetch.part == "about":
            return self._record_about(fetch, answer, state)
        if answer.status != 200:
            return self._fail(fetch, state or _fail_reason(answer), quiet=state is not None)
        if fetch.part == "rules":
            return self._record_rules(fetch, answer)
        return self._record_page(fetch, answer)

    def _fail(self, fetch: Fetch, reason: str, quiet: bool = False) -> list[Fetch]:
        if not quiet and fetch.part != "about":
            self.failed_parts.append(f"{fetch.part}: {reason}")
        self.pending.discard(fetch.part)
        if fetch.part == "about" and self.state is None:
            self.state = "failed"
            self.failed_parts.append(f"about: {reason}")
        return []

    def _record_about(self, fetch: Fetch, answer: Answer, state: str | None) -> list[Fetch]:
        self.pending.discard("about")
        if state is not None:
            self.state = state
            return []
        about = parse_about(answer.body) if answer.status == 200 else None
        if about is None:
            self.state = "failed"
            self.failed_parts.append(
                f"about: {_fail_reason(answer) if answer.status != 200 else 'not a t5 document'}"
            )
            return []
        self.about, self.state = about, "ok"
        return []

    def _record_rules(self, fetch: Fetch, answer: Answer) -> list[Fetch]:
        rules = parse_rules(answer.body)
        self.pending.discard("rules")
        if rules is None:
            self.failed_parts.append("rules: not a rules document")
        else:
            self.rules = rules
        return []

    def _record_page(self, fetch: Fetch, answer: Answer) -> list[Fetch]:
        page = parse_listing(answer.body)
        if page is None:
            return self._fail(fetch, "not a Listing")
        size = listing_size(self.plan, fetch.part)
        collected = self.listings.setdefault(fetch.part, [])
        collected.extend(page.posts[: size - len(collected)])
        follow = next_page(fetch, size, len(collected), page.after if page.posts else None)
        if follow is None:
            self.pending.discard(fetch.part)
            return []
        return [follow]

    def build(self, crawled_at: datetime) -> tuple[SubredditItem, list[PostItem]]:
        """The subreddit item and its posts; also selects :attr:`users`."""
        ok = self.state == "ok"
        fields = dict(self.about or {})
        name = fields.pop("name", self.name)
        item = SubredditItem(
            name=name,
            status=self.state or "failed",
            depth=self.depth,
            crawled_at=crawled_at,
            failed_parts=list(self.failed_parts),
            **fields,
        )
        if not ok:
            return item, []
        item.rules = self.rules
        item.stats = listing_stats(self.listings)
        invalid: list[str] = []
        self.users = select_users(self.listings, self.plan.users_per_sub, invalid)
        self.rejected += [("user", name) for name in invalid]
        ordered = {part: self.listings[part] for part in LISTING_PARTS if part in self.listings}
        return item, merge_posts(ordered, crawled_at)


def select_users(
    listings: dict[str, list[dict[str, Any]]], cap: int, invalid: list[str] | None = None
) -> list[str]:
    """Unique authors of hot, then top week, then top year, in order of first appearance.

    Authors that are strings but not valid user names are skipped and appended (once each) to
    ``invalid`` when given; ``[deleted]``/``[removed]`` and missing authors are skipped quietly.
    """
    seen: set[str] = set()
    users: list[str] = []
    for part in ("hot", "top_week", "top_year"):
        for post in listings.get(part, []):
            author = post.get("author")
            if len(users) >= cap:
                return users
            if author in ABSENT_AUTHORS or not is_crawlable_user(author):
                if (
                    invalid is not None
                    and isinstance(author, str)
                    and author
                    and author not in ABSENT_AUTHORS
                    and author not in invalid
                ):
                    invalid.append(author)
                continue
            if author.lower() not in seen:
                seen.add(author.lower())
                users.append(author)
    return users


@dataclass
class UserUnit:
    name: str
    plan: CrawlPlan
    pending: set[str] = field(default_factory=set)
    about: dict[str, Any] | None = None
    about_state: str | None = None
    posts_state: str | None = None
    posts: list[dict[str, Any]] = field(default_factory=list)
    failed_parts: list[str] = field(default_factory=list)
    subs: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # ("subreddit", bad name)

    def start(self) -> list[Fetch]:
        parts = ["user_about"] + (["submitted"] if self.plan.user_posts else [])
        self.pending = set(parts)
        return [first_page("user", self.name, p, listing_size(self.plan, p)) for p in parts]

    @property
    def done(self) -> bool:
        return not self.pending

    def record(self, fetch: Fetch, answer: Answer) -> list[Fetch]:
        if fetch.part == "user_about":
            self.pending.discard("user_about")
            self._record_about(answer)
            return []
        if answer.error is None and answer.status == 200:
            return self._record_page(fetch, answer)
        self.pending.discard("submitted")
        if answer.error is None and answer.status in (403, 404) and isinstance(answer.body, dict):
            self.posts_state = "private_posts" if answer.status == 403 else "not_found"
        else:
            self.failed_parts.append(f"submitted: {_fail_reason(answer)}")
        return []

    def _record_about(self, answer: Answer) -> None:
        if answer.error is None and answer.status == 404:
            self.about_state = "not_found"
            return
        about = (
            parse_user_about(answer.body) if answer.error is None and answer.status == 200 else None
        )
        if about is None:
            reason = (
                _fail_reason(answer)
                if answer.error or answer.status != 200
                else "not a t2 document"
            )
            self.failed_parts.append(f"user_about: {reason}")
            return
        self.about, self.about_state = about, about["status"]

    def _record_page(self, fetch: Fetch, answer: Answer) -> list[Fetch]:
        page = parse_listing(answer.body)
        if page is None:
            self.failed_parts.append("submitted: not a Listing")
            self.pending.discard("submitted")
            return []
        size = self.plan.user_posts
        self.posts.extend(page.posts[: size - len(self.posts)])
        follow = next_page(fetch, size, len(self.posts), page.after if page.posts else None)
        if follow is None:
            self.pending.discard("submitted")
            return []
        return [follow]

    @property
    def status(self) -> str:
        if self.about_state in ("suspended", "not_found"):
            return self.about_state
        if self.about_state is None or self.failed_parts:
            return "failed"
        return self.posts_state or "ok"

    def build(self, crawled_at: datetime) -> list[UserItem | PostItem | ActivityItem]:
        """The user item, their posts and their activity edges; also sets :attr:`subs`."""
        fields = {k: v for k, v in (self.about or {}).items() if k not in ("name", "status")}
        name = (self.about or {}).get("name", self.name)
        user = UserItem(
            name=name,
            status=self.status,
            crawled_at=crawled_at,
            posts_fetched=len(self.posts),
            failed_parts=list(self.failed_parts),
            **fields,
        )
        posts = merge_posts({"submitted": self.posts}, crawled_at)
        counts: dict[str, tuple[str, int]] = {}
        for data in self.posts:
            sub = post_subreddit(data)
            if sub is None:
                raw = data.get("subreddit")
                bad = ("subreddit", raw)
                if (
                    isinstance(raw, str)
                    and raw
                    and not is_profile_subreddit(raw, data.get("subreddit_type"))
                    and bad not in self.rejected
                ):
                    self.rejected.append(bad)
            else:
                shown, count = counts.get(sub.lower(), (sub, 0))
                counts[sub.lower()] = (shown, count + 1)
        self.subs = [shown for shown, _ in counts.values()]
        self.posts = []
        edges = [ActivityItem(name, shown, n, crawled_at) for shown, n in counts.values()]
        return [user, *posts, *edges]
