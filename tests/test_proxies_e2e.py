"""Crawls through real forward proxies (squid with basic auth, each from its own address)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from scripts.proxies import ProxyHandle
from tests.conftest import Tenant
from tests.crawl import run_crawl, start_crawl
from tests.test_spider_reddit import assert_matches_truth

SEEDS = ["python", "learnpython", "datascience"]


def proxy_list(proxies: list[ProxyHandle]) -> str:
    return ",".join(p.url for p in proxies)


def by_source(requests: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r["client_ip"] for r in requests)


def test_public_crawl_under_tight_per_ip_limit(
    tenant: Tenant, tmp_path: Path, squid_proxies: list[ProxyHandle]
) -> None:
    tenant.configure(ip_limit={"limit": 30, "window": 2})
    plan = {"users_per_sub": 10}
    result = run_crawl(
        tenant.base_url,
        tmp_path,
        {"subs": ",".join(SEEDS), **plan},
        {"PROXY_LIST": proxy_list(squid_proxies)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    requests = tenant.requests()
    assert not any(r["limited"] for r in requests)
    assert_matches_truth(result, tenant.truth(SEEDS, **plan))
    counts = by_source(requests)
    assert set(counts) == {p.source_ip for p in squid_proxies}
    mean = len(requests) / len(squid_proxies)
    assert all(abs(n - mean) <= 0.1 * mean for n in counts.values()), counts
    assert not any(r["proxy_authorization_seen"] for r in requests)
    for proxy in squid_proxies:
        key = f"proxy/{proxy.host}:{proxy.port}/ok"
        assert result.stats[key] == counts[proxy.source_ip]


def test_proxy_with_wrong_credentials_is_excluded(
    tenant: Tenant, tmp_path: Path, squid_proxies: list[ProxyHandle]
) -> None:
    plan = {"users_per_sub": 5}
    entries = [squid_proxies[0].bad_url(), squid_proxies[1].url, squid_proxies[2].url]
    result = run_crawl(
        tenant.base_url,
        tmp_path,
        {"subs": ",".join(SEEDS), **plan},
        {"PROXY_LIST": ",".join(entries), "PROXY_BACKOFF_BASE": "60"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert_matches_truth(result, tenant.truth(SEEDS, **plan))
    bad = squid_proxies[0]
    assert result.stats[f"proxy/{bad.host}:{bad.port}/error"] >= 1
    assert bad.source_ip not in by_source(tenant.requests())
    assert bad.password not in result.stderr


def test_proxy_killed_mid_crawl_loses_nothing(
    tenant: Tenant, tmp_path: Path, proxy_factory: Any
) -> None:
    proxies = proxy_factory(3)
    tenant.configure(latency_ms=40)
    plan = {"users_per_sub": 12}
    crawl = start_crawl(
        tenant.base_url,
        tmp_path / "out.jsonl",
        {"subs": ",".join(SEEDS), **plan},
        {"PROXY_LIST": proxy_list(proxies), "CONCURRENT_REQUESTS": "6"},
    )
    crawl.wait_until(lambda: len(tenant.requests()) >= 30, poll=0.02)
    proxies[1].kill()
    result = crawl.wait(timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert_matches_truth(result, tenant.truth(SEEDS, **plan))
    dead = proxies[1]
    assert result.stats[f"proxy/{dead.host}:{dead.port}/error"] >= 1


def test_debug_log_of_proxied_oauth_crawl_has_no_secrets(
    tenant: Tenant, tmp_path: Path, squid_proxies: list[ProxyHandle]
) -> None:
    secret = "oauth-secret-Zq81"
    tenant.configure(oauth_clients={"cid": secret}, block_public=True)
    result = run_crawl(
        tenant.base_url,
        tmp_path,
        {"subs": "python", "users_per_sub": 3},
        {
            **tenant.oauth_settings(secret=secret),
            "PROXY_LIST": proxy_list(squid_proxies),
            "LOG_LEVEL": "DEBUG",
        },
    )
    assert result.returncode == 0, result.stderr[-2000:]
    text = (
        result.stderr + result.stdout + str(result.stats) + (tmp_path / "out-0.jsonl").read_text()
    )
    tokens = [t["token"] for t in tenant.tokens()]
    assert tokens
    for needle in [secret, *tokens, *(p.password for p in squid_proxies)]:
        assert needle not in text
    assert "[scrapy.core.engine] DEBUG: Crawled (200)" in result.stderr


def test_public_429s_cool_only_their_proxy(
    tenant: Tenant, tmp_path: Path, squid_proxies: list[ProxyHandle]
) -> None:
    tenant.configure(
        ip_limit={"limit": 4, "window": 2}, limit_429_shape="alternate", latency_ms=200
    )
    plan = {"users_per_sub": 6}
    settings = {"PROXY_LIST": proxy_list(squid_proxies), "REDDIT_PROBE_REQUESTS": "12"}
    result = run_crawl(tenant.base_url, tmp_path, {"subs": ",".join(SEEDS), **plan}, settings)
    assert result.returncode == 0, result.stderr[-2000:]
    assert_matches_truth(result, tenant.truth(SEEDS, **plan))
    requests = sorted(tenant.requests(), key=lambda r: r["time"])
    limited = [r for r in requests if r["limited"]]
    assert limited, "the scenario should provoke 429s"
    for hit in limited:
        quiet_from, quiet_to = hit["time"] + 0.1, hit["time"] + hit["window_left"] - 0.05
        same_ip = [r for r in requests if r["client_ip"] == hit["client_ip"]]
        assert not [r for r in same_ip if quiet_from < r["time"] < quiet_to], hit
    # The refused requests went out again, and not necessarily through the same proxy.
    first_hit = limited[0]
    retried = [
        r
        for r in requests
        if r["time"] > first_hit["time"]
        and not r["limited"]
        and r["path"] == first_hit["path"]
        and r["query"] == first_hit["query"]
    ]
    assert retried


def test_proxies_table_counts_and_holds_no_password(
    tenant: Tenant, tmp_path: Path, squid_proxies: list[ProxyHandle]
) -> None:
    from tests import pg

    with pg.throwaway_database(migrated=False) as dsn:
        result = run_crawl(
            tenant.base_url,
            tmp_path,
            {"subs": "python", "users_per_sub": 4},
            {
                "PROXY_LIST": proxy_list(squid_proxies),
                "POSTGRES_ENABLED": "true",
                "POSTGRES_DSN": dsn,
            },
        )
        assert result.returncode == 0, result.stderr[-2000:]
        rows = pg.query(dsn, "SELECT host, port, success_count, error_count FROM proxies")
        got = {(h, p): ok for h, p, ok, _ in rows}
        for proxy in squid_proxies:
            assert (
                got[(proxy.host, proxy.port)] == result.stats[f"proxy/{proxy.host}:{proxy.port}/ok"]
            )
        dump = str(pg.query(dsn, "SELECT row_to_json(r)::text FROM crawl_runs r"))
        dump += str(pg.query(dsn, "SELECT row_to_json(p)::text FROM proxies p"))
        for proxy in squid_proxies:
            assert proxy.password not in dump


def test_malformed_proxy_entry_stops_before_any_request(tenant: Tenant, tmp_path: Path) -> None:
    entry = "alice:pa ss-Secret9@proxy.example"  # no port
    result = run_crawl(
        tenant.base_url, tmp_path, {"subs": "python"}, {"PROXY_LIST": f"127.0.0.1:3128,{entry}"}
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: malformed proxy entry 'alice:***@proxy.example': expected "
                      "user:pass@host:port or host:port"]  # fmt: skip
    assert "Secret9" not in result.stderr
    assert tenant.requests() == []
