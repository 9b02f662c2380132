"""End-to-end access: OAuth, the public-access block, pacing and 429s, over real sockets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Tenant
from tests.crawl import run_crawl, start_crawl
from tests.test_spider_reddit import assert_matches_truth

SEEDS = ["python", "learnpython"]
PLAN = {"users_per_sub": 4}
SECRET = "s3cret-value"


def reddit_requests(tenant: Tenant) -> list[dict[str, Any]]:
    return [r for r in tenant.requests() if r["host"] != "auth"]


def test_oauth_crawl_uses_tokens_and_descriptive_agent(tenant: Tenant, tmp_path: Path) -> None:
    tenant.configure(oauth_clients={"cid": SECRET}, block_public=True)
    settings = {**tenant.oauth_settings(), "REDDIT_USER_AGENT": "linux:rc-test:1.0 (by /u/t)"}
    result = run_crawl(tenant.base_url, tmp_path, {"subs": ",".join(SEEDS), **PLAN}, settings)
    assert result.returncode == 0, result.stderr[-2000:]
    assert_matches_truth(result, tenant.truth(SEEDS, **PLAN))
    log = tenant.requests()
    auth = [r for r in log if r["host"] == "auth"]
    assert len(auth) == 1 and auth[0]["client_id"] == "cid" and auth[0]["method"] == "POST"
    api = [r for r in log if r["host"] != "auth"]
    assert {r["host"] for r in api} == {"oauth"}
    assert all(r["token_ok"] for r in api)
    assert {r["user_agent"] for r in log} == {"linux:rc-test:1.0 (by /u/t)"}
    assert len(api) == tenant.truth(SEEDS, **PLAN)["requests"]["total"]


def test_oauth_token_renewed_before_expiry(tenant: Tenant, tmp_path: Path) -> None:
    tenant.configure(oauth_clients={"cid": SECRET}, token_ttl=2, latency_ms=300)
    plan = {"users_per_sub": 12}
    result = run_crawl(
        tenant.base_url,
        tmp_path,
        {"subs": ",".join(SEEDS), **plan},
        {**tenant.oauth_settings(), "CONCURRENT_REQUESTS": "4"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(tenant.tokens()) >= 2
    assert result.stats["reddit/oauth/tokens"] == len(tenant.tokens())
    assert_matches_truth(result, tenant.truth(SEEDS, **plan))


def test_oauth_401_refreshes_token_once(tenant: Tenant, tmp_path: Path) -> None:
    tenant.configure(oauth_clients={"cid": SECRET}, latency_ms=100)
    plan = {"users_per_sub": 10}
    crawl = start_crawl(
        tenant.base_url,
        tmp_path / "out.jsonl",
        {"subs": ",".join(SEEDS), **plan},
        {**tenant.oauth_settings(), "CONCURRENT_REQUESTS": "4"},
    )
    crawl.wait_until(lambda: len(reddit_requests(tenant)) >= 10)
    assert tenant.expire_tokens() == 1
    result = crawl.wait(timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stats["reddit/oauth/401"] >= 1
    assert len(tenant.tokens()) == 2
    assert_matches_truth(result, tenant.truth(SEEDS, **plan))


def test_wrong_secret_stops_with_message(tenant: Tenant, tmp_path: Path) -> None:
    tenant.configure(oauth_clients={"cid": SECRET})
    settings = tenant.oauth_settings(secret="not-the-secret")
    result = run_crawl(tenant.base_url, tmp_path, {"subs": "python"}, settings)
    assert result.returncode == 3
    assert "OAuth token request was refused (HTTP 401)" in result.stderr
    assert "not-the-secret" not in result.stderr
    assert result.stats["finish_reason"] == "oauth_refused"
    assert reddit_requests(tenant) == []


def test_public_mode_blocked_stops_with_advice(tenant: Tenant, tmp_path: Path) -> None:
    tenant.configure(block_public=True)
    result = run_crawl(tenant.base_url, tmp_path, {"subs": "python,learnpython"})
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Reddit blocks unauthenticated access" in result.stderr
    assert "REDDIT_CLIENT_ID" in result.stderr
    assert result.stats["finish_reason"] == "public_access_blocked"


def test_public_mode_sends_browser_agents(tenant: Tenant, tmp_path: Path) -> None:
    result = run_crawl(tenant.base_url, tmp_path, {"subs": "python", "users_per_sub": 5})
    assert result.returncode == 0
    agents = {r["user_agent"] for r in tenant.requests()}
    assert len(agents) > 1
    assert all(a.startswith("Mozilla/5.0") and "Scrapy" not in a for a in agents)


def test_oauth_pacing_under_client_limit_has_no_429(tenant: Tenant, tmp_path: Path) -> None:
    tenant.configure(oauth_clients={"cid": SECRET}, client_limit={"limit": 25, "window": 1})
    plan = {"users_per_sub": 15}
    result = run_crawl(
        tenant.base_url, tmp_path, {"subs": ",".join(SEEDS), **plan}, tenant.oauth_settings()
    )
    assert result.returncode == 0, result.stderr[-2000:]
    api = reddit_requests(tenant)
    assert not any(r["limited"] for r in api)
    assert "reddit/429" not in result.stats
    assert_matches_truth(result, tenant.truth(SEEDS, **plan))
    # More requests than one window allows: the crawl went through several windows.
    assert len(api) > 50


def test_429_both_shapes_honoured(tenant: Tenant, tmp_path: Path) -> None:
    tenant.configure(
        oauth_clients={"cid": SECRET},
        client_limit={"limit": 8, "window": 1.5},
        limit_429_shape="alternate",
    )
    plan = {"users_per_sub": 6}
    # A large first burst (before any answer told the allowance) provokes 429s.
    settings = {**tenant.oauth_settings(), "REDDIT_PROBE_REQUESTS": "20"}
    result = run_crawl(tenant.base_url, tmp_path, {"subs": ",".join(SEEDS), **plan}, settings)
    assert result.returncode == 0, result.stderr[-2000:]
    api = sorted(reddit_requests(tenant), key=lambda r: r["time"])
    limited = [r for r in api if r["limited"]]
    assert limited, "the scenario should provoke 429s"
    assert result.stats["reddit/429"] == len(limited)
    assert_matches_truth(result, tenant.truth(SEEDS, **plan))
    # After a 429, nothing was sent to that identity before its window ended (Retry-After);
    # requests already on their way when it was answered may arrive up to 0.1 s later.
    last_429 = max(r["time"] for r in limited)
    for hit in limited:
        quiet_from, quiet_to = hit["time"] + 0.1, hit["time"] + hit["window_left"] - 0.05
        early = [r for r in api if quiet_from < r["time"] < quiet_to]
        assert early == [], (hit, early[:3])
    assert any(r["time"] > last_429 for r in api)
