"""Redis key names of one distributed crawl, and the text form of its units.

Every key of crawl ``NAME`` starts with ``reddit_crawler:{NAME}:`` — the braces are a Redis
Cluster hash tag, so one crawl's keys share a slot and its Lua scripts stay atomic there.
A unit is ``sub:<level>:<name>``, ``user:<level>:<name>`` or ``level:<level>:`` (close a
level: emit its discoveries and start the next). Reads no settings.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "reddit_crawler"
UNIT_KINDS = ("sub", "user", "level")


@dataclass(frozen=True)
class CrawlKeys:
    crawl: str

    @property
    def base(self) -> str:
        return f"{PREFIX}:{{{self.crawl}}}"

    def key(self, name: str) -> str:
        return f"{self.base}:{name}"

    @property
    def pattern(self) -> str:
        """Glob matching every key of the crawl (for ``SCAN`` … ``DEL``)."""
        return f"{PREFIX}:{{{_glob_escape(self.crawl)}}}:*"

    # The keys, by role.
    plan = property(lambda self: self.key("plan"))  # JSON plan
    queue = property(lambda self: self.key("queue"))  # list of units to take
    leases = property(lambda self: self.key("leases"))  # zset unit -> lease deadline (ms)
    subs = property(lambda self: self.key("subs"))  # set of lower subreddit names taken
    users = property(lambda self: self.key("users"))  # set of lower user names taken
    sub_results = property(lambda self: self.key("sub_results"))  # hash lower -> JSON
    user_results = property(lambda self: self.key("user_results"))  # hash lower -> JSON
    levels = property(lambda self: self.key("levels"))  # list of JSON name lists
    finished = property(lambda self: self.key("finished"))  # "1" once the last level closed
    skip_subs = property(lambda self: self.key("skip_subs"))  # hash lower -> why
    fresh_users = property(lambda self: self.key("fresh_users"))  # hash lower -> JSON subs
    counters = property(lambda self: self.key("counters"))  # hash of progress counters
    workers = property(lambda self: self.key("workers"))  # hash worker id -> JSON heartbeat

    def pending(self, level: int) -> str:
        """Units of ``level`` (subreddits and their users) not done yet."""
        return self.key(f"pending:{level}")


def unit_text(kind: str, level: int, name: str = "") -> str:
    return f"{kind}:{level}:{name}"


def parse_unit(text: str | bytes) -> tuple[str, int, str]:
    """``(kind, level, name)`` of a unit's text; ``ValueError`` if it is not one."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    kind, level, name = text.split(":", 2)
    if kind not in UNIT_KINDS or not level.isdigit() or (kind != "level") != bool(name):
        raise ValueError(f"not a unit: {text!r}")
    return kind, int(level), name


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
