"""The proxy test infrastructure itself: real squids (``scripts/proxies.py``) in front of a
local echo origin. Each proxy needs its credentials, reaches the origin from its own source
address, keeps client connections alive, and can be killed and restarted mid-test."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import scripts.proxies as proxies_mod
from scripts.proxies import ProxyHandle, SquidMissing, apr1_hash, start_proxies
from tests.proxies import EchoOrigin, proxy_authorization

# The fixtures of tests/proxies.py. Once tests/conftest.py imports them, these three lines
# can go (while both exist, this module gets its own 3 session proxies: ~0.2 s more).

CLI = str(Path(__file__).resolve().parent.parent / "scripts" / "proxies.py")


@pytest.fixture(scope="module")
def origin() -> Iterator[EchoOrigin]:
    with EchoOrigin() as server:
        yield server


def get(
    proxy: ProxyHandle,
    url: str,
    *,
    password: str | None = None,
    auth: bool = True,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` through ``proxy`` (absolute URI, as a client talks to a forward proxy)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection(proxy.host, proxy.port, timeout=10)
    headers = {"Host": url.split("/")[2]}
    if auth:
        headers["Proxy-Authorization"] = proxy_authorization(
            proxy.user, proxy.password if password is None else password
        )
    try:
        conn.request("GET", url, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        if own:
            conn.close()


def test_each_proxy_forwards_from_its_own_source_address(
    squid_proxies: list[ProxyHandle], origin: EchoOrigin
) -> None:
    assert [p.source_ip for p in squid_proxies] == ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert len({p.port for p in squid_proxies}) == 3
    for i, proxy in enumerate(squid_proxies):
        assert proxy.url == f"user{i + 1}:{proxy.password}@127.0.0.1:{proxy.port}"
        status, headers, body = get(proxy, f"{origin.base_url}/page/{i}?q=1")
        assert status == 200, body
        seen = json.loads(body)
        assert seen["client_ip"] == proxy.source_ip
        assert seen["path"] == f"/page/{i}?q=1"
        # Nothing tells the origin there is a proxy, nor who is behind it.
        for header in ("x-forwarded-for", "via", "proxy-authorization", "forwarded"):
            assert header not in seen["headers"]
        assert "via" not in headers
        assert not any(h.startswith("x-cache") for h in headers)


def test_wrong_password_and_missing_credentials_get_407(
    squid_proxies: list[ProxyHandle], origin: EchoOrigin
) -> None:
    proxy = squid_proxies[0]
    before = len(origin.seen)
    status, headers, _ = get(proxy, f"{origin.base_url}/x", password="wrong-password")
    assert status == 407
    assert headers["proxy-authenticate"].startswith("Basic")
    status, headers, _ = get(proxy, f"{origin.base_url}/x", auth=False)
    assert status == 407
    # Another proxy's credentials are no good here either.
    other = squid_proxies[1]
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=10)
    conn.request(
        "GET",
        f"{origin.base_url}/x",
        headers={"Proxy-Authorization": proxy_authorization(other.user, other.password)},
    )
    assert conn.getresponse().status == 407
    conn.close()
    assert len(origin.seen) == before
    assert proxy.bad_url() == f"user1:wrong-password@127.0.0.1:{proxy.port}"


def test_only_local_destinations(squid_proxies: list[ProxyHandle]) -> None:
    status, _, _ = get(squid_proxies[0], "http://192.0.2.1/")
    assert status == 403


def test_client_connection_is_kept_alive(
    squid_proxies: list[ProxyHandle], origin: EchoOrigin
) -> None:
    proxy = squid_proxies[2]
    conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=10)
    status, headers, body = get(proxy, f"{origin.base_url}/first", conn=conn)
    assert status == 200, body
    assert headers.get("connection", "").lower() != "close"
    sock = conn.sock
    assert sock is not None
    local = sock.getsockname()
    status, _, body = get(proxy, f"{origin.base_url}/second", conn=conn)
    assert status == 200, body
    assert conn.sock is sock and sock.getsockname() == local  # same TCP connection
    assert json.loads(body) == {**json.loads(body), "path": "/second", "client_ip": "127.0.0.4"}
    # A 407 does not cost the connection either.
    status, _, _ = get(proxy, f"{origin.base_url}/third", password="nope", conn=conn)
    assert status == 407
    status, _, _ = get(proxy, f"{origin.base_url}/fourth", conn=conn)
    assert status == 200
    assert conn.sock is sock
    conn.close()


def _refused(proxy: ProxyHandle) -> bool:
    try:
        socket.create_connection((proxy.host, proxy.port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_killed_proxy_refuses_while_the_others_work(
    proxy_factory: Callable[[int], list[ProxyHandle]], origin: EchoOrigin
) -> None:
    first, second = proxy_factory(2)
    assert first.source_ip != second.source_ip
    assert {first.source_ip, second.source_ip}.isdisjoint({"127.0.0.2", "127.0.0.3", "127.0.0.4"})
    kept = http.client.HTTPConnection(first.host, first.port, timeout=10)
    assert get(first, f"{origin.base_url}/a", conn=kept)[0] == 200

    first.kill()
    assert not first.alive()
    assert _refused(first)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        get(first, f"{origin.base_url}/b", conn=kept)  # the kept-alive connection is gone too
    status, _, body = get(second, f"{origin.base_url}/c")
    assert status == 200
    assert json.loads(body)["client_ip"] == second.source_ip

    first.restart()  # back on the same port, same credentials
    assert first.alive()
    status, _, body = get(first, f"{origin.base_url}/d")
    assert status == 200
    assert json.loads(body)["client_ip"] == first.source_ip


def test_graceful_stop(fresh_proxy: ProxyHandle, origin: EchoOrigin) -> None:
    assert get(fresh_proxy, f"{origin.base_url}/a")[0] == 200
    started = time.monotonic()
    fresh_proxy.stop()
    assert time.monotonic() - started < 5
    assert not fresh_proxy.alive()
    assert _refused(fresh_proxy)
    fresh_proxy.stop()  # idempotent
    log = fresh_proxy.access_log.read_text()
    assert f"GET {origin.base_url}/a {fresh_proxy.user}" in log


def test_apr1_matches_openssl() -> None:
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("no openssl to compare with")
    for password in ("secret", "x", "a password longer than sixteen bytes: é"):
        expected = subprocess.run(
            [openssl, "passwd", "-apr1", "-salt", "abcdEFGH", password],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert apr1_hash(password, "abcdEFGH") == expected


def test_missing_squid_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(proxies_mod, "NCSA_HELPER_CANDIDATES", (str(tmp_path / "missing"),))
    with pytest.raises(SquidMissing, match="apt-get install squid"):
        start_proxies(1, tmp_path)


def test_cli_prints_proxies_and_stops_on_sigterm(tmp_path: Path, origin: EchoOrigin) -> None:
    proc = subprocess.Popen(
        [sys.executable, CLI, "start", "2", "--first-source", "200", "--workdir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(2)]
        handles: list[dict[str, Any]] = []
        for i, line in enumerate(lines):
            creds, address = line.split("@")
            user, password = creds.split(":")
            host, port = address.split(":")
            assert (user, host) == (f"user{199 + i}", "127.0.0.1")
            handles.append({"user": user, "password": password, "port": int(port)})
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
            conn.request(
                "GET",
                f"{origin.base_url}/cli",
                headers={"Proxy-Authorization": proxy_authorization(user, password)},
            )
            response = conn.getresponse()
            assert response.status == 200
            assert json.loads(response.read())["client_ip"] == f"127.0.0.{200 + i}"
            conn.close()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    for h in handles:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", h["port"]), timeout=2).close()
    assert len(list(tmp_path.glob("squid-user*/access.log"))) == 2
