"""Fault injection of the stand-in (``standin/faults.py``), through a real HTTP client against
the session's stand-in server: every kind as a client sees it, determinism, the attempt budget,
``match``, the request log's ``fault``/``attempt`` fields and config validation."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from typing import Any

import pytest

from standin import client
from standin.faults import FAULT_KINDS, FaultConfig, parse_faults, request_key
from tests.conftest import Tenant

ABOUT = "/r/python/about.json"


def get(tenant: Tenant, path: str, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    return client.fetch(tenant.base_url + path, timeout=timeout)


def is_json(body: bytes) -> bool:
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def test_no_faults_by_default(tenant: Tenant) -> None:
    status, _, body = get(tenant, ABOUT)
    assert status == 200 and json.loads(body)["kind"] == "t5"
    (entry,) = tenant.requests()
    assert "fault" not in entry and "attempt" not in entry  # counted only while faults are on
    assert "faults" not in client._admin(tenant.root, "GET", f"/_standin/tenants/{tenant.name}")


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_each_kind_faults_the_first_attempt_only(tenant: Tenant, kind: str) -> None:
    _, _, real = get(tenant, ABOUT)  # faults off: the real answer, for comparison
    client.clear_requests(tenant.root, tenant.name)
    tenant.configure(faults={"rate": 1, "kinds": [kind], "seed": 3, "slow_ms": 1500})
    started = time.monotonic()
    if kind == "reset":
        with pytest.raises((http.client.IncompleteRead, ConnectionError)):
            get(tenant, ABOUT)
    elif kind == "slow":
        with pytest.raises(TimeoutError):
            get(tenant, ABOUT, timeout=0.5)
        assert time.monotonic() - started < 1.4
    else:
        status, headers, body = get(tenant, ABOUT)
        content_type = headers.get("content-type", "")
        if kind in ("500", "502", "503"):
            assert status == int(kind)
            assert (kind == "500") == content_type.startswith("application/json")
        elif kind in ("login", "over18"):
            assert status == 302
            location = urllib.parse.urlsplit(headers["location"])
            page = "/login/" if kind == "login" else "/over18"
            assert location.path == f"/t/{tenant.name}{page}"
            (dest,) = urllib.parse.parse_qs(location.query)["dest"]
            assert dest == tenant.base_url + ABOUT
        else:
            assert status == 200 and not is_json(body)
            if kind == "truncated":
                assert body and real.startswith(body) and len(body) < len(real)
            elif kind == "html":
                assert content_type.startswith("text/html") and b"maintenance" in body
            elif kind == "empty":
                assert body == b""
            else:
                assert kind == "garbage" and len(body) >= 256
    # The second attempt of the same request is answered for real.
    status, _, body = get(tenant, ABOUT)
    assert status == 200 and body == real
    log = tenant.requests()
    assert [(e["fault"], e["attempt"]) for e in log] == [(kind, 1), (None, 2)]


def paths() -> list[str]:
    """120 distinct requests (another limit is another request)."""
    out = []
    for n in range(1, 41):
        out += [
            f"/r/python/hot.json?limit={n}&raw_json=1",
            f"/r/learnpython/top.json?t=year&limit={n}&raw_json=1",
            f"/user/alice/submitted.json?limit={n}",
        ]
    return out


def faults_seen(tenant: Tenant) -> dict[str, str]:
    return {request_key(e["path"], e["query"]): e["fault"] for e in tenant.requests() if e["fault"]}


def test_choice_is_a_function_of_seed_and_request(
    standin_root: str, tenant: Tenant, request: pytest.FixtureRequest
) -> None:
    config: dict[str, Any] = {"rate": 0.25, "seed": 11, "kinds": ["500", "html", "empty"]}
    other = Tenant(standin_root, (request.node.name + "_b")[:64])
    client.reset(standin_root, other.name)
    tenant.configure(faults=config)
    other.configure(faults=config)
    for path in paths():
        get(tenant, path)
    for path in reversed(paths()):  # another order, same faults
        get(other, path)
    seen = faults_seen(tenant)
    assert seen == faults_seen(other)
    predicted = FaultConfig(0.25, ("500", "html", "empty"), 11)
    expected = {}
    for entry in tenant.requests():
        key = request_key(entry["path"], entry["query"])
        fault = predicted.decide(key, 1)
        if fault:
            expected[key] = fault
    assert seen == expected
    assert 0.1 * 120 <= len(seen) <= 0.4 * 120
    assert set(seen.values()) == {"500", "html", "empty"}
    # Another seed chooses other requests.
    client.clear_requests(standin_root, other.name)
    other.configure(faults={**config, "seed": 12})
    for path in paths():
        get(other, path)
    assert faults_seen(other).keys() != seen.keys()


def test_attempts_budget_and_match(tenant: Tenant) -> None:
    tenant.configure(faults={"rate": 1, "kinds": ["503"], "attempts": 2, "match": "^/r/python/"})
    statuses = [get(tenant, ABOUT)[0] for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert get(tenant, "/r/learnpython/about.json")[0] == 200  # not matched
    tenant.configure(faults={"rate": 1, "kinds": ["500"], "attempts": None, "match": "^/user/"})
    assert [get(tenant, "/user/alice/about.json")[0] for _ in range(5)] == [500] * 5
    assert get(tenant, ABOUT)[0] == 200
    faults = [(e["path"], e["fault"]) for e in tenant.requests() if e["fault"]]
    assert faults == [(ABOUT, "503")] * 2 + [("/user/alice/about.json", "500")] * 5


def test_kinds_vary_between_attempts(tenant: Tenant) -> None:
    kinds = [k for k in FAULT_KINDS if k not in ("slow", "reset")]
    tenant.configure(faults={"rate": 1, "attempts": None, "seed": 5, "kinds": kinds})
    for _ in range(20):
        get(tenant, "/r/python/hot.json?limit=1")
    seen = [e["fault"] for e in tenant.requests()]
    assert [e["attempt"] for e in tenant.requests()] == list(range(1, 21))
    assert None not in seen and len(set(seen)) >= 5  # a retry meets other faults


def test_token_endpoint_and_access_answers_never_fault(tenant: Tenant) -> None:
    tenant.configure(
        oauth_clients={"cid": "sec"}, faults={"rate": 1, "kinds": ["500"], "attempts": None}
    )
    status, body = client.request_token(tenant.root, tenant.name, "cid", "sec")
    assert status == 200 and body["access_token"]
    assert client.fetch(tenant.oauth_url + ABOUT)[0] == 401  # no token: the access answer
    headers = {"Authorization": f"bearer {body['access_token']}"}
    assert client.fetch(tenant.oauth_url + ABOUT, headers=headers)[0] == 500
    log = tenant.requests()
    assert [(e.get("fault"), e.get("attempt")) for e in log] == [
        (None, None),
        (None, None),
        ("500", 1),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"rate": 2},
        {"rate": "0.1"},
        {"kinds": ["404"]},
        {"kinds": "500"},
        {"seed": 1.5},
        {"attempts": 0},
        {"match": "("},
        {"slow_ms": -1},
        {"often": True},
    ],
)
def test_bad_fault_config_is_refused(tenant: Tenant, bad: Any) -> None:
    with pytest.raises(RuntimeError, match="400"):
        tenant.configure(faults=bad)
    with pytest.raises(ValueError):
        parse_faults(bad)


def test_config_echoes_faults(tenant: Tenant) -> None:
    tenant.configure(faults={"rate": 0.5, "kinds": ["slow"], "slow_ms": 100})
    cfg = client._admin(tenant.root, "GET", f"/_standin/tenants/{tenant.name}")
    assert cfg["faults"] == {
        "rate": 0.5,
        "kinds": ["slow"],
        "seed": 0,
        "attempts": 1,
        "match": None,
        "slow_ms": 100.0,
    }
