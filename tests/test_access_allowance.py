"""Unit tests of :mod:`reddit_crawler.access.allowance`: one identity's rate-limit state.

Everything runs on explicit ``now`` values (the module takes its clock as an argument). Times
are mostly binary fractions (0.125, 0.25 ...) so that sums and differences are exact.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field
from typing import Any

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
) -> int:
    """Send one request at ``sent_at`` (default ``now``) and answer it at ``now``; returns its
    place in the order of sending."""
    sent_at = now if sent_at is None else sent_at
    seq = allowance.sent(sent_at)
    allowance.finished(now, headers, sent_at, seq)
    return seq


def answered(
    remaining: float, reset: float, used: float = 0.0, now: float = 0.0, **kwargs: object
) -> Allowance:
    """An allowance whose one probe request (seq 1), sent and answered at ``now`` (so no transit
    time yet), told the rate-limit headers."""
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


def test_sent_numbers_the_requests_in_the_order_of_sending() -> None:
    allowance = Allowance(default_rate=0, probe=10)
    assert [allowance.sent(t) for t in (0.0, 0.5, 0.25)] == [1, 2, 3]
    assert allowance.sent_times == [0.0, 0.5, 0.5]  # a clock going back counts as no time


def test_first_answer_lifts_the_probe_limit() -> None:
    allowance = Allowance(probe=1, default_rate=0)
    seq = allowance.sent(0.0)
    assert allowance.wait(0.0) is None
    allowance.finished(0.5, RateHeaders(used=1, remaining=99, reset=60), 0.0, seq)
    assert allowance.answered
    assert (allowance.ref_sent, allowance.ref_seq, allowance.ref_remaining) == (0.0, 1, 99)
    assert allowance.transit == 0.5
    # the window ends between sent + reset - 1 and answered + reset
    assert (allowance.end_low, allowance.end_high) == (59.0, 60.5)
    assert sendable(allowance, 0.5) == 99
    assert allowance.wait(0.5) == pytest.approx(60.0)


def test_the_probes_count_against_the_first_answer() -> None:
    allowance = Allowance(probe=3, default_rate=0)
    first = allowance.sent(0.0)
    allowance.sent(0.125)
    allowance.sent(0.25)
    allowance.finished(0.375, RateHeaders(used=1, remaining=9, reset=60), 0.0, first)
    assert allowance.available(0.375) == 9 - 2  # the two later probes were sent after it
    assert sendable(allowance, 0.375) == 7


# -- the reference: what remained, less what was sent after it ------------------------------------


def test_requests_sent_after_the_reference_count_until_it_is_replaced() -> None:
    allowance = answered(remaining=3, reset=60, used=7)
    allowance.sent(0.0)
    allowance.sent(0.0)
    assert allowance.in_flight == 2
    assert allowance.available(0.0) == 1
    assert allowance.wait(0.0) == 0.0
    allowance.sent(0.0)
    assert allowance.available(10.0) == 0
    assert allowance.wait(10.0) == pytest.approx(50.0)  # until the latest end of the window
    # A request whose answer never comes (network error, re-sent elsewhere) may still have
    # reached the server: it frees no room.
    allowance.abandoned()
    assert allowance.in_flight == 2
    assert allowance.available(10.0) == 0
    assert allowance.wait(10.0) == pytest.approx(50.0)


def test_answered_requests_keep_counting_against_the_reference() -> None:
    allowance = answered(remaining=5, reset=60)
    for sent_at in (1.0, 2.0):
        answer(allowance, sent_at + 0.25, None, sent_at=sent_at)
    assert allowance.in_flight == 0
    assert allowance.available(3.0) == 5 - 2
    assert sendable(allowance, 3.0) == 3


def test_fractional_remaining_below_one_is_not_allowance() -> None:
    allowance = answered(remaining=0.5, reset=10)
    assert allowance.available(0.0) == 0.5
    assert allowance.wait(0.0) == pytest.approx(10.0)


def test_never_allowed_at_zero_remaining_until_the_reset() -> None:
    allowance = answered(remaining=0, reset=30, used=100)
    for now in (0.0, 1.0, 15.0, 29.0, 29.999):
        wait = allowance.wait(now)
        assert wait is not None and wait > 0
        assert wait == pytest.approx(30.0 - now)
    assert allowance.wait(30.0) == 0.0


def test_a_newer_answer_becomes_the_reference() -> None:
    allowance = answered(remaining=10, reset=60, used=0)
    seq = answer(allowance, 5.0, RateHeaders(used=3, remaining=7, reset=55))
    assert (allowance.ref_seq, allowance.ref_remaining) == (seq, 7)
    assert (allowance.end_low, allowance.end_high) == (59.0, 60.0)
    assert sendable(allowance, 5.0) == 7
    assert allowance.wait(5.0) == pytest.approx(55.0)


@pytest.mark.parametrize(
    "late",
    [
        RateHeaders(used=2, remaining=8, reset=60),  # more remained when it arrived
        RateHeaders(used=1, remaining=9, reset=1),  # as if from a window about to end
        RateHeaders(used=1, remaining=9, reset=120),  # as if from a fresh window
        None,  # no headers
    ],
)
def test_an_older_answer_arriving_late_does_not_raise_the_allowance(
    late: RateHeaders | None,
) -> None:
    allowance = Allowance(probe=3, default_rate=0)
    first = allowance.sent(0.0)
    second = allowance.sent(0.125)
    third = allowance.sent(0.25)
    allowance.finished(0.375, RateHeaders(used=1, remaining=9, reset=60), 0.0, first)
    assert allowance.available(0.375) == 7
    allowance.finished(0.5, RateHeaders(used=3, remaining=7, reset=60), 0.25, third)
    assert allowance.ref_seq == third
    # transit 0.375: the first two were sent within it before the third; the first one's
    # answer (Used 1 < 3) shows it came first; the second, unanswered, may have come after
    assert allowance.available(0.5) == 7 - 1
    allowance.finished(0.625, late, 0.125, second)  # the second one, answered last
    assert (allowance.ref_seq, allowance.ref_remaining) == (third, 7)
    assert (allowance.end_low, allowance.end_high) == (59.25, 60.5)
    assert allowance.transit == 0.5
    # its own Used (below the reference's 3) places it first; without headers it stays a suspect
    expected = 7 if late is not None else 6
    assert allowance.available(0.625) == expected
    assert sendable(allowance, 0.625) == expected
    assert allowance.wait(0.625) == pytest.approx(60.5 - 0.625)


@pytest.mark.parametrize(
    ("delay", "transit", "overtaking"),
    [
        (0.0, 0.0, 0),  # no transit time seen: nothing can have overtaken
        (0.125, 0.125, 0),  # only the reference itself in (10.125, 10.25]
        (0.1875, 0.1875, 1),  # (10.0625, 10.25]: the one sent at 10.125
        (0.375, 0.375, 2),  # (9.875, 10.25]: the ones sent at 10.0 and 10.125
        (5.0, 2.0, 2),  # transit is capped at 2 s; the probe at 0.0 is long out of reach
    ],
)
def test_requests_sent_within_the_transit_time_before_the_reference_count(
    delay: float, transit: float, overtaking: int
) -> None:
    allowance = answered(remaining=50, reset=60)
    allowance.sent(10.0)
    allowance.sent(10.125)
    ref = allowance.sent(10.25)
    allowance.sent(10.25 + delay / 2)  # sent after the reference
    allowance.finished(10.25 + delay, RateHeaders(used=4, remaining=46, reset=50), 10.25, ref)
    assert allowance.transit == transit
    # The two sent at 10.0 and 10.125 are still unanswered when the reference's answer comes:
    # they count whatever the transit time (laggards); the transit window only adds more.
    assert len(allowance.laggards) == 2
    counted = max(overtaking, 2)
    assert allowance.available(10.25 + delay) == 46 - 1 - counted
    assert sendable(allowance, 10.25 + delay) == 45 - counted


def test_a_slow_request_sent_before_the_reference_still_counts() -> None:
    """An unanswered request sent before the reference may arrive after it in the same window,
    even if it was sent longer than any transit time seen so far before the reference.

    ``transit`` (the longest send-to-answer time seen) is only 10 ms here, but the request
    sent at 0.98 is still unanswered when the reference's answer comes, so it counts: 8, the
    most the server's window can take. The fixed-window property test below covers the same
    case at random."""
    allowance = Allowance(default_rate=0)
    probe = allowance.sent(0.0)
    allowance.finished(0.01, RateHeaders(used=1, remaining=9, reset=1), 0.0, probe)
    allowance.sent(0.98)  # still in flight when the next answer comes
    ref = allowance.sent(1.0)
    allowance.finished(1.002, RateHeaders(used=1, remaining=9, reset=1), 1.0, ref)  # new window
    assert allowance.in_flight == 1
    assert sendable(allowance, 1.002) == 8


# -- window roll-over ------------------------------------------------------------------------------


def test_window_roll_over_restores_used_plus_remaining() -> None:
    allowance = answered(remaining=2, reset=60, used=598, now=100.0)
    assert (allowance.end_low, allowance.end_high) == (159.0, 160.0)
    assert sendable(allowance, 100.0) == 2
    assert allowance.wait(100.0) == pytest.approx(60.0)
    assert allowance.wait(159.0) == pytest.approx(1.0)  # past the earliest end: not yet sure
    # the two answers come back (without headers) before the window ends
    allowance.finished(100.5, None, 100.0, 2)
    allowance.finished(100.5, None, 100.0, 3)
    assert allowance.in_flight == 0
    assert allowance.wait(160.0) == 0.0
    assert allowance.available(160.0) == 600  # the whole window again: used + remaining
    assert sendable(allowance, 160.0) == 600
    assert allowance.wait(160.0) is None  # the new window's known room is spent: wait for an answer


def test_requests_sent_well_before_the_window_end_belong_to_the_old_window() -> None:
    # Answered before the roll-over and sent long before the window could end: the server
    # counted them in the old window. Still unanswered, they might land in the new one.
    allowance = answered(remaining=2, reset=60, used=8)
    seqs = [allowance.sent(0.0) for _ in range(2)]
    assert allowance.in_flight == 2 and allowance.available(0.0) == 0
    assert allowance.available(60.0) == 10 - 2
    for seq in seqs:
        allowance.finished(1.0, None, 0.0, seq)
    assert allowance.wait(60.0) == 0.0
    assert sendable(allowance, 60.0) == 10


def test_sends_after_the_earliest_window_end_count_in_the_new_window() -> None:
    # Reset is whole seconds: the window may end up to 1 s before sent + reset, and a request
    # sent one transit time before that may arrive in the new one.
    allowance = answered(remaining=5, reset=60, used=5)  # the window ends in [59, 60]
    allowance.sent(58.0)
    allowance.sent(58.875)
    answer(allowance, 59.75, None, sent_at=59.5)  # transit 0.25: counted from 58.75 on
    assert allowance.available(59.75) == 5 - 3
    assert allowance.wait(60.0) == 0.0
    # 58.875 and 59.5 were sent after 58.75; 58.0 is still unanswered, so it may land late too
    assert allowance.available(60.0) == 10 - 2 - 1
    assert sendable(allowance, 60.0) == 7


def test_a_new_window_of_unknown_room_gets_one_probe() -> None:
    allowance = answered(remaining=3, reset=10)  # budget 3; the window ends in [9, 10]
    sent = [allowance.sent(9.5) for _ in range(3)]  # may all fall into the next window
    assert allowance.wait(9.75) == pytest.approx(0.25)
    assert allowance.available(10.0) == 0
    assert allowance.wait(10.0) is None  # answers are on their way: wait for them
    for seq in sent:
        allowance.finished(9.75, None, 9.5, seq)  # no headers: nothing learnt
    assert allowance.available(10.0) == 0  # 3 sent after 9 - transit 0.25
    assert allowance.wait(10.0) == 0.0  # nothing in flight: one request finds out
    probe = allowance.sent(10.0)
    assert allowance.wait(10.0) is None
    allowance.finished(10.25, RateHeaders(used=1, remaining=2, reset=10), 10.0, probe)
    assert allowance.available(10.25) == 2
    assert sendable(allowance, 10.25) == 2


def test_answer_without_headers_keeps_the_known_allowance() -> None:
    allowance = answered(remaining=10, reset=60)
    answer(allowance, 2.0, None, sent_at=1.0)
    assert not allowance.headerless
    assert allowance.in_flight == 0
    assert (allowance.ref_seq, allowance.ref_remaining, allowance.end_high) == (1, 10, 60.0)
    assert allowance.transit == 1.0
    assert sendable(allowance, 2.0) == 10 - 1  # the headerless request was sent all the same
    assert allowance.wait(2.0) == pytest.approx(58.0)


def test_sequence_numbers_survive_trimming_the_send_log() -> None:
    allowance = answered(remaining=5000, reset=60)
    seqs = [allowance.sent(i / 1024) for i in range(1, 2001)]
    assert seqs == list(range(2, 2002))
    assert allowance.available(2.0) == 5000 - 2000
    ref = seqs[1599]  # sent at 1600 / 1024 = 1.5625
    allowance.finished(2.0, RateHeaders(used=1600, remaining=3400, reset=58), 1.5625, ref)
    assert allowance.transit == 0.4375
    # 400 sent after it; 447 sent in (1.125, 1.5625] (itself excluded: i in 1153..1599), but
    # the 1599 sent before it are unanswered when its answer comes: they count
    assert len(allowance.laggards) == 1599
    expected = 3400 - 400 - 1599
    assert allowance.available(2.0) == expected
    more = [allowance.sent(2.0) for _ in range(100)]
    assert more == list(range(2002, 2102))
    assert allowance.trimmed > 0
    assert len(allowance.sent_times) + allowance.trimmed == 2101
    assert allowance.available(2.0) == expected - 100


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
    seq = allowance.sent(0.0)
    allowance.finished(1.0, RateHeaders(used=1, remaining=50, reset=100), 0.0, seq)
    assert not allowance.headerless
    assert allowance.wait(1.0) == 0.0


# -- spread mode ----------------------------------------------------------------------------------


def test_spread_mode_spaces_the_remaining_allowance_until_the_reset() -> None:
    allowance = answered(remaining=10, reset=100, spread=True)
    assert allowance.wait(0.0) == 0.0
    allowance.sent(0.0)  # 9 left after this one, over 100 s
    assert allowance.wait(0.0) == pytest.approx(100.0 / 9)
    assert allowance.wait(100.0 / 9) == 0.0
    allowance.sent(100.0 / 9)  # 8 left over the remaining 800 / 9 s
    assert allowance.wait(100.0 / 9) == pytest.approx(100.0 / 9)


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
    seq = allowance.sent(10.0)
    delay = allowance.throttled(10.0, 30.0, RateHeaders(used=1, remaining=0, reset=200), 10.0, seq)
    assert delay == 30.0  # Retry-After wins over the reset header
    assert allowance.in_flight == 0
    assert allowance.strikes == 1
    # the newest request: the reference now, its window full until the cool-down ends
    assert (allowance.ref_seq, allowance.ref_remaining) == (seq, 0.0)
    assert (allowance.end_low, allowance.end_high) == (10.0, 40.0)
    assert allowance.wait(10.0) == pytest.approx(30.0)
    assert allowance.wait(39.9) == pytest.approx(0.1)
    assert allowance.wait(40.0) == 0.0
    # the whole budget (its 429 does not shrink it) less nothing sent after the 429'd request
    assert sendable(allowance, 40.0) == 50
    assert allowance.wait(40.0) is None


def test_429_with_reset_header_and_no_retry_after() -> None:
    allowance = answered(remaining=50, reset=300)
    seq = allowance.sent(10.0)
    delay = allowance.throttled(10.0, None, RateHeaders(600, 0, 25), 10.0, seq)
    assert delay == 25.0
    assert allowance.wait(10.0) == pytest.approx(25.0)
    assert allowance.end_high == 35.0


def test_429_with_only_the_known_reset() -> None:
    allowance = answered(remaining=5, reset=50, used=5)
    seq = allowance.sent(10.0)
    assert allowance.throttled(10.0, None, None, 10.0, seq) == pytest.approx(40.0)
    assert allowance.cooldown_until == pytest.approx(50.0)
    assert (allowance.end_low, allowance.end_high) == (10.0, 50.0)
    assert allowance.wait(49.0) == pytest.approx(1.0)
    assert allowance.wait(50.0) == 0.0
    assert sendable(allowance, 50.0) == 10  # used + remaining


def test_429_past_the_known_window_end_backs_off() -> None:
    allowance = answered(remaining=5, reset=50, used=5, rng=EdgeRng(True))
    seq = allowance.sent(60.0)
    assert allowance.throttled(60.0, None, None, 60.0, seq) == pytest.approx(2.0)
    assert (allowance.end_low, allowance.end_high) == (60.0, 62.0)
    assert sendable(allowance, 62.0) == 10


def test_429_of_an_older_request_cools_down_but_keeps_the_reference() -> None:
    allowance = answered(remaining=10, reset=60)
    older = allowance.sent(1.0)
    newer = allowance.sent(2.0)
    allowance.finished(2.5, RateHeaders(used=3, remaining=7, reset=57), 2.0, newer)
    assert allowance.available(2.5) == 7 - 1  # the older one, unanswered, may land after it
    assert allowance.throttled(3.0, 5.0, None, 1.0, older) == 5.0
    assert (allowance.ref_seq, allowance.ref_remaining, allowance.end_high) == (newer, 7, 59.5)
    assert allowance.wait(3.0) == pytest.approx(5.0)
    assert allowance.wait(8.0) == 0.0
    assert sendable(allowance, 8.0) == 7  # its 429 shows it was not counted
    assert allowance.wait(8.0) == pytest.approx(51.5)


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
    seq = allowance.sent(0.0)
    allowance.throttled(0.0, 5.0, None, 0.0, seq)
    assert allowance.answered
    assert allowance.wait(1.0) == pytest.approx(4.0)
    assert allowance.available(5.0) is None  # no budget known yet: paced at the default rate
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


# -- against a server with fixed windows ----------------------------------------------------------


@dataclass
class FixedWindows:
    """The server's side: windows of ``length`` seconds from time 0, ``budget`` requests each,
    counted when a request arrives; its headers are as of that moment."""

    budget: int
    length: float = 1.0
    counts: dict[int, int] = field(default_factory=dict)
    over: list[tuple[int, int, float]] = field(default_factory=list)  # window, seq, arrival

    def arrive(self, at: float, seq: int) -> tuple[int, RateHeaders]:
        window = math.floor(at / self.length)
        used = self.counts.get(window, 0) + 1
        self.counts[window] = used
        reset = math.ceil((window + 1) * self.length - at)
        if used > self.budget:
            self.over.append((window, seq, at))
            return 429, RateHeaders(used, 0, reset)
        return 200, RateHeaders(used, self.budget - used, reset)


def crawl(
    seed: int,
    work: list[tuple[float, int]],
    until: float,
    budget: int = 20,
    max_delay: float = 0.05,
    send_gap: float = 1e-4,
    log: list[tuple[object, ...]] | None = None,
) -> FixedWindows:
    """Drive one allowance against :class:`FixedWindows` on a fake clock, sending whenever it
    may while there is work (``work``: when, how many requests). Each request takes a random
    0..``max_delay`` s from send to answer and arrives somewhere in between, so arrivals and
    answers come in any order; sends follow each other by 0..``send_gap`` s."""
    rng = random.Random(seed)
    allowance = Allowance(default_rate=0, rng=random.Random(seed))
    server = FixedWindows(budget)
    order = itertools.count()
    events: list[tuple[float, int, str, Any]] = [
        (at, next(order), "work", count) for at, count in work
    ]
    heapq.heapify(events)
    pending, now = 0, 0.0
    while True:
        while events and events[0][0] <= now:
            at, _, kind, data = heapq.heappop(events)
            if kind == "work":
                pending += data
            elif kind == "arrive":
                sent_at, seq, back = data
                status, headers = server.arrive(at, seq)
                reply = (sent_at, seq, status, headers)
                heapq.heappush(events, (back, next(order), "answer", reply))
            else:
                sent_at, seq, status, headers = data
                if status == 429:
                    allowance.throttled(at, None, headers, sent_at, seq)
                else:
                    allowance.finished(at, headers, sent_at, seq)
            if log is not None:
                log.append((kind, at, data))
        while pending and allowance.wait(now) == 0.0:
            seq = allowance.sent(now)
            pending -= 1
            trip = rng.uniform(0.0, max_delay)
            arrival = now + trip * rng.random()
            heapq.heappush(events, (arrival, next(order), "arrive", (now, seq, now + trip)))
            if log is not None:
                log.append(("send", now, seq))
            now += rng.uniform(0.0, send_gap)
        moments = [events[0][0]] if events else []
        wait = allowance.wait(now) if pending else None
        if wait:
            moments.append(now + wait)
        if not moments or min(moments) > until:
            return server
        now = max(now, min(moments))


def test_a_burst_before_the_window_end_never_overfills_the_next_window() -> None:
    """The case that broke the previous model: 5 requests sent just before a 1 s window ends
    (some arrive in the next one), 20 more wanted in the next window, answers in any order;
    then steady work. No server window may take more than its budget of 20, and with work
    at hand the crawler still uses most of each window."""
    budget, windows = 20, range(2, 12)
    over: list[tuple[int, list[tuple[int, int, float]]]] = []
    usage: list[float] = []
    for seed in range(200):
        rng = random.Random(-seed - 1)
        work = [
            (rng.uniform(0.1, 0.8), rng.randint(1, 3)),  # the first answer tells the allowance
            (1.0 - rng.uniform(0.0, 0.05), 5),  # the burst just before the window ends
            (rng.uniform(1.0, 1.5), 20),  # 20 more in the next window
            (2.0, 100_000),  # then always work at hand
        ]
        server = crawl(seed, work, until=windows.stop, budget=budget)
        if server.over:
            over.append((seed, server.over))
        usage.append(sum(server.counts.get(w, 0) for w in windows) / (budget * len(windows)))
    assert not over, f"over budget (seed, [(window, seq, arrival)]): {over[:5]}"
    assert min(usage) >= 0.8, f"windows used {min(usage):.0%} at worst"
