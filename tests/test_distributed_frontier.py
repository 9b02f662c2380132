"""The Redis frontier against the real Redis: plan, leases, results once, the level barrier."""

from __future__ import annotations

import time

import pytest
import redis

from reddit_crawler.distributed.frontier import CrawlExists, Frontier
from reddit_crawler.distributed.keys import CrawlKeys, parse_unit, unit_text
from reddit_crawler.distributed.ledger import Ledger
from reddit_crawler.plan import CrawlPlan
from tests.distributed import new_crawl_name

PLAN = CrawlPlan(seeds=["python", "rust"], users_per_sub=2, depth=1, max_subs=3)


def test_publish_stores_plan_and_queues_seeds(frontier: Frontier) -> None:
    frontier.publish(PLAN, skip_subs={"spam": "review"}, fresh_users={"old": ["golang"]})
    assert frontier.plan() == PLAN
    units, requeued = frontier.take(10, 60_000)
    assert units == ["sub:0:python", "sub:0:rust"] and requeued == 0
    assert frontier.taken_subs() == {"python", "rust"}
    assert frontier.skip_subs() == {"spam": "review"}
    with pytest.raises(CrawlExists, match="already in Redis"):
        frontier.publish(PLAN)


def test_keys_of_two_crawls_never_overlap(redis_conn: redis.Redis) -> None:
    a, b = Frontier(redis_conn, new_crawl_name()), Frontier(redis_conn, new_crawl_name())
    try:
        a.publish(PLAN)
        b.publish(CrawlPlan(seeds=["golang"]))
        assert a.take(10, 60_000)[0] == ["sub:0:python", "sub:0:rust"]
        assert b.take(10, 60_000)[0] == ["sub:0:golang"]
        assert a.clear() > 0
        assert b.plan() == CrawlPlan(seeds=["golang"])
    finally:
        a.clear()
        b.clear()


def test_expired_lease_returns_to_the_queue_head(frontier: Frontier) -> None:
    frontier.publish(PLAN)
    first, _ = frontier.take(1, 50)
    time.sleep(0.1)
    again, requeued = frontier.take(1, 60_000)
    assert requeued == 1 and again == first


def test_renewed_lease_does_not_expire(frontier: Frontier) -> None:
    frontier.publish(PLAN)
    held, _ = frontier.take(1, 300)
    for _ in range(4):
        time.sleep(0.1)
        frontier.renew(held, 300)
    assert frontier.take(5, 60_000) == (["sub:0:rust"], 0)


def test_release_and_ack(frontier: Frontier) -> None:
    frontier.publish(PLAN)
    held, _ = frontier.take(2, 60_000)
    frontier.ack(held[0])
    assert frontier.release(held) == 1  # the acknowledged one is gone for good
    assert frontier.take(5, 60_000)[0] == [held[1]]


def test_level_barrier_and_results_applied_once(frontier: Frontier) -> None:
    frontier.publish(PLAN, fresh_users={"carol": ["golang"]})
    frontier.take(2, 60_000)
    assert frontier.sub_done(0, "python", "Python", ["alice", "bob"]) == (True, [])
    assert frontier.sub_done(0, "python", "Python", ["alice", "bob"]) == (False, [])  # a redo
    # bob is taken already; carol was fetched recently (her stored subreddits stand in).
    assert frontier.sub_done(0, "rust", "rust", ["bob", "carol"]) == (True, ["carol"])
    units, _ = frontier.take(5, 60_000)
    assert units == ["user:0:alice", "user:0:bob"]
    assert frontier.user_done(0, "alice", ["rust", "golang"])
    assert not frontier.user_done(0, "alice", ["rust", "golang"])
    assert frontier.take(5, 60_000)[0] == []  # the level waits for bob
    assert frontier.user_done(0, "bob", ["haskell"])
    assert frontier.take(5, 60_000)[0] == ["level:0:"]
    inputs = frontier.level_inputs(0)
    assert inputs.names == ["python", "rust"]
    assert inputs.sources == {"python": "Python", "rust": "rust"}
    assert inputs.user_subs == {
        "alice": ["rust", "golang"],
        "bob": ["haskell"],
        "carol": ["golang"],
    }


def test_close_level_applies_once_and_finishes(frontier: Frontier) -> None:
    frontier.publish(PLAN)
    assert frontier.close_level(0, ["golang"], False, 3)
    assert not frontier.close_level(0, ["haskell"], False, 3)  # a redo changes nothing
    assert frontier.take(10, 60_000)[0] == ["sub:0:python", "sub:0:rust", "sub:1:golang"]
    assert frontier.taken_subs() == {"python", "rust", "golang"}
    assert not frontier.is_done()
    assert frontier.close_level(1, [], True, 0)
    for unit in ["sub:0:python", "sub:0:rust", "sub:1:golang"]:
        frontier.ack(unit)
    assert frontier.is_done()
    status = frontier.status()
    assert status["finished"] and status["discoveries"] == 3 and status["level"] == 1


def test_unit_text_round_trips() -> None:
    for kind, level, name in [("sub", 0, "python"), ("user", 3, "a-b_c"), ("level", 2, "")]:
        assert parse_unit(unit_text(kind, level, name)) == (kind, level, name)
    for bad in ["sub:x:python", "level:1:python", "user:1:", "post:1:x", "nonsense"]:
        with pytest.raises(ValueError):
            parse_unit(bad)


def test_keys_share_one_cluster_slot() -> None:
    keys = CrawlKeys("weekly")
    assert keys.queue == "reddit_crawler:{weekly}:queue"
    assert keys.pending(2) == "reddit_crawler:{weekly}:pending:2"
    assert CrawlKeys("a*b").pattern == "reddit_crawler:{a\\*b}:*"


def test_ledger_acknowledges_a_unit_when_all_its_items_are_stored() -> None:
    ledger = Ledger()
    items = [object(), object()]
    ledger.hold("sub:0:python", "unit")
    ledger.hold("level:0:", None)
    assert ledger.track("level:0:", []) is True  # nothing to store: complete at once
    assert ledger.track("sub:0:python", items) is False
    assert ledger.stored([items[0], object()]) == []
    assert len(ledger) == 1
    assert ledger.stored([items[1]]) == ["sub:0:python"]
    assert len(ledger) == 0


def test_ledger_drops_units_whose_items_were_lost() -> None:
    ledger = Ledger()
    a, b, c = object(), object(), object()
    ledger.hold("sub:0:python", "unit")
    ledger.hold("user:0:alice", "unit")
    ledger.track("sub:0:python", [a, b])
    ledger.track("user:0:alice", [c])
    assert ledger.lost([a]) == ["sub:0:python"]
    assert ledger.stored([b]) == []  # its unit is gone: nothing to acknowledge
    assert len(ledger) == 1 and ledger.stored([c]) == ["user:0:alice"]
