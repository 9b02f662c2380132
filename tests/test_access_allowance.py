"""Unit tests of :mod:`reddit_crawler.access.allowance`: one identity's rate-limit state.

Everything runs on explicit ``now`` values (the module takes its clock as an argument).
"""

from __future__ import annotations

import random

import pytest
from scrapy.http import Headers

from reddit_crawler.access.allowance import Allowance, RateHeaders


class EdgeRng(random.Random):
    """``uniform(a, b)`` always answers one end of the range, to check backoff bounds."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def answer(
    allowance: Allowance, now: float, headers: RateHeaders | None, sent_at: float | None = None
) -> None:
    """Send one request at ``sent_at`` (default ``now``) and answer it at ``now``."""
    sent_at = now if sent_at is None else sent_at
    generation = allowance.sent(sent_at)
    allowance.finished(now, headers, generation, sent_at)


def answered(
    remaining: float, reset: float, used: float = 0.0, now: float = 0.0, **kwargs: object
) -> Allowance:
    """An allowance whose one probe request was answered with rate-limit headers at ``now``."""
    allowance = Allowance(default_rate=0, **kwargs)  # type: ignore[arg-type]
    answer(allowance, now, RateHeaders(used, remaining, reset))
    return allowance


def sendable(allowance: Allowance, now: float, cap: int = 10_000) -> int:
    """How many requests may go out at ``now`` (sending them, as the pool would)."""
    count = 0
    while count < cap and allowance.wait(now) == 0.0:
        allowance.sent(now)
        count += 1
    return count


# -- before the first answer ----------------------------------------------------------------------


def test_probe_limit_before_first_answer() -> None:
    allowance = Allowance(probe=3)
    for _ in range(3):
        assert allowance.wait(0.0) == 0.0
        allowance.sent(0.0)
    assert allowance.in_flight == 3
    assert allowance.wait(0.0) is None  # wait for an answer, not for a time
    allowance.abandoned()
    assert allowance.wait(0.0) == 0.0  # a failed probe frees its slot


def test_first_answer_lifts_the_probe_limit() -> None:
    allowance = Allowance(probe=1, default_rate=0)
    allowance.sent(0.0)
    assert allowance.wait(0.0) is None
    allowance.finished(0.5, RateHeaders(used=1, remaining=99, reset=60), 0, 0.0)
    assert allowance.answered
    assert sendable(allowance, 0.5) == 99


# -- the remaining - in_flight rule ---------------------------------------------------------------


def test_may_send_while_remaining_minus_in_flight_is_at_least_one() -> None:
    allowance = answered(remaining=3, reset=60, used=7)
    allowance.sent(0.0)
    allowance.sent(0.0)
    assert allowance.in_flight == 2
    assert allowance.wait(0.0) == 0.0  # 3 - 2 = 1
    allowance.sent(0.0)
    assert allowance.wait(10.0) == pytest.approx(50.0)  # 3 - 3 = 0: until the reset
    allowance.abandoned()
    assert allowance.wait(10.0) == 0.0


def test_fractional_remaining_below_one_is_not_allowance() -> None:
    allowance = answered(remaining=0.5, reset=10)
    assert allowance.wait(0.0) == pytest.approx(10.0)


def test_never_allowed_at_zero_remaining_until_the_reset() -> None:
    allowance = answered(remaining=0, reset=30, used=100)
    for now in (0.0, 1.0, 15.0, 29.0, 29.999):
        wait = allowance.wait(now)
        assert wait is not None and wait > 0
        assert wait == pytest.approx(30.0 - now)
    assert allowance.wait(30.0) == 0.0


def test_window_roll_over_restores_used_plus_remaining() -> None:
    allowance = answered(remaining=2, reset=60, used=598, now=100.0)
    assert sendable(allowance, 100.0) == 2
    assert allowance.wait(100.0) == pytest.approx(60.0)
    assert allowance.wait(159.0) == pytest.approx(1.0)
    # the two answers come back (without headers) before the window ends
    allowance.finished(101.0, None)
    allowance.finished(101.0, None)
    assert allowance.in_flight == 0
    assert allowance.wait(160.0) == 0.0
    assert sendable(allowance, 160.0) == 600  # the whole window again: used + remaining
    assert allowance.wait(160.0) is None  # no known end any more: wait for an answer


def test_in_flight_requests_count_against_the_new_window() -> None:
    allowance = answered(remaining=2, reset=60, used=8)
    assert sendable(allowance, 0.0) == 2
    assert allowance.in_flight == 2
    assert allowance.wait(60.0) == 0.0
    assert sendable(allowance, 60.0) == 10 - 2


def test_sends_after_the_earliest_window_end_count_in_the_new_window() -> None:
    # Reset is whole seconds: a request sent 0.5 s before the known end may already fall
    # into the next window, so it is carried over when the window rolls.
    allowance = answered(remaining=5, reset=60, used=5)
    answer(allowance, 59.8, None, sent_at=59.5)
    assert allowance.wait(60.0) == 0.0
    assert sendable(allowance, 60.0) == 10 - 1


def test_answer_without_headers_keeps_the_known_allowance() -> None:
    allowance = answered(remaining=10, reset=60)
    answer(allowance, 2.0, None, sent_at=1.0)
    assert not allowance.headerless
    assert allowance.in_flight == 0
    assert sendable(allowance, 2.0) == 10


def test_later_answer_lowers_the_estimate() -> None:
    allowance = answered(remaining=10, reset=60, used=0)
    answer(allowance, 5.0, RateHeaders(used=3, remaining=7, reset=55))
    assert sendable(allowance, 5.0) == 7
    assert allowance.wait(5.0) == pytest.approx(55.0)


# -- header parsing -------------------------------------------------------------------------------


def test_headers_parse_case_insensitively_from_scrapy_headers() -> None:
    headers = Headers(
        {
            "X-RATELIMIT-USED": "6",
            "x-ratelimit-remaining": "994.0",
            "X-Ratelimit-Reset": "412",
        }
    )
    assert RateHeaders.parse(headers) == RateHeaders(6.0, 994.0, 412.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("used", "remaining", "reset", "expected"),
    [
        ("6", "994", "412", RateHeaders(6.0, 994.0, 412.0)),
        (b"6.0", b"994.0", b"412.0", RateHeaders(6.0, 994.0, 412.0)),
        (" 6 ", " 994 ", " 412 ", RateHeaders(6.0, 994.0, 412.0)),
        (None, "994", "412", RateHeaders(0.0, 994.0, 412.0)),
        ("lots", "994", "412", RateHeaders(0.0, 994.0, 412.0)),
        ("6", "0", "0", RateHeaders(6.0, 0.0, 0.0)),
    ],
)
def test_headers_parse_numbers(
    used: str | bytes | None,
    remaining: str | bytes,
    reset: str | bytes,
    expected: RateHeaders,
) -> None:
    raw = {"x-ratelimit-used": used, "x-ratelimit-remaining": remaining, "x-ratelimit-reset": reset}
    assert RateHeaders.parse(raw) == expected


@pytest.mark.parametrize(
    ("remaining", "reset"),
    [
        (None, "412"),
        ("994", None),
        ("many", "412"),
        ("994", "soon"),
        ("", "412"),
        ("-1", "412"),
        ("994", "-5"),
        ("nan", "412"),
        ("994", "inf"),
        (b"\xff\xfe", "412"),
    ],
)
def test_garbage_headers_are_ignored(remaining: str | bytes | None, reset: str | None) -> None:
    raw = {"x-ratelimit-used": "1", "x-ratelimit-remaining": remaining, "x-ratelimit-reset": reset}
    assert RateHeaders.parse(raw) is None


def test_no_headers_at_all() -> None:
    assert RateHeaders.parse(Headers()) is None  # type: ignore[arg-type]
    assert RateHeaders.parse({}) is None


# -- headerless pacing ----------------------------------------------------------------------------


def test_headerless_answers_pace_at_the_default_rate() -> None:
    allowance = Allowance(default_rate=60.0, probe=1)  # one request per second
    allowance.sent(0.0)
    allowance.finished(0.2, None)
    assert allowance.headerless
    assert allowance.wait(0.2) == pytest.approx(0.8)
    assert allowance.wait(1.0) == 0.0
    allowance.sent(1.0)
    assert allowance.wait(1.0) == pytest.approx(1.0)
    allowance.sent(2.0)
    allowance.sent(2.0)  # sending early (ignoring wait) pushes the next slot further
    assert allowance.wait(2.0) == pytest.approx(2.0)
    # a long pause does not build up a burst
    assert allowance.wait(100.0) == 0.0
    allowance.sent(100.0)
    assert allowance.wait(100.0) == pytest.approx(1.0)


def test_headerless_pacing_interval_follows_the_rate() -> None:
    allowance = Allowance(default_rate=120.0, probe=1)
    allowance.sent(0.0)
    allowance.finished(0.0, None)
    assert allowance.wait(0.0) == pytest.approx(0.5)


def test_default_rate_zero_means_no_pacing() -> None:
    allowance = Allowance(default_rate=0.0, probe=1)
    allowance.sent(0.0)
    allowance.finished(0.0, None)
    assert allowance.headerless
    for _ in range(50):
        assert allowance.wait(0.0) == 0.0
        allowance.sent(0.0)


def test_headers_after_headerless_answers_switch_to_the_window() -> None:
    allowance = Allowance(default_rate=1.0, probe=1)
    allowance.sent(0.0)
    allowance.finished(0.0, None)
    assert allowance.wait(0.0) == pytest.approx(60.0)
    allowance.sent(0.0)
    allowance.finished(1.0, RateHeaders(used=1, remaining=50, reset=100), 0, 0.0)
    assert not allowance.headerless
    assert allowance.wait(1.0) == 0.0


# -- spread mode ----------------------------------------------------------------------------------


def test_spread_mode_spaces_the_remaining_allowance_until_the_reset() -> None:
    allowance = answered(remaining=10, reset=100, spread=True)
    assert allowance.wait(0.0) == 0.0
    allowance.sent(0.0)  # 9 left after this one, over 100 s
    assert allowance.wait(0.0) == pytest.approx(100.0 / 9)
    assert allowance.wait(100.0 / 9) == 0.0


def test_without_spread_the_allowance_is_sent_at_once() -> None:
    allowance = answered(remaining=10, reset=100, spread=False)
    for _ in range(10):
        assert allowance.wait(0.0) == 0.0
        allowance.sent(0.0)
    assert allowance.wait(0.0) == pytest.approx(100.0)


def test_spread_mode_with_the_last_request_waits_for_the_reset() -> None:
    allowance = answered(remaining=1, reset=40, spread=True)
    allowance.sent(0.0)
    assert allowance.wait(0.0) == pytest.approx(40.0)


# -- 429 ------------------------------------------------------------------------------------------


def test_429_with_retry_after_cools_down_for_exactly_that_long() -> None:
    allowance = answered(remaining=50, reset=300, now=0.0)
    allowance.sent(10.0)
    delay = allowance.throttled(10.0, 30.0, RateHeaders(used=1, remaining=0, reset=200))
    assert delay == 30.0  # Retry-After wins over the reset header
    assert allowance.in_flight == 0
    assert allowance.strikes == 1
    assert allowance.wait(10.0) == pytest.approx(30.0)
    assert allowance.wait(39.9) == pytest.approx(0.1)
    assert allowance.wait(40.0) == 0.0
    assert sendable(allowance, 40.0) == 50  # the window's budget came back after the cool-down


def test_429_with_reset_header_and_no_retry_after() -> None:
    allowance = answered(remaining=50, reset=300)
    allowance.sent(10.0)
    assert allowance.throttled(10.0, None, RateHeaders(used=600, remaining=0, reset=25)) == 25.0
    assert allowance.wait(10.0) == pytest.approx(25.0)


def test_429_with_only_the_known_reset() -> None:
    allowance = answered(remaining=5, reset=50, used=5)
    allowance.sent(10.0)
    assert allowance.throttled(10.0, None, None) == pytest.approx(40.0)
    assert allowance.cooldown_until == pytest.approx(50.0)
    assert allowance.wait(49.0) == pytest.approx(1.0)
    assert allowance.wait(50.0) == 0.0
    assert sendable(allowance, 50.0) == 10  # used + remaining


def test_429_never_shortens_a_running_cool_down() -> None:
    allowance = Allowance()
    allowance.throttled(0.0, 100.0, None)
    allowance.throttled(1.0, 5.0, None)
    assert allowance.cooldown_until == pytest.approx(100.0)


@pytest.mark.parametrize("high", [True, False])
def test_429_without_hints_backs_off_exponentially_up_to_the_max(high: bool) -> None:
    allowance = Allowance(backoff_base=2.0, backoff_max=10.0, rng=EdgeRng(high))
    ceilings = [2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    now = 0.0
    for strike, ceiling in enumerate(ceilings, start=1):
        delay = allowance.throttled(now, None, None)
        assert allowance.strikes == strike
        assert delay == pytest.approx(ceiling if high else ceiling / 2)
        assert allowance.wait(now) == pytest.approx(delay)
        now += delay


def test_429_backoff_has_jitter_within_bounds() -> None:
    delays = []
    for seed in range(40):
        allowance = Allowance(backoff_base=4.0, backoff_max=100.0, rng=random.Random(seed))
        delays.append(allowance.throttled(0.0, None, None))
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 30


def test_429_backoff_grows_per_strike_with_real_jitter() -> None:
    allowance = Allowance(backoff_base=1.0, backoff_max=1000.0, rng=random.Random(7))
    now, delays = 0.0, []
    for _ in range(8):
        delays.append(allowance.throttled(now, None, None))
        now += delays[-1]
    for strike, delay in enumerate(delays, start=1):
        ceiling = 2.0 ** (strike - 1)
        assert ceiling / 2 <= delay <= ceiling
    assert delays[-1] > delays[0] * 10


def test_backoff_max_bounds_the_delay() -> None:
    allowance = Allowance(backoff_base=50.0, backoff_max=60.0, rng=random.Random(3))
    for i in range(20):
        assert allowance.throttled(float(i * 100), None, None) <= 60.0


def test_an_answer_with_headers_resets_the_strikes() -> None:
    allowance = Allowance(backoff_base=2.0, backoff_max=100.0, rng=EdgeRng(True))
    for now in (0.0, 10.0, 20.0):
        allowance.throttled(now, None, None)
    assert allowance.strikes == 3
    allowance.sent(100.0)
    answer(allowance, 100.0, RateHeaders(used=1, remaining=99, reset=1))
    assert allowance.strikes == 0
    assert allowance.throttled(200.0, None, None) == pytest.approx(2.0)


def test_a_headerless_success_resets_the_strikes() -> None:
    allowance = Allowance(backoff_base=2.0, backoff_max=100.0, rng=EdgeRng(True), probe=1)
    for now in (0.0, 10.0, 20.0):
        allowance.throttled(now, None, None)
    allowance.sent(100.0)
    allowance.finished(100.0, None)
    assert allowance.throttled(200.0, None, None) == pytest.approx(2.0)


def test_429_before_any_answer_ends_the_probe_phase() -> None:
    allowance = Allowance(probe=2, default_rate=0)
    allowance.sent(0.0)
    allowance.sent(0.0)
    allowance.throttled(0.0, 5.0, None)
    assert allowance.answered
    assert allowance.wait(1.0) == pytest.approx(4.0)
    assert allowance.wait(5.0) == 0.0


# -- abandoned ------------------------------------------------------------------------------------


def test_abandoned_decrements_in_flight_and_never_below_zero() -> None:
    allowance = Allowance()
    allowance.sent(0.0)
    allowance.sent(0.0)
    allowance.abandoned()
    assert allowance.in_flight == 1
    assert not allowance.answered
    allowance.abandoned()
    allowance.abandoned()
    assert allowance.in_flight == 0
    allowance.finished(0.0, None)
    allowance.throttled(0.0, 1.0, None)
    assert allowance.in_flight == 0
