"""Rate-limit state of one identity (a proxy's IP in public mode, the OAuth client in oauth mode).

Reddit counts requests per fixed window and tells, on each answer, how many remain
(``X-Ratelimit-Remaining``) and when the window ends (``X-Ratelimit-Reset``). An identity
may send while ``remaining - in_flight >= 1``; when a window ends, the allowance is the last
known budget (used + remaining) again. Before its first answer an identity sends at most
``probe`` requests; when answers carry no headers it paces at a default rate. A 429 cools
the identity down until ``Retry-After``, else the known reset, else an exponential backoff
with jitter.
Pure logic on an injected clock; reads no settings.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field


def _float(value: str | bytes | None) -> float | None:
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


@dataclass
class RateHeaders:
    used: float
    remaining: float
    reset: float

    @classmethod
    def parse(cls, get: Mapping[str, str | bytes | None]) -> RateHeaders | None:
        used = _float(get.get("x-ratelimit-used"))
        remaining = _float(get.get("x-ratelimit-remaining"))
        reset = _float(get.get("x-ratelimit-reset"))
        if remaining is None or reset is None:
            return None
        return cls(used or 0.0, remaining, reset)


@dataclass
class Allowance:
    default_rate: float = 100.0  # requests per minute when answers carry no headers; 0: no pacing
    probe: int = 5  # requests in flight before the first answer tells the allowance
    spread: bool = False  # spread the remaining allowance over the time to reset
    backoff_base: float = 2.0
    backoff_max: float = 120.0
    remaining: float | None = None
    budget: float | None = None
    reset_at: float | None = None
    in_flight: int = 0
    answered: bool = False
    headerless: bool = False
    cooldown_until: float = 0.0
    next_free: float = 0.0
    strikes: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    # -- asking ---------------------------------------------------------------------------
    def wait(self, now: float) -> float | None:
        """Seconds until this identity may send (0: now), or None: wait for an in-flight answer."""
        if now < self.cooldown_until:
            return self.cooldown_until - now
        if not self.answered:
            return None if self.in_flight >= self.probe else 0.0
        if self.headerless or self.remaining is None:
            return max(0.0, self.next_free - now)
        self._roll_window(now)
        if self.remaining - self.in_flight >= 1:
            return max(0.0, self.next_free - now) if self.spread else 0.0
        if self.reset_at is not None and self.reset_at > now:
            return self.reset_at - now
        return None

    def _roll_window(self, now: float) -> None:
        if self.reset_at is not None and now >= self.reset_at and self.budget is not None:
            self.remaining, self.reset_at = self.budget, None

    # -- telling ----------------------------------------------------------------------------
    def sent(self, now: float) -> None:
        self.in_flight += 1
        if self.headerless or self.remaining is None:
            interval = 60.0 / self.default_rate if self.default_rate > 0 else 0.0
            self.next_free = max(now, self.next_free) + interval
        elif self.spread and self.reset_at is not None:
            left = max(self.remaining - self.in_flight, 1.0)
            self.next_free = now + max(self.reset_at - now, 0.0) / left

    def finished(self, now: float, headers: RateHeaders | None) -> None:
        """An answer (any status but 429) or a failure came back for one sent request."""
        self.in_flight = max(self.in_flight - 1, 0)
        self.answered = True
        if headers is None:
            if self.remaining is None:
                self.headerless = True
            return
        self.headerless = False
        self.strikes = 0
        self.remaining = headers.remaining
        self.budget = headers.used + headers.remaining
        self.reset_at = now + headers.reset

    def abandoned(self) -> None:
        """A sent request will get no answer through us (network error, re-sent elsewhere)."""
        self.in_flight = max(self.in_flight - 1, 0)

    def throttled(
        self, now: float, retry_after: float | None, headers: RateHeaders | None
    ) -> float:
        """A 429 came back: cool down; returns the cool-down in seconds."""
        self.in_flight = max(self.in_flight - 1, 0)
        self.answered = True
        self.strikes += 1
        if retry_after is not None:
            delay = retry_after
        elif headers is not None:
            delay = headers.reset
        elif self.reset_at is not None and self.reset_at > now:
            delay = self.reset_at - now
        else:
            ceiling = min(self.backoff_base * 2 ** (self.strikes - 1), self.backoff_max)
            delay = ceiling * self.rng.uniform(0.5, 1.0)
        self.cooldown_until = max(self.cooldown_until, now + delay)
        if self.remaining is not None:
            self.remaining = 0.0
            self.reset_at = self.cooldown_until
        return delay
