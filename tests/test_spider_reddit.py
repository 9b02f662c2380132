"""End-to-end crawls: a real ``scrapy crawl reddit`` process against the stand-in."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.crawl import CrawlResult, run_crawl

SEEDS = ["python", "learnpython", "datascience"]


def crawl(tenant: Tenant, tmp_path: Path, subs: list[str], **args: Any) -> CrawlResult:
    result = run_crawl(tenant.base_url, tmp_path, {"subs": ",".join(subs), **args})
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def observed(result: CrawlResult) -> dict[str, Any]:
    """The crawl's output in the shape of the stand-in's truth."""
    return {
        "subreddits": {s["name"].lower(): s["status"] for s in result.by_kind("subreddit")},
        "posts": sorted({p["id"] for p in result.by_kind("post")}),
        "users": {u["name"]: u["status"] for u in result.by_kind("user")},
        "edges": sorted(
            [e["user"], e["subreddit"], e["post_count"]] for e in result.by_kind("activity")
        ),
        "discovered": sorted(
            [d["subreddit"], d["from_subreddit"], d["via_user"]]
            for d in result.by_kind("discovery")
        ),
    }


def assert_matches_truth(result: CrawlResult, truth: dict[str, Any]) -> None:
    got = observed(result)
    for key in ("subreddits", "posts", "users", "edges", "discovered"):
        assert got[key] == truth[key], key


def request_kinds(requests: list[dict[str, Any]]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for req in requests:
        path = req["path"]
        if path.startswith("/user/"):
            kinds["user_about" if path.endswith("/about.json") else "user_submitted"] += 1
        elif path.endswith("/about/rules.json"):
            kinds["sub_rules"] += 1
        elif path.endswith("/about.json"):
            kinds["sub_about"] += 1
        elif path.endswith("/hot.json"):
            kinds["sub_hot"] += 1
        else:
            kinds["sub_top"] += 1
    return kinds


def test_depth0_matches_truth_and_request_counts(tenant: Tenant, tmp_path: Path) -> None:
    result = crawl(tenant, tmp_path, SEEDS, users_per_sub=10)
    truth = tenant.truth(SEEDS, users_per_sub=10)
    assert_matches_truth(result, truth)
    requests = tenant.requests()
    users = truth["users"]
    assert len(requests) == 5 * len(truth["subreddits"]) + 2 * len(users)
    assert len({(r["path"], tuple(sorted(r["query"].items()))) for r in requests}) == len(requests)
    kinds = request_kinds(requests)
    assert kinds["sub_about"] == kinds["sub_rules"] == kinds["sub_hot"] == len(SEEDS)
    assert kinds["sub_top"] == 2 * len(SEEDS)
    assert kinds["user_about"] == kinds["user_submitted"] == len(users)
    assert all(r["query"].get("raw_json") == "1" for r in requests)


def test_depth1_with_max_subs_matches_truth(tenant: Tenant, tmp_path: Path) -> None:
    params = {"users_per_sub": 4, "depth": 1, "max_subs": 9}
    result = crawl(tenant, tmp_path, SEEDS, **params)
    truth = tenant.truth(SEEDS, **params)
    assert len(truth["subreddits"]) == 9
    assert_matches_truth(result, truth)
    depths = Counter(s["depth"] for s in result.by_kind("subreddit"))
    assert depths == {0: 3, 1: 6}
    assert len(tenant.requests()) == truth["requests"]["total"]


def test_depth2_default_users_matches_truth(tenant: Tenant, tmp_path: Path) -> None:
    params = {"users_per_sub": 3, "depth": 2, "max_subs": 30}
    result = crawl(tenant, tmp_path, ["python"], **params)
    assert_matches_truth(result, tenant.truth(["python"], **params))


SUB_STATES = {
    "secretclub": "private",
    "quarantinedsub": "quarantined",
    "gatedsub": "gated",
    "bannedsub": "banned",
    "doesnotexist": "nonexistent",
}


@pytest.mark.parametrize(("name", "status"), sorted(SUB_STATES.items()))
def test_subreddit_state_is_data(tenant: Tenant, tmp_path: Path, name: str, status: str) -> None:
    result = crawl(tenant, tmp_path, [name, "python"], users_per_sub=2)
    statuses = {s["name"].lower(): s["status"] for s in result.by_kind("subreddit")}
    assert statuses == {name: status, "python": "ok"}
    assert result.stats[f"reddit/subreddit/{status}"] == 1
    # A state is not retried: each of its five requests went out exactly once, no redirect
    # was followed, and the crawl went on with the other subreddit.
    mine = [r for r in tenant.requests() if r["path"].lower().startswith(f"/r/{name}/")]
    assert len(mine) == 5
    assert not [r for r in tenant.requests() if r["path"].startswith("/subreddits/search")]
    assert result.stats.get("retry/count", 0) == 0
    lines = [line for line in result.stderr.splitlines() if f"subreddit {name}: {status}" in line]
    assert lines and all(" INFO: " in line for line in lines)
    assert " ERROR: " not in result.stderr and "Traceback" not in result.stderr
    assert not [p for p in result.by_kind("post") if p["subreddit"].lower() == name]


USER_STATES = {
    "suspended_user": "suspended",
    "deleted_user": "not_found",
    "hidden_posts_user": "private_posts",
}


@pytest.mark.parametrize(("name", "status"), sorted(USER_STATES.items()))
def test_user_state_is_data(tenant: Tenant, tmp_path: Path, name: str, status: str) -> None:
    result = crawl(tenant, tmp_path, ["python"], users_per_sub=25)
    users = {u["name"].lower(): u for u in result.by_kind("user")}
    assert users[name]["status"] == status
    assert result.stats[f"reddit/user/{status}"] >= 1
    assert not [p for p in result.by_kind("post") if p["author"] == name and "submitted" in str(p)]
    truth = tenant.truth(["python"], users_per_sub=25)
    assert {k.lower(): v for k, v in truth["users"].items()} == {
        k: u["status"] for k, u in users.items()
    }
    assert " ERROR: " not in result.stderr and "Traceback" not in result.stderr


def test_paging_top_year_250(tenant: Tenant, tmp_path: Path) -> None:
    result = crawl(tenant, tmp_path, ["python"], top_year=250, users_per_sub=0)
    top = [
        r
        for r in tenant.requests()
        if r["path"] == "/r/python/top.json" and r["query"]["t"] == "year"
    ]
    assert [r["query"]["limit"] for r in top] == ["100", "100", "50"]
    assert "after" not in top[0]["query"] and all(r["query"].get("after") for r in top[1:])
    ranks = [
        lr["rank"]
        for p in result.by_kind("post")
        for lr in p["listings"]
        if lr["listing"] == "top_year"
    ]
    assert sorted(ranks) == list(range(1, 251))
    (sub,) = result.by_kind("subreddit")
    assert sub["stats"]["top_year_count"] == 250


def test_five_requests_issued_together(tenant: Tenant, tmp_path: Path) -> None:
    tenant.configure(latency_ms=400)
    crawl(tenant, tmp_path, ["python"], users_per_sub=0)
    times = sorted(r["time"] for r in tenant.requests())
    assert len(times) == 5
    # All five arrived before the first could have been answered.
    assert times[-1] - times[0] < 0.4


def test_feed_has_every_item_and_fidelity(tenant: Tenant, tmp_path: Path) -> None:
    result = crawl(tenant, tmp_path, SEEDS, users_per_sub=5)
    assert result.lines == result.stats["item_scraped_count"]
    kinds = Counter({k: len(v) for k, v in result.items.items()})
    for kind in ("subreddit", "post", "user", "activity", "discovery"):
        assert kinds[kind] == result.stats[f"reddit/items/{kind}"] > 0
    posts = result.by_kind("post")
    assert all("\x00" not in p["title"] and "\x00" not in p["selftext"] for p in posts)
    assert max(len(p["selftext"]) for p in posts) >= 39_000
    assert any(p["edited"] is True and p["edited_utc"] is None for p in posts)
    assert any(p["edited"] is True and p["edited_utc"] for p in posts)
    assert any(p["edited"] is False for p in posts)
    assert all(p["created_utc"].endswith("+00:00") for p in posts if p["created_utc"])
    subs = {s["name"] for s in result.by_kind("subreddit")}
    assert subs == {name for name in subs}  # canonical display names
    assert all(s["rules"] for s in result.by_kind("subreddit"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"subs": "python,not a sub"}, "invalid subreddit name: 'not a sub'"),
        ({"subs": "python", "depth": "-1"}, "depth must be between 0 and 10"),
        ({"subs": "python", "top_year": "many"}, "top_year must be a whole number"),
        ({}, "no subreddits to crawl"),
    ],
)
def test_bad_arguments_exit_before_any_request(
    tenant: Tenant, tmp_path: Path, args: dict[str, str], message: str
) -> None:
    result = run_crawl(tenant.base_url, tmp_path, args)
    assert result.returncode == 2
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error_lines == [f"error: {message}"] or message in error_lines[0]
    assert tenant.requests() == []
