"""Real forward proxies (Debian's squid, ``scripts/proxies.py``) as pytest fixtures, and a
tiny echo origin that tells which client address each request came from.

Fixtures (register them in ``tests/conftest.py`` with
``from tests.proxies import fresh_proxy, proxy_factory, squid_proxies  # noqa: F401``):

* ``squid_proxies`` (session): 3 proxies, user1…user3, sending from 127.0.0.2…127.0.0.4.
  Shared by every test: don't stop them (a test that does gets them back with
  ``revive(squid_proxies)``).
* ``proxy_factory`` (function): ``proxy_factory(n)`` starts ``n`` more proxies, each with its
  own source address from 127.0.0.10 up; all stopped after the test. For kill/restart tests.
* ``fresh_proxy`` (function): ``proxy_factory(1)[0]``.

A handle's ``url`` is the crawler's proxy string ``user:password@127.0.0.1:PORT``;
``bad_url()`` the same proxy with a wrong password (407); ``kill()`` makes it die at once,
``stop()`` stops it gracefully (~2 s), ``restart()`` brings it back on the same port.
"""

from __future__ import annotations

import base64
import itertools
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from scripts.proxies import ProxyHandle, start_proxies, stop_all

SESSION_PROXIES = 3
FIRST_FRESH_SOURCE = 10  # fresh proxies send from 127.0.0.10 … so they never clash with 2 … 4
_fresh_sources = itertools.count()


def proxy_authorization(user: str, password: str) -> str:
    """The ``Proxy-Authorization`` header value for basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def revive(handles: list[ProxyHandle]) -> None:
    """Restart those that were stopped or killed (same port and credentials)."""
    for handle in handles:
        if not handle.alive():
            handle.restart()


def _next_source(n: int) -> int:
    span = 254 - FIRST_FRESH_SOURCE - n
    return FIRST_FRESH_SOURCE + (next(_fresh_sources) * n) % span


@pytest.fixture(scope="session")
def squid_proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ProxyHandle]]:
    handles = start_proxies(SESSION_PROXIES, tmp_path_factory.mktemp("squid"))
    yield handles
    stop_all(handles, graceful=False)


@pytest.fixture
def proxy_factory(tmp_path: Path) -> Iterator[Callable[[int], list[ProxyHandle]]]:
    started: list[ProxyHandle] = []

    def make(n: int = 1) -> list[ProxyHandle]:
        handles = start_proxies(n, tmp_path / "squid", first_source=_next_source(n))
        started.extend(handles)
        return handles

    yield make
    stop_all(started, graceful=False)  # at once; a graceful stop takes ~2 s


@pytest.fixture
def fresh_proxy(proxy_factory: Callable[[int], list[ProxyHandle]]) -> ProxyHandle:
    return proxy_factory(1)[0]


# --- an origin that echoes who asked ------------------------------------------------------------


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as squid uses it to the origin
    server: EchoOrigin

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACKs add ~40 ms
        # to every request after the first on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        seen = {
            "client_ip": self.client_address[0],
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        self.server.seen.append(seen)
        body = json.dumps(seen).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class EchoOrigin(ThreadingHTTPServer):
    """HTTP/1.1 server on 127.0.0.1:<free port>; each GET answers (and records in ``seen``)
    ``{"client_ip", "path", "headers"}``. Use as a context manager."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.seen: list[dict[str, Any]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> EchoOrigin:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
