"""Unit tests of :mod:`reddit_crawler.access.pool`, :mod:`~reddit_crawler.access.proxyring` and
:mod:`~reddit_crawler.access.context`: choosing identities and proxies, waiting for allowance.

Clocks are injected; the asynchronous tests run as asyncio tasks under the Twisted asyncio
reactor that pytest-twisted runs (``--reactor=asyncio``).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from scrapy.utils.test import get_crawler

from reddit_crawler.access.allowance import Allowance
from reddit_crawler.access.context import access_context, build_context
from reddit_crawler.access.pool import Identity, IdentityPool
from reddit_crawler.access.proxylist import ProxyEntry
from reddit_crawler.access.proxyring import ProxyRing, ProxyState
from tests.support import Clock, asyncio_test

#: Every test runs without the crawler's own environment variables (tests/support.py).
pytestmark = pytest.mark.usefixtures("clean_env")


def free() -> Allowance:
    """An allowance that never limits (large probe, no pacing)."""
    return Allowance(default_rate=0, probe=1000)


def pool_of(*keys: str, clock: Clock | None = None) -> IdentityPool:
    return IdentityPool([Identity(key, free()) for key in keys], clock=clock or Clock())


def proxy(host: str, port: int = 8080) -> ProxyState:
    return ProxyState(ProxyEntry(host, port))


# -- choose: round-robin and skipping -------------------------------------------------------------


def test_choose_is_round_robin_over_identities() -> None:
    pool = pool_of("a", "b", "c")
    order = [pool.choose(0.0)[0].key for _ in range(7)]  # type: ignore[union-attr]
    assert order == ["a", "b", "c", "a", "b", "c", "a"]


def test_choose_skips_identities_without_allowance() -> None:
    pool = pool_of("a", "b", "c")
    pool.by_key["b"].allowance.cooldown_until = 50.0
    order = [pool.choose(0.0)[0].key for _ in range(4)]  # type: ignore[union-attr]
    assert order == ["a", "c", "a", "c"]
    assert pool.choose(50.0)[0].key == "a"  # type: ignore[union-attr]
    assert pool.choose(50.0)[0].key == "b"  # type: ignore[union-attr]


def test_choose_skips_dead_proxies() -> None:
    states = [proxy("p1"), proxy("p2"), proxy("p3")]
    pool = IdentityPool([Identity(f"proxy:{s.entry.key}", free(), s) for s in states])
    states[0].dead_until = 30.0
    order = [pool.choose(10.0)[0].key for _ in range(4)]  # type: ignore[union-attr]
    assert order == ["proxy:p2:8080", "proxy:p3:8080"] * 2


def test_choose_reports_the_shortest_known_wait() -> None:
    states = [proxy("p1"), proxy("p2")]
    pool = IdentityPool([Identity(f"proxy:{s.entry.key}", free(), s) for s in states])
    states[0].dead_until = 30.0
    pool.identities[1].allowance.cooldown_until = 12.0
    assert pool.choose(10.0) == (None, pytest.approx(2.0))


def test_choose_reports_an_unknown_wait_when_only_answers_can_help() -> None:
    pool = IdentityPool([Identity("a", Allowance(probe=1)), Identity("b", Allowance(probe=1))])
    for identity in pool.identities:
        identity.allowance.sent(0.0)
    assert pool.choose(0.0) == (None, None)


# -- acquire, tickets, settle ---------------------------------------------------------------------


@asyncio_test
async def test_acquire_is_round_robin_and_hands_out_unique_tickets() -> None:
    pool = pool_of("a", "b", "c")
    got = [await pool.acquire() for _ in range(6)]
    assert [identity.key for identity, _, _ in got] == ["a", "b", "c"] * 2
    tickets = [ticket for _, ticket, _ in got]
    assert len(set(tickets)) == 6
    assert all(waited == 0.0 for _, _, waited in got)
    for identity, ticket, _ in got:
        assert ticket in identity.tickets
    assert pool.by_key["a"].allowance.in_flight == 2


@asyncio_test
async def test_acquire_skips_identities_without_allowance() -> None:
    pool = pool_of("a", "b", "c")
    pool.by_key["a"].allowance.cooldown_until = 100.0
    keys = [(await pool.acquire())[0].key for _ in range(4)]
    assert keys == ["b", "c", "b", "c"]


@asyncio_test
async def test_acquire_waits_for_a_cool_down_and_wakes_on_notify() -> None:
    clock = Clock(0.0)
    pool = pool_of("a", clock=clock)
    pool.by_key["a"].allowance.cooldown_until = 100.0  # far longer than the test may take
    task = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.02)
    assert not task.done()
    started = time.monotonic()
    clock.now = 100.0
    pool.notify()
    identity, _, waited = await asyncio.wait_for(task, timeout=2.0)
    assert identity.key == "a"
    assert waited == pytest.approx(100.0)  # measured on the injected clock
    assert time.monotonic() - started < 0.5


@asyncio_test
async def test_acquire_waits_for_an_answer_and_wakes_on_notify() -> None:
    pool = IdentityPool([Identity("a", Allowance(probe=1, default_rate=0))])
    identity, ticket, _ = await pool.acquire()
    task = asyncio.ensure_future(pool.acquire())
    await asyncio.sleep(0.02)
    assert not task.done()  # the probe is in flight: wait for its answer
    started = time.monotonic()
    settled = pool.settle("a", ticket)
    assert settled is not None
    _, sent_at, seq = settled
    identity.allowance.finished(pool.clock(), None, sent_at, seq)
    pool.notify()
    second, _, _ = await asyncio.wait_for(task, timeout=2.0)
    assert second is identity
    assert time.monotonic() - started < 0.5  # woken, not the 1 s idle poll


@asyncio_test
async def test_notify_wakes_every_waiter() -> None:
    clock = Clock(0.0)
    pool = pool_of("a", "b", clock=clock)
    for identity in pool.identities:
        identity.allowance.cooldown_until = 10.0
    tasks = [asyncio.ensure_future(pool.acquire()) for _ in range(4)]
    await asyncio.sleep(0.02)
    assert not any(task.done() for task in tasks)
    clock.now = 10.0
    pool.notify()
    got = await asyncio.wait_for(asyncio.gather(*tasks), timeout=2.0)
    assert sorted(identity.key for identity, _, _ in got) == ["a", "a", "b", "b"]


def test_notify_without_waiters_is_harmless() -> None:
    pool = pool_of("a")
    pool.notify()
    pool.notify()


@asyncio_test
async def test_settle_closes_a_ticket_once() -> None:
    pool = pool_of("a", "b")
    identity, ticket, _ = await pool.acquire()
    assert pool.settle("a", ticket) is not None
    assert ticket not in identity.tickets
    assert pool.settle("a", ticket) is None
    assert pool.settle("unknown", ticket) is None
    _, other, _ = await pool.acquire()  # b's ticket
    assert pool.settle("a", other) is None  # a ticket is settled only with its own identity
    assert pool.settle("b", other) is not None


@asyncio_test
async def test_tickets_remember_the_send_time_and_the_order_of_sending() -> None:
    clock = Clock(0.0)
    pool = pool_of("a", "b", clock=clock)
    got = []
    for now in (0.0, 0.25, 0.5, 0.75):
        clock.now = now
        got.append(await pool.acquire())
    a, b = pool.by_key["a"], pool.by_key["b"]
    # round-robin: a sends at 0.0 and 0.5, b at 0.25 and 0.75; each counts its own sends
    assert a.tickets == {got[0][1]: (0.0, 1), got[2][1]: (0.5, 2)}
    assert b.tickets == {got[1][1]: (0.25, 1), got[3][1]: (0.75, 2)}
    assert pool.settle("a", got[2][1]) == (a, 0.5, 2)
    assert a.allowance.sent_times == [0.0, 0.5]


# -- proxy ring -----------------------------------------------------------------------------------


def ring_of(*hosts: str, base: float = 5.0, cap: float = 300.0) -> ProxyRing:
    return ProxyRing([ProxyEntry(host, 8080) for host in hosts], base=base, cap=cap)


def test_ring_round_robin_and_skips_dead_proxies() -> None:
    ring = ring_of("a", "b", "c")
    assert [ring.next_healthy(0.0).entry.host for _ in range(4)] == ["a", "b", "c", "a"]  # type: ignore[union-attr]
    ring.failed(ring.states[2], 0.0)
    assert [ring.next_healthy(1.0).entry.host for _ in range(4)] == ["b", "a", "b", "a"]  # type: ignore[union-attr]


def test_ring_returns_none_when_every_proxy_is_dead() -> None:
    ring = ring_of("a", "b")
    for state in ring.states:
        ring.failed(state, 0.0)
    ring.states[1].dead_until = 3.0
    assert ring.next_healthy(1.0) is None
    assert ring.soonest_revival(1.0) == pytest.approx(2.0)
    assert ring.next_healthy(3.0).entry.host == "b"  # type: ignore[union-attr]


def test_empty_ring() -> None:
    ring = ring_of()
    assert len(ring) == 0
    assert ring.next_healthy(0.0) is None
    assert ring.rotation() == []
    assert not ring.all_blocked()


def test_ring_backoff_doubles_and_caps() -> None:
    ring = ring_of("a", base=5.0, cap=30.0)
    state = ring.states[0]
    delays = [ring.failed(state, 100.0) for _ in range(6)]
    assert delays == [5.0, 10.0, 20.0, 30.0, 30.0, 30.0]
    assert state.dead_until == pytest.approx(130.0)
    assert not state.healthy(129.9)
    assert state.healthy(130.0)


def test_ring_success_revives_and_resets_the_backoff() -> None:
    ring = ring_of("a", "b")
    state = ring.states[0]
    ring.failed(state, 0.0)
    ring.failed(state, 0.0)
    state.blocked = True
    ring.succeeded(state)
    assert state.healthy(0.0)
    assert state.failures == 0
    assert not state.blocked
    assert ring.failed(state, 0.0) == 5.0


def test_all_blocked() -> None:
    ring = ring_of("a", "b")
    assert not ring.all_blocked()
    ring.states[0].blocked = True
    assert not ring.all_blocked()
    ring.states[1].blocked = True
    assert ring.all_blocked()
    ring.succeeded(ring.states[0])
    assert not ring.all_blocked()


# -- context: identities per mode -----------------------------------------------------------------


def test_context_oauth_mode_has_one_client_identity_and_round_robin_proxies() -> None:
    crawler = get_crawler(
        settings_dict={
            "REDDIT_CLIENT_ID": "cid",
            "REDDIT_CLIENT_SECRET": "csecret",
            "PROXY_LIST": "a:1,b:2",
        }
    )
    context = build_context(crawler)
    assert context.access.mode == "oauth"
    assert [identity.key for identity in context.pool.identities] == ["client:cid"]
    assert context.pool.identities[0].proxy is None
    assert [s.entry.key for s in context.ring.states] == ["a:1", "b:2"]
    assert context.proxy_of("client:cid") is None


def test_context_public_mode_has_one_identity_per_proxy() -> None:
    crawler = get_crawler(settings_dict={"PROXY_LIST": "u:p@a:1\nb:2"})
    context = build_context(crawler)
    assert context.access.mode == "public"
    assert [i.key for i in context.pool.identities] == ["proxy:a:1", "proxy:b:2"]
    assert context.proxy_of("proxy:b:2") is context.ring.states[1]
    assert context.proxy_of("nope") is None


def test_context_public_mode_without_proxies_goes_direct() -> None:
    context = build_context(get_crawler(settings_dict={}))
    assert [i.key for i in context.pool.identities] == ["direct"]
    assert len(context.ring) == 0


def test_context_reads_the_pacing_and_backoff_settings() -> None:
    crawler = get_crawler(
        settings_dict={
            "PROXY_LIST": "a:1",
            "REDDIT_DEFAULT_RATE": "30",
            "REDDIT_PROBE_REQUESTS": "0",
            "REDDIT_RATE_SPREAD": "true",
            "PROXY_BACKOFF_BASE": "2",
            "PROXY_BACKOFF_MAX": "7",
        }
    )
    context = build_context(crawler)
    allowance = context.pool.identities[0].allowance
    assert allowance.default_rate == 30.0
    assert allowance.probe == 1  # at least one request finds out the allowance
    assert allowance.spread is True
    assert [context.ring.failed(context.ring.states[0], 0.0) for _ in range(3)] == [2.0, 4.0, 7.0]


def test_access_context_is_built_once_per_crawler() -> None:
    crawler = get_crawler(settings_dict={})
    assert access_context(crawler) is access_context(crawler)
    assert access_context(get_crawler(settings_dict={})) is not access_context(crawler)
