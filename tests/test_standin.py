"""Tests of the offline Reddit stand-in (``standin/``): shapes, paging, states, tenants, truth.

The server runs as a subprocess (``standin.client.start_standin``) shared by this module; tests
use their own tenant names so they are isolated from each other. Only loopback is used.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from standin import client, shapes
from standin.truth import expected_crawl, pages_needed
from standin.world import (
    DELETED,
    GHOST_SUB,
    LONG_SELFTEXT_LEN,
    NONEXISTENT_SUB,
    REMOVED,
    SPECIAL_SUBS,
    SPECIAL_USERS,
    WELL_KNOWN_SUBS,
    World,
    WorldParams,
    generate_world,
    get_world,
)

SAMPLES = Path("/work/shared/reference/reddit-samples")
WELL_KNOWN = ["python", "learnpython", "datascience"]
DELETED_ABSENT = (
    "author_fullname",
    "author_premium",
    "author_flair_type",
    "author_flair_richtext",
    "author_patreon_flair",
)
# fmt: off
T5_KEYS = {
    "display_name", "display_name_prefixed", "name", "id", "title", "public_description",
    "description", "subscribers", "active_user_count", "accounts_active", "created", "created_utc",
    "over18", "subreddit_type", "lang", "url", "quarantine", "icon_img", "community_icon",
    "submission_type", "description_html", "public_description_html",
}
T3_KEYS = {
    "id", "name", "subreddit", "subreddit_id", "subreddit_name_prefixed", "subreddit_type",
    "author", "author_fullname", "author_premium", "author_flair_type", "author_flair_richtext",
    "author_patreon_flair", "title", "selftext", "selftext_html", "url", "permalink", "domain",
    "score", "ups", "upvote_ratio", "num_comments", "created", "created_utc", "edited", "over_18",
    "spoiler", "stickied", "locked", "is_self", "link_flair_text", "thumbnail",
    "subreddit_subscribers", "quarantine", "distinguished",
}
T2_KEYS = {
    "name", "id", "created", "created_utc", "link_karma", "comment_karma", "total_karma",
    "icon_img", "verified", "is_gold", "is_mod", "has_verified_email", "subreddit",
    "awardee_karma", "awarder_karma", "is_blocked", "accept_followers",
}
# fmt: on


# ------------------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("standin")
    proc, base = client.start_standin(tmp)
    try:
        yield base
    finally:
        assert client.stop(proc) == 0


@pytest.fixture(scope="module")
def world() -> World:
    return get_world(WorldParams())


def _tenant(base: str, name: str, **config: Any) -> str:
    client.reset(base, name)
    client.configure(base, name, **config)
    return client.tenant_url(base, name)


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return client.fetch(url, headers=headers)


def get_json(url: str) -> Any:
    status, headers, body = get(url)
    assert status == 200, (url, status, body[:200])
    assert headers["content-type"] == "application/json; charset=UTF-8"
    return json.loads(body)


def fetch_all(tenant_url: str, path: str, wanted: int, **params: str) -> tuple[list[dict], int]:
    """Page a listing like a crawler; return (children data, pages requested)."""
    items: list[dict] = []
    after = None
    pages = 0
    while len(items) < wanted:
        q = dict(params, limit=str(min(100, wanted - len(items))), raw_json="1")
        if after:
            q["after"] = after
        body = get_json(f"{tenant_url}{path}?{urllib.parse.urlencode(q)}")
        pages += 1
        items += [c["data"] for c in body["data"]["children"]]
        after = body["data"]["after"]
        if not after:
            break
    return items, pages


def _load_sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))["body"]


# ------------------------------------------------------------------------------------------
# Server basics and shapes
# ------------------------------------------------------------------------------------------


def test_health_and_start_line(standin: str) -> None:
    assert client.health(standin)
    status, _, body = get(f"{standin}/_standin/health")
    assert status == 200 and json.loads(body)["ok"] is True


def test_subreddit_about_shape(standin: str) -> None:
    url = _tenant(standin, "shape_about")
    body = get_json(f"{url}/r/python/about.json?raw_json=1")
    assert body["kind"] == "t5"
    data = body["data"]
    assert set(data) >= T5_KEYS
    assert data["display_name"] == "python"
    assert data["display_name_prefixed"] == "r/python"
    assert data["name"] == f"t5_{data['id']}"
    assert data["url"] == "/r/python/"
    assert data["subreddit_type"] == "public" and data["quarantine"] is False
    assert data["created"] == data["created_utc"]


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="reference samples not available")
def test_key_sets_match_recorded_samples(world: World) -> None:
    sub = world.lookup_sub("python")
    assert sub is not None
    assert list(shapes.subreddit_about(sub)["data"]) == list(
        _load_sample("01-subreddit-about.json")["data"]
    )
    rules = shapes.subreddit_rules(sub)
    sample_rules = _load_sample("02-subreddit-rules.json")
    assert list(rules) == list(sample_rules)
    assert set(rules["rules"][0]) == set(sample_rules["rules"][0])
    ours = [shapes.link(p)["data"] for p in world.posts if p.user is not None][-300:]
    our_keys = set().union(*map(set, ours))
    recorded = [c["data"] for c in _load_sample("03-subreddit-hot.json")["data"]["children"]]
    assert set.intersection(*map(set, recorded)) <= our_keys
    assert our_keys <= set().union(*map(set, recorded))
    user = next(u for u in world.users if u.state == "ok")
    sample_user = _load_sample("05-user-about.json")["data"]
    assert set(shapes.user_about(user)["data"]) == set(sample_user)
    assert set(shapes.user_about(user)["data"]["subreddit"]) == set(sample_user["subreddit"])


def test_rules_shape(standin: str) -> None:
    url = _tenant(standin, "shape_rules")
    body = get_json(f"{url}/r/python/about/rules.json")
    assert set(body) == {"rules", "site_rules", "site_rules_flow"}
    assert body["rules"]
    for prio, rule in enumerate(body["rules"]):
        assert set(rule) == {
            "kind",
            "description",
            "short_name",
            "violation_reason",
            "created_utc",
            "priority",
            "description_html",
        }
        assert rule["priority"] == prio
        assert rule["description_html"].startswith('<!-- SC_OFF --><div class="md">')
    assert all(isinstance(s, str) for s in body["site_rules"])


def test_listing_envelope_and_t3_shape(standin: str) -> None:
    url = _tenant(standin, "shape_listing")
    body = get_json(f"{url}/r/python/hot.json?limit=30&raw_json=1")
    assert body["kind"] == "Listing"
    data = body["data"]
    assert list(data) == ["after", "dist", "modhash", "geo_filter", "children", "before"]
    assert data["dist"] == 30 == len(data["children"])
    assert data["modhash"] is None and data["before"] is None and data["geo_filter"] == ""
    assert data["after"] == data["children"][-1]["data"]["name"]
    for child in data["children"]:
        assert child["kind"] == "t3"
        post = child["data"]
        assert post["name"] == f"t3_{post['id']}"
        assert post["subreddit"] == "python"
        assert post["subreddit_name_prefixed"] == "r/python"
        assert post["permalink"].startswith(f"/r/python/comments/{post['id']}/")
        if post["author"] in (DELETED, REMOVED):
            assert not set(DELETED_ABSENT) & set(post)
            assert T3_KEYS - set(DELETED_ABSENT) <= set(post)
        else:
            assert set(post) >= T3_KEYS
            assert post["author_fullname"].startswith("t2_")
        assert post["created"] == post["created_utc"]
        assert post["ups"] == post["score"]
        if post["is_self"]:
            assert post["domain"] == "self.python"
            assert post["url"] == "https://www.reddit.com" + post["permalink"]
    stickied = [c["data"]["stickied"] for c in data["children"]]
    assert stickied[:2] == [True, True] and not any(stickied[2:])


def test_user_about_and_submitted_shape(standin: str, world: World) -> None:
    url = _tenant(standin, "shape_user")
    user = next(u for u in world.users if u.state == "ok" and len(u.posts) > 5)
    body = get_json(f"{url}/user/{user.name}/about.json")
    assert body["kind"] == "t2"
    data = body["data"]
    assert set(data) >= T2_KEYS and "is_suspended" not in data
    assert data["name"] == user.name
    prof = data["subreddit"]
    assert prof["display_name"] == f"u_{user.name}"
    assert prof["display_name_prefixed"] == f"u/{user.name}"
    assert prof["subreddit_type"] == "user"
    assert prof["name"].startswith("t5_")
    listing = get_json(f"{url}/user/{user.name}/submitted.json?limit=100")["data"]
    created = [c["data"]["created_utc"] for c in listing["children"]]
    assert created == sorted(created, reverse=True)
    assert all(c["data"]["author"] == user.name for c in listing["children"])


def test_search_returns_empty_listing(standin: str) -> None:
    url = _tenant(standin, "shape_search")
    body = get_json(f"{url}/subreddits/search.json?q=whatever&raw_json=1")
    assert body == {
        "kind": "Listing",
        "data": {
            "after": None,
            "dist": 0,
            "modhash": None,
            "geo_filter": "",
            "children": [],
            "before": None,
        },
    }


def test_listing_bytes_equal_json_dumps(world: World) -> None:
    sub = world.lookup_sub("python")
    assert sub is not None
    posts = sub.hot[:5]
    fast = shapes.listing_bytes([shapes.link_bytes(p) for p in posts], posts[-1].fullname)
    slow = shapes.dumps(shapes.listing([shapes.link(p) for p in posts], posts[-1].fullname))
    assert fast == slow
    assert shapes.listing_bytes([], None) == shapes.dumps(shapes.listing([], None))


def test_unknown_path_and_method(standin: str) -> None:
    url = _tenant(standin, "misc_paths")
    status, _, body = get(f"{url}/api/v1/me")
    assert status == 404 and json.loads(body) == {"message": "Not Found", "error": 404}
    status, _, _ = client.fetch(f"{url}/r/python/about.json", method="POST", data=b"")
    assert status == 405


# ------------------------------------------------------------------------------------------
# Paging
# ------------------------------------------------------------------------------------------


def test_paging_limit_and_after(standin: str, world: World) -> None:
    url = _tenant(standin, "paging")
    sub = world.lookup_sub("learnpython")
    assert sub is not None
    default = get_json(f"{url}/r/learnpython/hot.json")["data"]
    assert default["dist"] == 25
    capped = get_json(f"{url}/r/learnpython/hot.json?limit=500")["data"]
    assert capped["dist"] == 100
    items, pages = fetch_all(url, "/r/learnpython/hot.json", 10_000)
    ids = [p["id"] for p in items]
    assert len(ids) == len(set(ids)) == len(sub.hot)
    assert ids == [p.id for p in sub.hot]
    assert pages == -(-len(sub.hot) // 100)
    last = get_json(f"{url}/r/learnpython/hot.json?limit=100&after=t3_{ids[-2]}")["data"]
    assert last["dist"] == 1 and last["after"] is None
    unknown = get_json(f"{url}/r/learnpython/hot.json?after=t3_zzzzzzz")["data"]
    assert unknown["dist"] == 0 and unknown["after"] is None and unknown["children"] == []


def test_top_year_250_needs_three_pages(standin: str, world: World) -> None:
    url = _tenant(standin, "paging_top")
    items, pages = fetch_all(url, "/r/python/top.json", 250, t="year")
    assert pages == 3
    assert len({p["id"] for p in items}) == 250
    scores = [p["score"] for p in items]
    assert scores == sorted(scores, reverse=True)
    sub = world.lookup_sub("python")
    assert sub is not None
    assert len(world.top(sub, "year")) >= 300
    assert pages_needed(len(world.top(sub, "year")), 250) == 3


def test_top_windows(standin: str, world: World) -> None:
    url = _tenant(standin, "windows")
    week = get_json(f"{url}/r/python/top.json?t=week&limit=100")["data"]["children"]
    year = get_json(f"{url}/r/python/top.json?t=year&limit=100")["data"]["children"]
    now = 1_793_491_200
    assert all(c["data"]["created_utc"] >= now - 7 * 86400 for c in week)
    assert all(c["data"]["created_utc"] >= now - 365 * 86400 for c in year)
    hot = get_json(f"{url}/r/python/hot.json?limit=30")["data"]["children"]
    overlap = {c["data"]["id"] for c in hot} & {c["data"]["id"] for c in year}
    assert len(overlap) >= 5  # the same post appears in several listings


# ------------------------------------------------------------------------------------------
# States
# ------------------------------------------------------------------------------------------

SUB_PATHS = ["about.json", "about/rules.json", "hot.json?limit=5", "top.json?t=week&limit=5"]


@pytest.mark.parametrize("name", list(SPECIAL_SUBS))
def test_special_subreddit_states(standin: str, name: str) -> None:
    url = _tenant(standin, "states_sub")
    state = SPECIAL_SUBS[name]
    for path in SUB_PATHS:
        status, headers, body = get(f"{url}/r/{name}/{path}")
        assert headers["content-type"] == "application/json; charset=UTF-8"
        data = json.loads(body)
        if state == "banned":
            assert status == 404
            assert data == {"reason": "banned", "message": "Not Found", "error": 404}
        elif state == "quarantined":
            assert status == 403
            assert list(data) == [
                "reason",
                "quarantine_message_html",
                "message",
                "quarantine_message",
                "error",
            ]
            assert data["reason"] == "quarantined" and data["error"] == 403
        else:
            assert status == 403
            assert data == {"reason": state, "message": "Forbidden", "error": 403}


@pytest.mark.parametrize("name", [NONEXISTENT_SUB, GHOST_SUB, "NoSuchSub_42"])
def test_nonexistent_subreddit_redirects(standin: str, name: str) -> None:
    url = _tenant(standin, "states_302")
    for path in SUB_PATHS:
        status, headers, body = get(f"{url}/r/{name}/{path}")
        assert status == 302
        expected = f"{url}/subreddits/search.json?q={name}&raw_json=1"
        assert headers["location"] == expected
        assert headers["content-type"].startswith("text/html")
        assert b"302 Found" in body
    # Without a tenant prefix the Location has none either.
    status, headers, _ = get(f"{standin}/r/{name}/about.json")
    assert status == 302
    assert headers["location"] == f"{standin}/subreddits/search.json?q={name}&raw_json=1"


def test_user_states(standin: str) -> None:
    url = _tenant(standin, "states_user")
    status, _, body = get(f"{url}/user/suspended_user/about.json")
    assert status == 200
    data = json.loads(body)
    assert data["kind"] == "t2"
    assert data["data"]["name"] == "suspended_user" and data["data"]["is_suspended"] is True
    assert "id" not in data["data"] and "subreddit" not in data["data"]
    for name in ("suspended_user", "hidden_posts_user"):
        status, _, body = get(f"{url}/user/{name}/submitted.json?limit=100")
        assert status == 403 and json.loads(body) == {"message": "Forbidden", "error": 403}
    status, _, body = get(f"{url}/user/hidden_posts_user/about.json")
    assert status == 200 and json.loads(body)["data"]["name"] == "hidden_posts_user"
    for name in ("deleted_user", "nobody_has_this_name"):
        for path in ("about.json", "submitted.json"):
            status, _, body = get(f"{url}/user/{name}/{path}")
            assert status == 404 and json.loads(body) == {"message": "Not Found", "error": 404}


def test_case_insensitive_lookup(standin: str) -> None:
    url = _tenant(standin, "case")
    for name in ("learnpython", "LEARNPYTHON", "LearnPython"):
        data = get_json(f"{url}/r/{name}/about.json")["data"]
        assert data["display_name"] == "LearnPython"
        hot = get_json(f"{url}/r/{name}/hot.json?limit=3")["data"]["children"]
        assert {c["data"]["subreddit"] for c in hot} == {"LearnPython"}
    assert get(f"{url}/r/SecretClub/about.json")[0] == 403
    status, _, body = get(f"{url}/user/SUSPENDED_USER/about.json")
    assert status == 200 and json.loads(body)["data"]["name"] == "suspended_user"


# ------------------------------------------------------------------------------------------
# Tenants, request log, admin API
# ------------------------------------------------------------------------------------------


def test_request_log_per_tenant(standin: str) -> None:
    url_a = _tenant(standin, "log_a")
    url_b = _tenant(standin, "log_b")
    get(f"{url_a}/r/python/about.json?raw_json=1", **{"User-Agent": "agent-a/1.0"})
    get(f"{url_a}/r/secretclub/hot.json?limit=7&raw_json=1&x=y")
    get(f"{url_b}/user/suspended_user/about.json")
    get(f"{standin}/_standin/tenants/log_a/world")  # admin calls are not logged
    log_a = client.get_requests(standin, "log_a")
    log_b = client.get_requests(standin, "log_b")
    assert [e["path"] for e in log_a] == ["/r/python/about.json", "/r/secretclub/hot.json"]
    assert [e["path"] for e in log_b] == ["/user/suspended_user/about.json"]
    first, second = log_a
    assert set(first) == {
        "method",
        "path",
        "query",
        "status",
        "time",
        "user_agent",
        "client_ip",
        "host",
        "client_id",
        "token_ok",
        "limited",
        "identity",
        "proxy_authorization_seen",
        "window_left",
    }
    assert first["host"] == "www" and first["client_id"] is None and first["token_ok"] is None
    assert first["limited"] is False and first["identity"] is None
    assert first["method"] == "GET" and first["status"] == 200
    assert first["query"] == {"raw_json": "1"}
    assert first["user_agent"] == "agent-a/1.0"
    assert first["client_ip"] == "127.0.0.1"
    assert second["status"] == 403
    assert second["query"] == {"limit": "7", "raw_json": "1", "x": "y"}
    assert first["time"] <= second["time"]
    client.clear_requests(standin, "log_a")
    assert client.get_requests(standin, "log_a") == []
    assert len(client.get_requests(standin, "log_b")) == 1
    assert client.get_requests(standin, "never_used_tenant") == []


def test_client_ip_is_the_socket_peer(standin: str) -> None:
    _tenant(standin, "client_ip")
    host, port = urllib.parse.urlsplit(standin).netloc.split(":")
    for source in ("127.0.0.2", "127.0.0.3"):
        conn = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
        try:
            conn.request("GET", "/t/client_ip/r/python/about.json")
            assert conn.getresponse().status == 200
        finally:
            conn.close()
    assert [e["client_ip"] for e in client.get_requests(standin, "client_ip")] == [
        "127.0.0.2",
        "127.0.0.3",
    ]


def test_config_validation(standin: str) -> None:
    for bad in (
        {"nope": 1},
        {"seed": "1"},
        {"n_users": 2},
        {"n_subreddits": 3},
        {"posts_per_user": [5, 1]},
        {"latency_ms": -1},
        {"latency_ms_by_endpoint": {"sub_nope": 1}},
    ):
        status, _, body = client.fetch(
            f"{standin}/_standin/tenants/bad_cfg", method="PUT", data=json.dumps(bad).encode()
        )
        assert status == 400, bad
        assert json.loads(body)["ok"] is False
    status, _, _ = client.fetch(f"{standin}/_standin/tenants/bad%20name", method="PUT", data=b"{}")
    assert status in (400, 404)
    client.configure(standin, "good_cfg", seed=5, posts_per_user=[1, 3], latency_ms=0)
    status, _, body = get(f"{standin}/_standin/tenants/good_cfg")
    assert json.loads(body)["seed"] == 5


def test_latency(standin: str) -> None:
    url = _tenant(standin, "latency", latency_ms=0, latency_ms_by_endpoint={"sub_rules": 300})
    t0 = time.monotonic()
    get(f"{url}/r/python/about.json")
    fast = time.monotonic() - t0
    t0 = time.monotonic()
    get(f"{url}/r/python/about/rules.json")
    slow = time.monotonic() - t0
    assert slow >= 0.3 and fast < 0.3
    # The log entry is written on arrival, before the delay.
    assert len(client.get_requests(standin, "latency")) == 2


def test_world_summary(standin: str) -> None:
    _tenant(standin, "summary", seed=7)
    summary = client.world_summary(standin, "summary")
    assert summary["params"]["seed"] == 7
    subs = {s["name"]: s for s in summary["subreddits"]}
    assert len(subs) == 40
    for name, state in SPECIAL_SUBS.items():
        assert subs[name]["state"] == state
    for name in WELL_KNOWN:
        assert subs[name]["state"] == "ok"
    assert subs["learnpython"]["display_name"] == "LearnPython"
    assert "LearnPython" in summary["case_differs"]
    assert subs["python"]["top_year"] >= 300
    assert NONEXISTENT_SUB not in subs and GHOST_SUB not in subs
    users = {u["name"]: u["state"] for u in summary["users"]}
    assert len(users) == 300
    for name, state in SPECIAL_USERS.items():
        assert users[name] == state
    assert summary["special"]["nonexistent"] == NONEXISTENT_SUB


# ------------------------------------------------------------------------------------------
# Determinism and quirks
# ------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_over_http(standin: str) -> None:
    url_a = _tenant(standin, "det_a", seed=11)
    url_b = _tenant(standin, "det_b", seed=11)
    url_c = _tenant(standin, "det_c", seed=12)
    paths = [
        "/r/python/about.json",
        "/r/python/about/rules.json",
        "/r/python/hot.json?limit=100",
        "/r/python/top.json?t=year&limit=100",
        "/user/suspended_user/about.json",
    ]
    for path in paths:
        assert get(url_a + path)[2] == get(url_b + path)[2]
    assert (
        get(url_a + "/r/python/hot.json?limit=100")[2]
        != get(url_c + "/r/python/hot.json?limit=100")[2]
    )


def test_generation_is_deterministic() -> None:
    params = WorldParams(seed=99, n_subreddits=20, n_users=60, posts_per_user=(2, 10))
    a, b = generate_world(params), generate_world(params)
    assert a is not b
    assert [shapes.link_bytes(p) for p in a.posts] == [shapes.link_bytes(p) for p in b.posts]
    assert json.dumps(a.summary()) == json.dumps(b.summary())
    assert get_world(params) is get_world(params)  # cached


@pytest.mark.parametrize("seed", [1, 8])
def test_world_invariants(seed: int) -> None:
    world = get_world(WorldParams(seed=seed))
    now = 1_793_491_200
    ids = [p.id for p in world.posts]
    assert len(ids) == len(set(ids))
    for post in world.posts:
        assert post.created_utc < now
        if isinstance(post.edited, float):
            assert post.created_utc < post.edited < now
        if post.sub is not None:
            assert post.sub.created_utc < post.created_utc
        if post.user is not None:
            assert post.user.created_utc < post.created_utc
    for user in world.users:
        created = [p.created_utc for p in world.submitted(user)]
        assert created == sorted(created, reverse=True)
    for sub in world.subreddits:
        assert world.lookup_sub(sub.name.upper()) is sub
        assert len(sub.name) <= 21 and not sub.name.lower().startswith("u_")
        year = world.top(sub, "year")
        assert [p.score for p in year] == sorted((p.score for p in year), reverse=True)
    names = [s.lower for s in world.subreddits] + [u.name.lower() for u in world.users]
    assert len({s.lower for s in world.subreddits}) == len(world.subreddits)
    assert len({u.name.lower() for u in world.users}) == len(world.users)
    assert NONEXISTENT_SUB not in names and GHOST_SUB not in names


def _default_listing_posts(world: World, low: str) -> list:
    sub = world.lookup_sub(low)
    assert sub is not None
    return world.hot(sub)[:30] + world.top(sub, "week")[:10] + world.top(sub, "year")[:100]


@pytest.mark.parametrize("seed", [1, 2, 3, 1234])
def test_quirks_within_default_sizes(seed: int) -> None:
    world = get_world(WorldParams(seed=seed))
    posts = [p for low in WELL_KNOWN for p in _default_listing_posts(world, low)]
    t3 = [shapes.link(p)["data"] for p in posts]
    authors = {d["author"] for d in t3}
    assert {DELETED, REMOVED} <= authors
    assert set(SPECIAL_USERS) <= authors
    edited = [d["edited"] for d in t3]
    assert any(e is False for e in edited)
    assert any(e is True for e in edited)
    assert any(isinstance(e, float) for e in edited)
    assert any("\u0000" in d["title"] for d in t3)
    assert any("\u0000" in d["selftext"] for d in t3)
    assert any(len(d["selftext"]) == LONG_SELFTEXT_LEN for d in t3)
    assert any("\U0001f40d" in d["title"] for d in t3)  # emoji
    assert any("\u05e9" in d["title"] or "\u05e9" in d["selftext"] for d in t3)  # Hebrew
    assert any("\u0645" in d["title"] or "\u0645" in d["selftext"] for d in t3)  # Arabic
    assert {d["thumbnail"] for d in t3} & {"self", ""}
    for d in t3:
        if d["author"] in (DELETED, REMOVED):
            assert not set(DELETED_ABSENT) & set(d)
    # NUL characters survive serialization as \u0000 escapes.
    body = b"".join(shapes.link_bytes(p) for p in posts)
    assert b"\\u0000" in body and b"\x00" not in body
    # Hot and top year overlap in every well-known subreddit.
    for low in WELL_KNOWN:
        sub = world.lookup_sub(low)
        assert sub is not None
        assert {p.id for p in world.hot(sub)[:30]} & {p.id for p in world.top(sub, "year")[:100]}
    # Display names differ in case from the lower-case names; t3.subreddit is the display name.
    assert {d["subreddit"] for d in t3} == {WELL_KNOWN_SUBS[n] for n in WELL_KNOWN}


def test_quirks_in_selected_users_listings() -> None:
    world = get_world(WorldParams())
    truth = expected_crawl(world, WELL_KNOWN)
    assert {u: truth["users"][u] for u in SPECIAL_USERS} == SPECIAL_USERS
    profile = 0
    sub_names: set[str] = set()
    for name, status in truth["users"].items():
        user = world.lookup_user(name)
        if status != "ok" or user is None:
            continue
        for post in world.submitted(user)[:30]:
            data = shapes.link(post)["data"]
            if data["subreddit_type"] == "user":
                profile += 1
                assert data["subreddit"] == f"u_{name}"
                assert data["subreddit_name_prefixed"] == f"u/{name}"
            sub_names.add(data["subreddit"])
    assert profile >= 3
    assert "LearnPython" in sub_names and "learnpython" not in sub_names
    assert {"secretclub", "quarantinedsub", "gatedsub", "bannedsub", GHOST_SUB} <= sub_names


# ------------------------------------------------------------------------------------------
# Ground truth
# ------------------------------------------------------------------------------------------


def test_pages_needed() -> None:
    assert pages_needed(1000, 30) == 1
    assert pages_needed(1000, 100) == 1
    assert pages_needed(1000, 101) == 2
    assert pages_needed(1000, 250) == 3
    assert pages_needed(100, 250) == 1  # after is null once the listing ends
    assert pages_needed(150, 250) == 2
    assert pages_needed(0, 30) == 1


def test_truth_default_sizes(world: World) -> None:
    truth = expected_crawl(world, WELL_KNOWN, depth=1)
    req = truth["requests"]
    assert req["total"] == 5 * len(truth["subreddits"]) + 2 * len(truth["users"])
    assert req["search"] == 0
    assert req["sub_top"] == 2 * req["sub_about"]
    assert req["total"] < 3000
    statuses = set(truth["subreddits"].values())
    assert statuses >= {"ok", "private", "quarantined", "gated", "banned", "nonexistent"}
    assert truth["subreddits"][GHOST_SUB] == "nonexistent"
    for name, state in SPECIAL_SUBS.items():
        assert truth["subreddits"][name] == state
    assert set(truth["users"].values()) == {"ok", "suspended", "not_found", "private_posts"}
    assert truth["posts"] == sorted(set(truth["posts"]))
    assert all(not p.startswith("t3_") for p in truth["posts"])
    # discovered subreddit names are display names as posted; edges counts are positive.
    assert any(d[0] == "LearnPython" for d in truth["discovered"])
    assert all(e[2] >= 1 for e in truth["edges"])
    assert truth["edges"] == sorted(truth["edges"])
    # Seeds are deduplicated case-insensitively; the first spelling is kept.
    again = expected_crawl(world, ["python", "PYTHON", "LearnPython", "learnpython"])
    assert list(again["subreddits"]) == ["python", "learnpython"]
    assert again["requests"]["sub_about"] == 2


def test_truth_paging_and_limits(world: World) -> None:
    base = expected_crawl(world, ["python"])
    paged = expected_crawl(world, ["python"], top_year=250)
    assert paged["requests"]["sub_top"] == base["requests"]["sub_top"] + 2
    sub = world.lookup_sub("python")
    assert sub is not None
    year_ids = {p.id for p in world.top(sub, "year")[:250]}
    assert len(year_ids) == 250 and year_ids <= set(paged["posts"])
    big = expected_crawl(world, ["python"], user_posts=150)
    extra = sum(
        pages_needed(len(world.submitted(u)), 150) - 1
        for name, status in big["users"].items()
        if status == "ok" and (u := world.lookup_user(name)) is not None
    )
    assert extra >= 1
    assert big["requests"]["user_submitted"] == len(big["users"]) + extra
    limited = expected_crawl(world, WELL_KNOWN, depth=2, max_subs=5)
    assert len(limited["subreddits"]) == 5
    assert list(limited["subreddits"])[:3] == WELL_KNOWN
    unknown = expected_crawl(world, [NONEXISTENT_SUB], depth=3)
    assert unknown["subreddits"] == {NONEXISTENT_SUB: "nonexistent"}
    assert unknown["requests"]["total"] == 5 and unknown["users"] == {}
    with pytest.raises(ValueError):
        expected_crawl(world, ["python"], hot=0)


def test_truth_endpoint_matches_function(standin: str) -> None:
    _tenant(standin, "truth_ep", seed=3)
    params = {"users_per_sub": 10, "depth": 1, "max_subs": 20, "top_year": 150}
    remote = client.truth(standin, "truth_ep", ["python", "datascience"], **params)
    local = expected_crawl(get_world(WorldParams(seed=3)), ["python", "datascience"], **params)
    assert remote == json.loads(json.dumps(local))
    status, _, _ = get(f"{standin}/_standin/tenants/truth_ep/truth?subs=python&hot=0")
    assert status == 400


def _kind_of(path: str) -> str:
    if path.startswith("/user/"):
        return "user_about" if path.endswith("/about.json") else "user_submitted"
    if path.startswith("/subreddits/search"):
        return "search"
    for suffix, kind in (
        ("/about/rules.json", "sub_rules"),
        ("/about.json", "sub_about"),
        ("/hot.json", "sub_hot"),
        ("/top.json", "sub_top"),
    ):
        if path.endswith(suffix):
            return kind
    return "other"


def _crawl_over_http(url: str, seeds: list[str], users_per_sub: int, depth: int) -> dict:
    """A minimal sequential reference crawler of the plan in ``standin.truth``, over HTTP."""
    subs: dict[str, str] = {}
    posts: set[str] = set()
    users: dict[str, str] = {}
    collected: dict[str, list[dict] | None] = {}
    edges: set[tuple[str, str, int]] = set()
    discovered: set[tuple[str, str, str]] = set()
    level = list(seeds)
    crawled = {s.lower() for s in seeds}
    for d in range(depth + 1):
        candidates: list[str] = []
        for s in level:
            status, _, body = get(f"{url}/r/{s}/about.json?raw_json=1")
            if status != 200:
                # The five requests are sent together, so they are sent for every state.
                others = [
                    get(f"{url}/r/{s}/{p}")[0]
                    for p in ("about/rules.json", "hot.json", "top.json?t=week", "top.json?t=year")
                ]
                assert others == [status] * 4
                subs[s.lower()] = "nonexistent" if status == 302 else json.loads(body)["reason"]
                continue
            subs[s.lower()] = "ok"
            assert get(f"{url}/r/{s}/about/rules.json")[0] == 200
            display = json.loads(body)["data"]["display_name"]
            sel = fetch_all(url, f"/r/{s}/hot.json", 30)[0]
            sel += fetch_all(url, f"/r/{s}/top.json", 10, t="week")[0]
            sel += fetch_all(url, f"/r/{s}/top.json", 100, t="year")[0]
            posts.update(p["id"] for p in sel)
            chosen: list[str] = []
            for p in sel:
                a = p["author"]
                if a not in (DELETED, REMOVED) and a.lower() not in {c.lower() for c in chosen}:
                    chosen.append(a)
            for u in chosen[:users_per_sub]:
                if u.lower() not in collected:
                    st, _, about = get(f"{url}/user/{u}/about.json")
                    if st == 200 and not json.loads(about)["data"].get("is_suspended"):
                        st2, _, first = get(f"{url}/user/{u}/submitted.json?limit=30")
                    else:
                        st2, first = get(f"{url}/user/{u}/submitted.json?limit=30")[0], b""
                    items: list[dict] | None = None
                    if st == 404:
                        users[u] = "not_found"
                    elif json.loads(about)["data"].get("is_suspended"):
                        users[u] = "suspended"
                    elif st2 == 403:
                        users[u] = "private_posts"
                    else:
                        users[u] = "ok"
                        items = [c["data"] for c in json.loads(first)["data"]["children"]]
                        posts.update(p["id"] for p in items)
                    collected[u.lower()] = items
                counts: dict[str, int] = {}
                names: dict[str, str] = {}
                for p in collected[u.lower()] or []:
                    if p["subreddit_type"] == "user":
                        continue
                    names.setdefault(p["subreddit"].lower(), p["subreddit"])
                    counts[p["subreddit"].lower()] = counts.get(p["subreddit"].lower(), 0) + 1
                for low, x in names.items():
                    edges.add((u, x, counts[low]))
                    if low != display.lower():
                        discovered.add((x, display, u))
                        candidates.append(x)
        if d == depth:
            break
        nxt: list[str] = []
        for x in candidates:
            if x.lower() not in crawled and x.lower() not in {n.lower() for n in nxt}:
                nxt.append(x)
        level = nxt
        crawled |= {x.lower() for x in nxt}
    return {
        "subreddits": subs,
        "posts": sorted(posts),
        "users": users,
        "edges": [list(e) for e in sorted(edges)],
        "discovered": [list(e) for e in sorted(discovered)],
    }


def test_http_crawl_agrees_with_truth(standin: str) -> None:
    url = _tenant(standin, "e2e", seed=5, n_subreddits=15, n_users=60)
    got = _crawl_over_http(url, ["python", "LearnPython"], users_per_sub=6, depth=1)
    truth = client.truth(standin, "e2e", ["python", "LearnPython"], users_per_sub=6, depth=1)
    for key in ("subreddits", "users", "posts", "edges", "discovered"):
        assert got[key] == truth[key], key
    counts = dict.fromkeys(truth["requests"], 0)
    for entry in client.get_requests(standin, "e2e"):
        counts[_kind_of(entry["path"])] += 1
        counts["total"] += 1
    assert counts == truth["requests"]


def test_sigterm_exits_cleanly(tmp_path: Path) -> None:
    proc, base = client.start_standin(tmp_path, config={"seed": 3, "latency_ms": 1})
    assert client.health(base)
    status, _, body = get(f"{base}/_standin/tenants/default")
    assert status == 200 and json.loads(body)["seed"] == 3
    status, _, _ = get(f"{base}/r/python/about.json")
    assert status == 200
    assert client.get_requests(base, "default")[0]["path"] == "/r/python/about.json"
    assert client.stop(proc) == 0
    log = (tmp_path / "standin.log").read_text()
    assert f"standin listening on {base}" in log
    assert (tmp_path / "standin.port").read_text().strip() == base.rsplit(":", 1)[1]
    assert os.path.exists(tmp_path / "standin.port")
