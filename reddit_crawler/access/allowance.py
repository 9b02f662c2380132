"""Rate-limit state of one identity (a proxy's IP in public mode, the OAuth client in oauth mode).

Reddit counts requests per fixed window and tells, on each answer, how many remain
(``X-Ratelimit-Remaining``) and in how many whole seconds the window ends
(``X-Ratelimit-Reset``), both as of the moment the request arrived. The reference is the
answered request sent last: what it says remained, less every request sent after it (in
flight or answered), may still be sent; "after" starts one transit time early (the longest
send-to-answer time seen) and counts every earlier request still unanswered when the
reference's answer came, for requests overtaken on their way. Its window ends between
``sent + reset - 1`` and ``answered + reset``; past that upper bound a new window holds the
whole budget (used + remaining) less what was sent after the lower bound (the server may
have counted those in the new window already). Before its first answer an identity sends at
most ``probe`` requests; when answers carry no headers it paces at a default rate. A 429
cools the identity down until ``Retry-After``, else the known reset, else an exponential
backoff with jitter. Pure logic on an injected clock; reads no settings.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field


def parse_seconds(value: str | bytes | None) -> float | None:
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
        used = parse_seconds(get.get("x-ratelimit-used"))
        remaining = parse_seconds(get.get("x-ratelimit-remaining"))
        reset = parse_seconds(get.get("x-ratelimit-reset"))
        if remaining is None or reset is None:
            return None
        return cls(used or 0.0, remaining, reset)


MAX_TRANSIT = 2.0


@dataclass
class Allowance:
    default_rate: float = 100.0  # requests per minute when answers carry no headers; 0: no pacing
    probe: int = 5  # requests in flight before the first answer tells the allowance
    spread: bool = False  # spread the remaining allowance over the time to reset
    backoff_base: float = 2.0
    backoff_max: float = 120.0
    budget: float | None = None  # used + remaining: the window's size
    ref_sent: float | None = None  # send time of the answered request sent last …
    ref_seq: int = 0  # … its place in the order of sending …
    ref_remaining: float = 0.0  # … what remained when it arrived …
    end_low: float = 0.0  # … and the bounds of its window's end
    end_high: float = 0.0
    sent_times: list[float] = field(default_factory=list)  # ascending
    transit: float = 0.0  # longest send-to-answer time seen (capped): requests sent this
    # long before a moment may still have arrived after it
    trimmed: int = 0  # sends dropped from the front of sent_times
    pending: dict[int, float] = field(default_factory=dict)  # unanswered: seq -> send time
    ref_used: float = 0.0  # the reference's X-Ratelimit-Used: its place in its window
    laggards: set[int] = field(default_factory=set)  # sent before it, unanswered by then
    told: dict[int, float] = field(default_factory=dict)  # seq -> its Used (-1: a 429)
    in_flight: int = 0
    answered: bool = False
    headerless: bool = False
    cooldown_until: float = 0.0
    next_free: float = 0.0
    strikes: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    # -- asking ---------------------------------------------------------------------------
    def _sent_after(self, moment: float) -> int:
        return len(self.sent_times) - bisect.bisect_right(self.sent_times, moment)

    def available(self, now: float) -> float | None:
        """Requests that may still be sent in the current window (None: unknown)."""
        if self.ref_sent is None or self.budget is None:
            return None
        if now >= self.end_high:
            cutoff = self.end_low - self.transit
            in_the_air = sum(1 for sent_at in self.pending.values() if sent_at <= cutoff)
            return self.budget - self._sent_after(cutoff) - in_the_air
        sent_since = len(self.sent_times) + self.trimmed - self.ref_seq
        return self.ref_remaining - sent_since - self._overtaking()

    def _overtaking(self) -> int:
        """Requests sent before the reference that may have arrived after it, uncounted in what
        it says remained: those unanswered when its answer came, and those sent within one
        transit time before it — less those whose own answer showed they came first (a lower
        Used) or were not counted (a 429)."""
        assert self.ref_sent is not None
        first = bisect.bisect_right(self.sent_times, self.ref_sent - self.transit)
        near = range(first + self.trimmed + 1, self.ref_seq) if self.transit > 0 else range(0)
        suspects = self.laggards.union(near)
        return sum(1 for seq in suspects if not self._came_first(seq))

    def _came_first(self, seq: int) -> bool:
        used = self.told.get(seq)
        return used is not None and used < self.ref_used

    def wait(self, now: float) -> float | None:
        """Seconds until this identity may send (0: now), or None: wait for an in-flight answer."""
        if now < self.cooldown_until:
            return self.cooldown_until - now
        if not self.answered:
            return None if self.in_flight >= self.probe else 0.0
        available = self.available(now)
        if self.headerless or available is None:
            return max(0.0, self.next_free - now)
        if available >= 1:
            return max(0.0, self.next_free - now) if self.spread else 0.0
        if now < self.end_high:
            return self.end_high - now
        # A new window whose room we may have under-estimated: one request finds out.
        return 0.0 if self.in_flight == 0 else None

    # -- telling ----------------------------------------------------------------------------
    def sent(self, now: float) -> int:
        """One request goes out now; returns its place in the order of sending (from 1)."""
        self.in_flight += 1
        self.sent_times.append(max(now, self.sent_times[-1]) if self.sent_times else now)
        seq = len(self.sent_times) + self.trimmed
        self.pending[seq] = now
        self._trim()
        if self.headerless or self.ref_sent is None:
            interval = 60.0 / self.default_rate if self.default_rate > 0 else 0.0
            self.next_free = max(now, self.next_free) + interval
        elif self.spread:
            left = max((self.available(now) or 0.0), 1.0)
            self.next_free = now + max(self.end_high - now, 0.0) / left
        return seq

    def _trim(self) -> None:
        if self.ref_sent is None or len(self.sent_times) < 1024:
            return
        oldest_needed = min(self.ref_sent, self.end_low) - self.transit
        drop = bisect.bisect_right(self.sent_times, oldest_needed)
        del self.sent_times[:drop]
        self.trimmed += drop

    def finished(
        self, now: float, headers: RateHeaders | None, sent_at: float = 0.0, seq: int = 0
    ) -> None:
        """An answer (any status but 429) came back for request number ``seq``, sent at
        ``sent_at``."""
        self._landed(seq)
        self.answered = True
        self.strikes = 0
        self.transit = min(max(self.transit, now - sent_at), MAX_TRANSIT)
        if headers is None:
            if self.ref_sent is None:
                self.headerless = True
            return
        self.headerless = False
        self.budget = headers.used + headers.remaining
        self._tell(seq, headers.used)
        if self.ref_sent is None or seq >= self.ref_seq:
            self._new_reference(sent_at, seq, headers.remaining, headers.used)
            self.end_low = sent_at + headers.reset - 1
            self.end_high = now + headers.reset

    def _tell(self, seq: int, used: float) -> None:
        self.told[seq] = used
        if len(self.told) > 4096:
            for old in list(self.told)[:2048]:
                del self.told[old]

    def _landed(self, seq: int) -> None:
        self.in_flight = max(self.in_flight - 1, 0)
        self.pending.pop(seq, None)

    def _new_reference(self, sent_at: float, seq: int, remaining: float, used: float) -> None:
        self.ref_sent, self.ref_seq, self.ref_remaining = sent_at, seq, remaining
        self.ref_used = used
        self.laggards = {other for other in self.pending if other < seq}

    def abandoned(self, seq: int = 0) -> None:
        """A sent request will get no answer through us (network error, re-sent elsewhere)."""
        self._landed(seq)

    def throttled(
        self,
        now: float,
        retry_after: float | None,
        headers: RateHeaders | None,
        sent_at: float = 0.0,
        seq: int = 0,
    ) -> float:
        """A 429 came back for request number ``seq``, sent at ``sent_at``: cool down; returns
        the seconds."""
        self._landed(seq)
        self._tell(seq, -1.0)  # a 429 is not counted against the window
        self.answered = True
        self.strikes += 1
        if retry_after is not None:
            delay = retry_after
        elif headers is not None:
            delay = headers.reset
        elif self.ref_sent is not None and self.end_high > now:
            delay = self.end_high - now
        else:
            ceiling = min(self.backoff_base * 2 ** (self.strikes - 1), self.backoff_max)
            delay = ceiling * self.rng.uniform(0.5, 1.0)
        self.cooldown_until = max(self.cooldown_until, now + delay)
        if self.ref_sent is None or seq >= self.ref_seq:
            # Its window is full; it ends by the cool-down at the latest.
            self._new_reference(sent_at, seq, 0.0, self.budget or 0.0)
            self.end_low, self.end_high = sent_at, self.cooldown_until
        return delay
