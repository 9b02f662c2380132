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
    remaining: float | None = None  # estimate for the current window
    budget: float | None = None  # used + remaining: the window's size
    end_low: float | None = None  # the window ends after this time …
    end_high: float | None = None  # … and at the latest at this one
    generation: int = 0  # our count of windows; answers of an older one do not set the estimate
    sent_times: list[float] = field(default_factory=list)
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
        if self.end_high is not None and self.end_high > now:
            return self.end_high - now
        # A new window whose size we may have under-estimated: one request finds out.
        return 0.0 if self.in_flight == 0 else None

    def _roll_window(self, now: float) -> None:
        """Past the latest end of the window: a new one with the whole budget, less what was
        sent after the window may already have ended (the server counted those in the new one)."""
        if self.end_high is None or now < self.end_high or self.budget is None:
            return
        cutoff = (self.end_low if self.end_low is not None else self.end_high) - 0.05
        carried = [t for t in self.sent_times if t >= cutoff]
        self.remaining = max(self.budget - len(carried), 0.0)
        self.sent_times = carried
        self.end_low = self.end_high = None
        self.generation += 1

    # -- telling ----------------------------------------------------------------------------
    def sent(self, now: float) -> int:
        """One request goes out now; returns the window generation to give back with its answer."""
        self.in_flight += 1
        self.sent_times.append(now)
        if len(self.sent_times) > 4 * (self.budget or self.probe) + 64:
            del self.sent_times[: len(self.sent_times) // 2]
        if self.headerless or self.remaining is None:
            interval = 60.0 / self.default_rate if self.default_rate > 0 else 0.0
            self.next_free = max(now, self.next_free) + interval
        elif self.spread and self.end_high is not None:
            left = max(self.remaining - self.in_flight, 1.0)
            self.next_free = now + max(self.end_high - now, 0.0) / left
        return self.generation

    def finished(
        self, now: float, headers: RateHeaders | None, generation: int = 0, sent_at: float = 0.0
    ) -> None:
        """An answer (any status but 429) came back for a request sent at ``sent_at``."""
        self.in_flight = max(self.in_flight - 1, 0)
        self.answered = True
        self.strikes = 0
        if headers is None:
            if self.remaining is None:
                self.headerless = True
            return
        self.headerless = False
        self.budget = headers.used + headers.remaining
        if generation == self.generation:
            self._estimate(headers, low=sent_at + headers.reset - 1, high=now + headers.reset)

    def _estimate(self, headers: RateHeaders, low: float, high: float) -> None:
        # Reset is whole seconds, computed when the request arrived (between send and answer).
        if self.end_high is None or self.remaining is None:
            self.remaining = headers.remaining
            self.end_low, self.end_high = low, high
        elif low < self.end_high:  # the same window: the smallest remaining is the truest
            self.remaining = min(self.remaining, headers.remaining)
            self.end_high = min(self.end_high, high)
            self.end_low = max(self.end_low or low, low)

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
        elif self.end_high is not None and self.end_high > now:
            delay = self.end_high - now
        else:
            ceiling = min(self.backoff_base * 2 ** (self.strikes - 1), self.backoff_max)
            delay = ceiling * self.rng.uniform(0.5, 1.0)
        self.cooldown_until = max(self.cooldown_until, now + delay)
        if self.remaining is not None:
            self.remaining = 0.0
            self.end_high = self.cooldown_until
            self.end_low = min(self.end_low or self.cooldown_until, self.cooldown_until)
        return delay
