"""Tests of the stand-in's access model (``standin/access.py``): hosts, tokens, block, limits.

Reddit in 2026: public ``www`` JSON is blocked (403 HTML), application-only OAuth tokens come
from ``POST /api/v1/access_token``, ``oauth.reddit.com`` needs ``Authorization: bearer``, and
rate limits answer 429 as JSON (no Retry-After) or as the HTML "whoa there" page (Retry-After).
The server runs as a subprocess shared by this module; each test uses its own tenant. Window
arithmetic is checked exactly on :class:`standin.access.AccessState` with a fake clock.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from standin import client
from standin.access import AccessState, parse_access

CLIENTS = {"crawler-id": "s3cret-value-1", "other-id": "s3cret-value-2"}
RATE_HEADERS = ("x-ratelimit-used", "x-ratelimit-remaining", "x-ratelimit-reset")
B_429 = b'{"message": "Too Many Requests", "error": 429}'
B_401 = b'{"message": "Unauthorized", "error": 401}'


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, base = client.start_standin(tmp_path_factory.mktemp("standin_access"))
    try:
        yield base
    finally:
        assert client.stop(proc) == 0


def _tenant(base: str, name: str, **config: Any) -> None:
    client.reset(base, name)
    client.configure(base, name, **config)


def call(
    base: str,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    source: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request over a fresh connection, optionally from a local source address."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    src = (source, 0) if source else None
    conn = http.client.HTTPConnection(host, int(port), timeout=10, source_address=src)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {
        "Authorization": f"Basic {raw}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def token_for(base: str, tenant: str, client_id: str = "crawler-id") -> str:
    status, body = client.request_token(base, tenant, client_id, CLIENTS[client_id])
    assert status == 200, body
    return str(body["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"bearer {token}"}


# ------------------------------------------------------------------------------------------
# Token endpoint
# ------------------------------------------------------------------------------------------


def test_token_endpoint(standin: str) -> None:
    _tenant(standin, "tok", oauth_clients=CLIENTS, token_ttl=123)
    path = "/t/tok/api/v1/access_token"
    form = b"grant_type=client_credentials"
    status, headers, body = call(
        standin, path, method="POST", headers=basic("crawler-id", CLIENTS["crawler-id"]), body=form
    )
    assert status == 200 and headers["content-type"] == "application/json; charset=UTF-8"
    data = json.loads(body)
    assert list(data) == ["access_token", "token_type", "expires_in", "scope"]
    assert data["token_type"] == "bearer" and data["expires_in"] == 123 and data["scope"] == "*"
    assert len(data["access_token"]) >= 32
    for creds in (("crawler-id", "wrong"), ("nobody", "s3cret-value-1"), ("other-id", "")):
        status, _, body = call(standin, path, method="POST", headers=basic(*creds), body=form)
        assert (status, body) == (401, B_401), creds
    status, _, body = call(standin, path, method="POST", body=form)
    assert (status, body) == (401, B_401)
    status, _, body = call(
        standin,
        path,
        method="POST",
        headers=basic("crawler-id", CLIENTS["crawler-id"]),
        body=b"grant_type=password",
    )
    assert status == 200 and json.loads(body) == {"error": "unsupported_grant_type"}
    assert call(standin, path)[0] == 405
    # Tokens differ per request and are listed by the admin endpoint.
    second = token_for(standin, "tok")
    tokens = client.get_tokens(standin, "tok")
    assert [t["token"] for t in tokens] == [data["access_token"], second]
    for t in tokens:
        assert set(t) == {"token", "client_id", "issued", "expires"}
        assert t["client_id"] == "crawler-id"
        assert t["expires"] - t["issued"] == pytest.approx(123)
        assert abs(t["issued"] - time.time()) < 30
    assert client.get_tokens(standin, "never_configured_tenant") == []


def test_token_endpoint_without_tenant_prefix_is_default(standin: str) -> None:
    _tenant(standin, "default", oauth_clients=CLIENTS)
    try:
        status, _, body = call(
            standin,
            "/api/v1/access_token",
            method="POST",
            headers=basic("other-id", CLIENTS["other-id"]),
            body=b"grant_type=client_credentials",
        )
        assert status == 200
        token = json.loads(body)["access_token"]
        assert call(standin, "/oauth/r/python/about.json", headers=bearer(token))[0] == 200
        assert call(standin, "/t/tok2/oauth/r/python/about.json", headers=bearer(token))[0] == 401
        log = client.get_requests(standin, "default")
        assert [(e["host"], e["path"]) for e in log] == [
            ("auth", "/api/v1/access_token"),
            ("oauth", "/r/python/about.json"),
        ]
    finally:
        client.reset(standin, "default")


# ------------------------------------------------------------------------------------------
# OAuth host
# ------------------------------------------------------------------------------------------


def test_oauth_host_checks_bearer_tokens(standin: str) -> None:
    _tenant(standin, "oauth", oauth_clients=CLIENTS)
    path = "/t/oauth/oauth/r/python/hot.json?limit=5&raw_json=1"
    for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic Zm9vOmJhcg=="}):
        status, got, body = call(standin, path, headers=headers)
        assert (status, body) == (401, B_401), headers
        assert got["content-type"] == "application/json; charset=UTF-8"
        assert got["www-authenticate"] == 'Bearer realm="reddit", error="invalid_token"'
    token = token_for(standin, "oauth")
    status, got, body = call(standin, path, headers=bearer(token))
    assert status == 200 and not set(RATE_HEADERS) & set(got)  # no limit configured
    for scheme in ("Bearer", "BEARER"):
        assert call(standin, path, headers={"Authorization": f"{scheme} {token}"})[0] == 200
    # The data does not depend on the host.
    assert call(standin, "/t/oauth/r/python/hot.json?limit=5&raw_json=1")[2] == body
    # Missing subreddits redirect within the oauth host.
    missing = "/t/oauth/oauth/r/nosuchsub_zz/about.json"
    status, got, _ = call(standin, missing, headers=bearer(token))
    assert status == 302
    assert got["location"].endswith(
        "/t/oauth/oauth/subreddits/search.json?q=nosuchsub_zz&raw_json=1"
    )
    # Tokens are per tenant.
    _tenant(standin, "oauth_other", oauth_clients=CLIENTS)
    other = "/t/oauth_other/oauth/r/python/about.json"
    assert call(standin, other, headers=bearer(token))[0] == 401


def test_expired_tokens_answer_401(standin: str) -> None:
    _tenant(standin, "expiry", oauth_clients=CLIENTS, token_ttl=1)
    path = "/t/expiry/oauth/user/suspended_user/about.json"
    short = token_for(standin, "expiry")
    assert call(standin, path, headers=bearer(short))[0] == 200
    time.sleep(1.1)
    status, headers, body = call(standin, path, headers=bearer(short))
    assert (status, body) == (401, B_401) and "invalid_token" in headers["www-authenticate"]
    # The admin endpoint expires all tokens at once.
    _tenant(standin, "expiry", oauth_clients=CLIENTS)  # reconfigure keeps tokens
    fresh = [token_for(standin, "expiry"), token_for(standin, "expiry", "other-id")]
    assert all(call(standin, path, headers=bearer(t))[0] == 200 for t in fresh)
    assert client.expire_tokens(standin, "expiry") == 2
    assert all(call(standin, path, headers=bearer(t))[0] == 401 for t in fresh)
    assert all(t["expires"] <= time.time() for t in client.get_tokens(standin, "expiry"))
    assert call(standin, path, headers=bearer(token_for(standin, "expiry")))[0] == 200
    # A client removed from the config loses its tokens; DELETE forgets all tokens.
    other = token_for(standin, "expiry", "other-id")
    client.configure(standin, "expiry", oauth_clients={"crawler-id": CLIENTS["crawler-id"]})
    assert call(standin, path, headers=bearer(other))[0] == 401
    client.reset(standin, "expiry")
    assert client.get_tokens(standin, "expiry") == []


def test_oauth_optional(standin: str) -> None:
    _tenant(standin, "oauth_opt", oauth_required=False, oauth_clients=CLIENTS)
    assert call(standin, "/t/oauth_opt/oauth/r/python/about.json")[0] == 200
    assert call(standin, "/t/oauth_opt/oauth/r/python/about.json", headers=bearer("x"))[0] == 200
    token = token_for(standin, "oauth_opt")
    assert call(standin, "/t/oauth_opt/oauth/r/python/about.json", headers=bearer(token))[0] == 200
    log = [e for e in client.get_requests(standin, "oauth_opt") if e["host"] == "oauth"]
    assert [(e["token_ok"], e["client_id"]) for e in log] == [
        (None, None),
        (False, None),
        (True, "crawler-id"),
    ]


# ------------------------------------------------------------------------------------------
# Public block
# ------------------------------------------------------------------------------------------


def test_block_public(standin: str) -> None:
    _tenant(standin, "blocked", block_public=True, oauth_clients=CLIENTS)
    for path in ("/r/python/about.json", "/user/suspended_user/about.json", "/nope"):
        status, headers, body = call(standin, f"/t/blocked{path}")
        assert status == 403, path
        assert headers["content-type"].startswith("text/html")
        assert b"blocked by network security" in body
        assert not set(RATE_HEADERS) & set(headers)
    token = token_for(standin, "blocked")  # the token endpoint is never blocked
    assert call(standin, "/t/blocked/oauth/r/python/about.json", headers=bearer(token))[0] == 200
    _tenant(standin, "not_blocked")
    assert call(standin, "/t/not_blocked/r/python/about.json")[0] == 200


# ------------------------------------------------------------------------------------------
# Rate limits
# ------------------------------------------------------------------------------------------


def _headers_ok(headers: dict[str, str], used: int, limit: int, window: float) -> None:
    assert headers["x-ratelimit-used"] == str(used)
    remaining = headers["x-ratelimit-remaining"]
    assert remaining == f"{limit - used}.0"
    assert float(remaining) + used == limit
    reset = headers["x-ratelimit-reset"]
    assert reset.isdigit() and 1 <= int(reset) <= math.ceil(window)


def test_ip_limit_per_source_address(standin: str) -> None:
    _tenant(
        standin, "iplim", ip_limit={"limit": 3, "window": 600}, oauth_clients=CLIENTS
    )  # one window for the whole test
    path = "/t/iplim/r/python/about.json"
    for used in (1, 2, 3):
        status, headers, _ = call(standin, path, source="127.0.0.2")
        assert status == 200
        _headers_ok(headers, used, 3, 600)
    status, headers, body = call(standin, path, source="127.0.0.2")
    assert (status, body) == (429, B_429)
    # Another source address has its own allowance; so does the default 127.0.0.1.
    status, headers, _ = call(standin, path, source="127.0.0.3")
    assert status == 200 and headers["x-ratelimit-used"] == "1"
    assert call(standin, path)[0] == 200
    # The oauth host is not limited per IP (only per client).
    token = token_for(standin, "iplim")  # counted: the token endpoint is on www
    assert call(standin, "/t/iplim/oauth/r/python/about.json", headers=bearer(token))[0] == 200
    log = client.get_requests(standin, "iplim")
    assert [(e["client_ip"], e["status"], e["limited"], e["identity"]) for e in log] == [
        ("127.0.0.2", 200, False, "ip:127.0.0.2"),
        ("127.0.0.2", 200, False, "ip:127.0.0.2"),
        ("127.0.0.2", 200, False, "ip:127.0.0.2"),
        ("127.0.0.2", 429, True, "ip:127.0.0.2"),
        ("127.0.0.3", 200, False, "ip:127.0.0.3"),
        ("127.0.0.1", 200, False, "ip:127.0.0.1"),
        ("127.0.0.1", 200, False, "ip:127.0.0.1"),
        ("127.0.0.1", 200, False, None),
    ]
    assert [e["host"] for e in log[-2:]] == ["auth", "oauth"]


def test_client_limit_headers_and_json_429(standin: str) -> None:
    _tenant(standin, "clim", oauth_clients=CLIENTS, client_limit={"limit": 5, "window": 600})
    token, other = token_for(standin, "clim"), token_for(standin, "clim", "other-id")
    path = "/t/clim/oauth/r/python/hot.json?limit=3"
    resets = []
    for used in range(1, 6):
        status, headers, _ = call(standin, path, headers=bearer(token))
        assert status == 200
        _headers_ok(headers, used, 5, 600)
        resets.append(int(headers["x-ratelimit-reset"]))
    assert resets == sorted(resets, reverse=True)
    # Non-200 answers within the limit carry the headers too; the token endpoint is not limited.
    status, headers, _ = call(standin, "/t/clim/oauth/user/nobody_zz/about", headers=bearer(other))
    assert status == 404 and headers["x-ratelimit-used"] == "1"
    for _ in range(3):
        status, headers, body = call(standin, path, headers=bearer(token))
        assert (status, body) == (429, B_429)
        assert headers["content-type"] == "application/json; charset=UTF-8"
        assert "retry-after" not in headers and not set(RATE_HEADERS) & set(headers)
    status, headers, _ = call(standin, path, headers=bearer(other))
    assert status == 200 and headers["x-ratelimit-used"] == "2"
    log = [e for e in client.get_requests(standin, "clim") if e["host"] == "oauth"]
    assert [e["identity"] for e in log] == ["client:crawler-id"] * 5 + ["client:other-id"] + [
        "client:crawler-id"
    ] * 3 + ["client:other-id"]
    assert [e["limited"] for e in log] == [False] * 6 + [True] * 3 + [False]


def test_html_and_alternating_429(standin: str) -> None:
    _tenant(standin, "html429", ip_limit={"limit": 1, "window": 600}, limit_429_shape="html")
    path = "/t/html429/r/python/about.json"
    assert call(standin, path)[0] == 200
    status, headers, body = call(standin, path)
    assert status == 429
    assert headers["content-type"] == "text/html; charset=UTF-8"
    wait = headers["retry-after"]
    assert wait.isdigit() and 1 <= int(wait) <= 600
    assert not set(RATE_HEADERS) & set(headers)
    text = body.decode()
    assert "<h1>whoa there, pardner!</h1>" in text
    assert f"please wait {wait} second(s) and try again." in text
    _tenant(standin, "alt429", ip_limit={"limit": 1, "window": 600}, limit_429_shape="alternate")
    assert call(standin, "/t/alt429/r/python/about.json")[0] == 200
    shapes = []
    for _ in range(4):
        status, headers, _ = call(standin, "/t/alt429/r/python/about.json")
        assert status == 429
        shapes.append(("html" if "retry-after" in headers else "json", headers["content-type"]))
    json_ct, html_ct = "application/json; charset=UTF-8", "text/html; charset=UTF-8"
    assert shapes == [("json", json_ct), ("html", html_ct)] * 2


def test_ratelimit_headers_can_be_off(standin: str) -> None:
    _tenant(standin, "nohdr", ip_limit={"limit": 1, "window": 600}, ratelimit_headers=False)
    status, headers, _ = call(standin, "/t/nohdr/r/python/about.json")
    assert status == 200 and not set(RATE_HEADERS) & set(headers)
    assert call(standin, "/t/nohdr/r/python/about.json")[0] == 429


def test_new_window_restores_allowance(standin: str) -> None:
    _tenant(standin, "window", ip_limit={"limit": 2, "window": 1}, limit_429_shape="html")
    path = "/t/window/r/python/about.json"
    wait = None
    for _ in range(10):  # a window boundary may pass in between; stop at the first 429
        status, headers, _ = call(standin, path)
        if status == 429:
            wait = int(headers["retry-after"])
            break
        assert status == 200
    assert wait == 1
    for _ in range(3):  # 429s do not consume the next window's allowance
        call(standin, path)
    time.sleep(wait)
    status, headers, _ = call(standin, path)
    assert status == 200 and headers["x-ratelimit-used"] == "1"


def test_window_arithmetic_with_fake_clock() -> None:
    state = AccessState(parse_access({"ip_limit": {"limit": 2, "window": 10}}))
    state.t0 = 1000.0

    def hit(now: float, ip: str = "127.0.0.2") -> tuple[int, str, str]:
        gate = state.admit("www", ip, "", now)
        if gate.response is not None:
            status, _, headers = gate.response
            return status, "", headers.get("retry-after", "")
        return 200, gate.headers["x-ratelimit-used"], gate.headers["x-ratelimit-reset"]

    assert hit(1000.0) == (200, "1", "10")
    assert hit(1003.2) == (200, "2", "7")
    assert hit(1009.99) == (429, "", "")  # json shape: no Retry-After
    assert hit(1009.99, "127.0.0.3") == (200, "1", "1")  # Reset is at least 1
    assert hit(1010.0) == (200, "1", "10")  # window 1 starts at t0 + 10 for everybody
    assert hit(1019.5) == (200, "2", "1")
    assert hit(1019.6) == (429, "", "")
    assert hit(1019.7) == (429, "", "")
    assert state._counts["ip:127.0.0.2"] == (1, 2)  # 429s consumed nothing
    assert hit(1035.0) == (200, "1", "5")  # skipping a window is fine too


# ------------------------------------------------------------------------------------------
# Log, config, listening addresses
# ------------------------------------------------------------------------------------------


def test_log_fields_and_no_secrets(standin: str) -> None:
    _tenant(standin, "logacc", oauth_clients=CLIENTS, client_limit={"limit": 100, "window": 60})
    token = token_for(standin, "logacc")
    call(
        standin,
        "/t/logacc/api/v1/access_token",
        method="POST",
        headers=basic("other-id", "wrong-secret-zz"),
        body=b"grant_type=client_credentials",
    )
    call(standin, "/t/logacc/oauth/r/python/about.json?raw_json=1", headers=bearer(token))
    call(standin, "/t/logacc/oauth/r/python/about.json", headers=bearer(token + "x"))
    proxy_auth = {"Proxy-Authorization": "Basic eHk6eg=="}
    call(standin, "/t/logacc/r/python/about.json", headers=proxy_auth)
    log = client.get_requests(standin, "logacc")
    fields = ("host", "path", "status", "client_id", "token_ok", "limited", "identity")
    assert [tuple(e[f] for f in fields) for e in log] == [
        ("auth", "/api/v1/access_token", 200, "crawler-id", True, False, None),
        ("auth", "/api/v1/access_token", 401, "other-id", False, False, None),
        ("oauth", "/r/python/about.json", 200, "crawler-id", True, False, "client:crawler-id"),
        ("oauth", "/r/python/about.json", 401, None, False, False, None),
        ("www", "/r/python/about.json", 200, None, None, False, None),
    ]
    assert [e["method"] for e in log] == ["POST", "POST", "GET", "GET", "GET"]
    assert [e["proxy_authorization_seen"] for e in log] == [False] * 4 + [True]
    assert log[2]["query"] == {"raw_json": "1"}
    status, _, raw = client.fetch(f"{standin}/_standin/tenants/logacc/requests")
    assert status == 200
    text = raw.decode()
    for secret in (*CLIENTS.values(), "wrong-secret-zz", token, "eHk6eg"):
        assert secret not in text
    assert all(t["token"] not in text for t in client.get_tokens(standin, "logacc"))


def test_access_config_validation_and_defaults(standin: str) -> None:
    _tenant(standin, "acc_cfg")
    status, _, body = call(standin, "/_standin/tenants/acc_cfg")
    cfg = json.loads(body)
    assert {k: cfg[k] for k in cfg if k not in ("seed", "n_subreddits", "n_users")} == {
        "posts_per_user": cfg["posts_per_user"],
        "latency_ms": 0.0,
        "latency_ms_by_endpoint": {},
        "oauth_clients": {},
        "token_ttl": 86400,
        "oauth_required": True,
        "block_public": False,
        "ip_limit": None,
        "client_limit": None,
        "limit_429_shape": "json",
        "ratelimit_headers": True,
    }
    for bad in (
        {"oauth_clients": ["a"]},
        {"oauth_clients": {"a:b": "c"}},
        {"oauth_clients": {"a": ""}},
        {"token_ttl": 0},
        {"token_ttl": 1.5},
        {"oauth_required": "yes"},
        {"block_public": 1},
        {"ip_limit": {"limit": 0, "window": 60}},
        {"ip_limit": {"limit": 10}},
        {"client_limit": {"limit": 10, "window": 0}},
        {"limit_429_shape": "xml"},
        {"ratelimit_headers": "no"},
    ):
        status, _, body = client.fetch(
            f"{standin}/_standin/tenants/acc_cfg", method="PUT", data=json.dumps(bad).encode()
        )
        assert status == 400, bad
        assert json.loads(body)["ok"] is False
    client.configure(standin, "acc_cfg", ip_limit={"limit": 5, "window": 0.5})
    status, _, body = call(standin, "/_standin/tenants/acc_cfg")
    assert json.loads(body)["ip_limit"] == {"limit": 5, "window": 0.5}


def test_accepts_connections_from_other_loopback_sources(standin: str) -> None:
    _tenant(standin, "sources")
    for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
        assert call(standin, "/t/sources/r/python/about.json", source=source)[0] == 200
    ips = [e["client_ip"] for e in client.get_requests(standin, "sources")]
    assert ips == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
