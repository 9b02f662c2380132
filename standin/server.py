"""aiohttp server of the Reddit stand-in: tenants, admin API and Reddit endpoints.

Every Reddit path may be prefixed with ``/t/<tenant>`` (``[A-Za-z0-9_-]{1,64}``); without the
prefix a request belongs to tenant ``default``. Each tenant has its own config (world
parameters, latencies, access keys; see :mod:`standin.tenant`), request log, tokens and rate-limit
counters; tenants with equal world parameters share one cached :class:`~standin.world.World`.

Three Reddit "hosts" live after the tenant prefix (see :mod:`standin.access` for the checks):

- www: ``[/t/<t>]/<reddit path>`` (``www.reddit.com``);
- oauth: ``[/t/<t>]/oauth/<reddit path>`` (``oauth.reddit.com``; bearer token);
- auth: ``POST [/t/<t>]/api/v1/access_token`` (the token endpoint on www; basic auth, form
  ``grant_type=client_credentials``).

The data does not depend on the host. Each request is logged with its Reddit path (without
the tenant and host prefixes), ``host``, ``client_id``, ``token_ok``, ``limited``, ``identity``
and ``proxy_authorization_seen``; tokens and secrets are never logged.

Faults (tenant config key ``faults``, see :mod:`standin.faults`): a Reddit GET the access checks
admitted may get an injected bad answer instead of (or, for ``slow`` and ``reset``, as a delayed
or cut version of) its real one. While faults are on, every Reddit GET's log entry also holds
``attempt`` (its number for that path + query) and ``fault`` (the injected kind, or null).

Admin API (JSON):

- ``GET /_standin/health`` -> ``{"ok": true, "version": ...}``
- ``PUT /_standin/tenants/<t>`` body = config subset -> ``{"ok": true}`` (400 on bad keys/values)
- ``GET /_standin/tenants/<t>`` -> the tenant's effective config
- ``DELETE /_standin/tenants/<t>`` -> forget the tenant (config, log, tokens)
- ``GET|DELETE /_standin/tenants/<t>/requests`` -> the request log / clear it
- ``GET /_standin/tenants/<t>/tokens`` -> ``{"tokens": [{"token", "client_id", "issued",
  "expires"}]}`` (epoch seconds; expired tokens stay listed)
- ``POST /_standin/tenants/<t>/expire_tokens`` -> ``{"ok": true, "expired": n}``: expire all
  tokens of the tenant now
- ``GET /_standin/tenants/<t>/world`` -> world summary (names, states, special names)
- ``GET /_standin/tenants/<t>/truth?subs=a,b&users_per_sub=&depth=&max_subs=&hot=&top_week=
  &top_year=&user_posts=`` -> :func:`standin.truth.expected_crawl` on the tenant's world

Reddit endpoints (GET, ``.json`` suffix optional, trailing slash tolerated): ``/r/<name>/about``,
``/r/<name>/about/rules``, ``/r/<name>/hot``, ``/r/<name>/top?t=``, ``/user/<name>/about``,
``/user/<name>/submitted``, ``/subreddits/search``. ``limit`` (default 25, clamped to 1..100;
non-numbers and values < 1 mean 25) and ``after`` (a ``t3_`` fullname; unknown -> empty page) are
honoured; other parameters (``raw_json``, ``count``, ``before``, ``sort``...) are ignored.
``top`` without ``t`` (or with an unknown one) uses ``day``, as Reddit does.

Choices for states: a suspended user's ``submitted`` answers 403 ``{"message": "Forbidden",
"error": 403}`` (like a hidden listing); unknown and ``not_found`` users answer 404 on both
endpoints. A subreddit that is not in the world answers 302 on every endpoint, to an absolute
``<scheme>://<host>[/t/<tenant>][/oauth]/subreddits/search.json?q=<name>&raw_json=1``.

A ``PUT`` of a tenant config keeps its request log and tokens but restarts its rate-limit clock
and counters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import time
from typing import Any, Final
from urllib.parse import quote

from aiohttp import web

from standin import __version__, faults, shapes
from standin.tenant import ConfigError, LogEntry, Tenant, parse_config
from standin.truth import expected_crawl
from standin.world import Post, Subreddit, World

TENANT_RE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SUB_RE: Final = re.compile(r"^/r/([^/]+)/(about/rules|about|hot|top)(?:\.json)?/?$")
_USER_RE: Final = re.compile(r"^/(?:user|u)/([^/]+)/(about|submitted)(?:\.json)?/?$")
_SEARCH_RE: Final = re.compile(r"^/subreddits/search(?:\.json)?/?$")
_TOKEN_RE: Final = re.compile(r"^/api/v1/access_token/?$")
_SUB_KIND: Final[dict[str, str]] = {
    "about": "sub_about",
    "about/rules": "sub_rules",
    "hot": "sub_hot",
    "top": "sub_top",
}
DEFAULT_LIMIT: Final[int] = 25
MAX_LIMIT: Final[int] = 100

_JSON_HEADERS: Final[dict[str, str]] = {"Content-Type": shapes.JSON_CONTENT_TYPE}
_B_NOT_FOUND: Final[bytes] = shapes.dumps(shapes.error(404))
_B_FORBIDDEN: Final[bytes] = shapes.dumps(shapes.error(403))
_B_PRIVATE: Final[bytes] = shapes.dumps(shapes.error(403, "private"))
_B_GATED: Final[bytes] = shapes.dumps(shapes.error(403, "gated"))
_B_BANNED: Final[bytes] = shapes.dumps(shapes.error(404, "banned"))
_B_EMPTY_LISTING: Final[bytes] = shapes.listing_bytes([], None)
_B_METHOD: Final[bytes] = shapes.dumps({"message": "Method Not Allowed", "error": 405})


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        n = int(raw)
    except ValueError:
        return DEFAULT_LIMIT
    if n < 1:
        return DEFAULT_LIMIT
    return min(n, MAX_LIMIT)


def _json_response(obj: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(obj, ensure_ascii=False).encode("utf-8"),
        status=status,
        headers=_JSON_HEADERS,
    )


class Standin:
    """State of one server: tenants and the request handler."""

    def __init__(self, default_config: dict[str, Any] | None = None) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.default_config = default_config or {}

    def tenant(self, name: str) -> Tenant:
        t = self.tenants.get(name)
        if t is None:
            t = parse_config(name, self.default_config if name == "default" else {})
            self.tenants[name] = t
        return t

    # -- entry point ---------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.time()
        now = time.monotonic()
        path = request.path
        if path.startswith("/_standin/") or path == "/_standin":
            return await self.admin(request, path)
        tenant_name = "default"
        prefix = ""
        if path.startswith("/t/"):
            rest = path[3:]
            i = rest.find("/")
            tenant_name, path = (rest, "/") if i < 0 else (rest[:i], rest[i:])
            if not TENANT_RE.match(tenant_name):
                return web.Response(body=_B_NOT_FOUND, status=404, headers=_JSON_HEADERS)
            prefix = "/t/" + tenant_name
        host = "www"
        if path == "/oauth" or path.startswith("/oauth/"):
            host, path, prefix = "oauth", path[6:] or "/", prefix + "/oauth"
        elif _TOKEN_RE.match(path):
            host = "auth"
        tenant = self.tenant(tenant_name)
        fault: str | None = None
        attempt = 0
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        ip = str(peer[0]) if peer else ""
        authorization = request.headers.get("Authorization", "")
        access = tenant.access
        gate = access.admit(host, ip, authorization, now)
        query = request.query
        kind = "other"
        if gate.response is not None:
            status, body, headers = gate.response
        elif host == "auth":
            if request.method == "POST":
                form = await request.post()
                status, body, headers = access.issue(gate, authorization, form)
            else:
                status, body, headers = 405, _B_METHOD, _JSON_HEADERS
        elif request.method == "GET":
            kind, status, body, headers = self.answer(tenant, path, query, request, prefix)
            key, attempt, fault = tenant.faults.next(path, query)
            if fault is not None:
                status, body, headers = self._fault(
                    tenant, fault, key, attempt, (status, body, headers), request, prefix
                )
        else:
            status, body, headers = 405, _B_METHOD, _JSON_HEADERS
        if gate.headers:
            headers = {**headers, **gate.headers}
        tenant.log.append(
            LogEntry(
                request.method,
                path,
                {k: v for k, v in query.items()},
                status,
                arrived,
                request.headers.get("User-Agent", ""),
                ip,
                host,
                gate.client_id,
                gate.token_ok,
                gate.limited,
                gate.identity,
                "Proxy-Authorization" in request.headers,
                gate.window_left,
                fault,
                attempt,
            )
        )
        delay = tenant.latency(kind)
        if fault == "slow":
            delay += tenant.faults.config.slow_ms / 1000.0
        if delay > 0:
            await asyncio.sleep(delay)
        if fault == "reset":
            return await self._reset(request, status, body, headers)
        return web.Response(body=body, status=status, headers=headers)

    # -- faults (standin.faults) ----------------------------------------------------------
    @staticmethod
    def _fault(
        tenant: Tenant,
        fault: str,
        key: str,
        attempt: int,
        real: tuple[int, bytes, dict[str, str]],
        request: web.Request,
        prefix: str,
    ) -> tuple[int, bytes, dict[str, str]]:
        """The (status, body, headers) of an injected fault (``slow`` and ``reset`` keep the
        real answer: :meth:`handle` delays it or cuts it)."""
        status, body, headers = real
        html = {"Content-Type": shapes.HTML_CONTENT_TYPE}
        if fault == "500":
            return 500, faults.JSON_500, _JSON_HEADERS
        if fault == "502":
            return 502, faults.HTML_502, html
        if fault == "503":
            return 503, faults.HTML_503, html
        if fault == "truncated":
            return 200, body[: max(1, len(body) // 2)], _JSON_HEADERS
        if fault == "html":
            return 200, faults.MAINTENANCE_HTML, html
        if fault == "empty":
            return 200, b"", _JSON_HEADERS
        if fault == "garbage":
            return 200, tenant.faults.config.garbage(key, attempt), _JSON_HEADERS
        if fault in ("login", "over18"):
            site = f"{request.scheme}://{request.host}{prefix.removesuffix('/oauth')}"
            dest = quote(f"{request.scheme}://{request.host}{request.path_qs}", safe="")
            page = "/login/" if fault == "login" else "/over18"
            location = f"{site}{page}?dest={dest}"
            return (
                302,
                shapes.redirect_html(location).encode("utf-8"),
                {**html, "Location": location},
            )
        return status, body, headers  # slow, reset

    @staticmethod
    async def _reset(
        request: web.Request, status: int, body: bytes, headers: dict[str, str]
    ) -> web.StreamResponse:
        """Announce the whole body, send half of it, then abort the connection."""
        if len(body) < 2:
            body = b" " * 64
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        transport = request.transport
        if transport is not None:
            transport.abort()
        return response

    # -- Reddit endpoints ----------------------------------------------------------------
    def answer(
        self,
        tenant: Tenant,
        path: str,
        query: Any,
        request: web.Request,
        prefix: str,
    ) -> tuple[str, int, bytes, dict[str, str]]:
        """Return (endpoint kind, status, body, headers) for a Reddit GET."""
        world = tenant.world()
        m = _SUB_RE.match(path)
        if m:
            name, what = m.group(1), m.group(2)
            kind = _SUB_KIND[what]
            sub = world.lookup_sub(name)
            if sub is None:
                location = (
                    f"{request.scheme}://{request.host}{prefix}/subreddits/search.json"
                    f"?q={quote(name, safe='')}&raw_json=1"
                )
                body = shapes.redirect_html(location).encode("utf-8")
                headers = {"Content-Type": shapes.HTML_CONTENT_TYPE, "Location": location}
                return kind, 302, body, headers
            state = sub.state
            if state != "ok":
                return (kind, *self._sub_error(world, sub), _JSON_HEADERS)
            if kind == "sub_about":
                return kind, 200, self._cached(world, ("about", sub.lower), sub), _JSON_HEADERS
            if kind == "sub_rules":
                return kind, 200, self._cached(world, ("rules", sub.lower), sub), _JSON_HEADERS
            if kind == "sub_hot":
                listing, t = world.hot(sub), ""
            else:
                t = query.get("t", "day")
                listing = world.top(sub, t)
            body = self._page(world, ("r", sub.lower, kind, t), listing, query)
            return kind, 200, body, _JSON_HEADERS
        m = _USER_RE.match(path)
        if m:
            name, what = m.group(1), m.group(2)
            kind = "user_about" if what == "about" else "user_submitted"
            user = world.lookup_user(name)
            if user is None or user.state == "not_found":
                return kind, 404, _B_NOT_FOUND, _JSON_HEADERS
            if kind == "user_about":
                key = ("user", user.name.lower())
                cached = world.body_cache.get(key)
                if cached is None:
                    obj = (
                        shapes.suspended_user_about(user)
                        if user.state == "suspended"
                        else shapes.user_about(user)
                    )
                    cached = world.body_cache[key] = shapes.dumps(obj)
                return kind, 200, cached, _JSON_HEADERS
            if user.state != "ok":
                return kind, 403, _B_FORBIDDEN, _JSON_HEADERS
            listing = world.submitted(user)
            body = self._page(world, ("u", user.name.lower(), "", ""), listing, query)
            return kind, 200, body, _JSON_HEADERS
        if _SEARCH_RE.match(path):
            return "search", 200, _B_EMPTY_LISTING, _JSON_HEADERS
        return "other", 404, _B_NOT_FOUND, _JSON_HEADERS

    @staticmethod
    def _sub_error(world: World, sub: Subreddit) -> tuple[int, bytes]:
        if sub.state == "private":
            return 403, _B_PRIVATE
        if sub.state == "gated":
            return 403, _B_GATED
        if sub.state == "banned":
            return 404, _B_BANNED
        key = ("quarantined", sub.lower)
        body = world.body_cache.get(key)
        if body is None:
            body = world.body_cache[key] = shapes.dumps(shapes.quarantined(sub))
        return 403, body

    @staticmethod
    def _cached(world: World, key: tuple[str, str], sub: Subreddit) -> bytes:
        body = world.body_cache.get(key)
        if body is None:
            obj = shapes.subreddit_about(sub) if key[0] == "about" else shapes.subreddit_rules(sub)
            body = world.body_cache[key] = shapes.dumps(obj)
        return body

    @staticmethod
    def _page(
        world: World, key: tuple[str, str, str, str], listing: list[Post], query: Any
    ) -> bytes:
        limit = _limit(query.get("limit"))
        after = query.get("after") or ""
        start = 0
        if after:
            if not after.startswith("t3_"):
                after = "t3_" + after
            index = world.index_cache.get(key)
            if index is None:
                index = {p.fullname: i for i, p in enumerate(listing)}
                world.index_cache[key] = index
            pos = index.get(after)
            if pos is None:
                return _B_EMPTY_LISTING
            start = pos + 1
        page = listing[start : start + limit]
        more = start + limit < len(listing)
        next_after = page[-1].fullname if page and more else None
        return shapes.listing_bytes([shapes.link_bytes(p) for p in page], next_after)

    # -- admin ---------------------------------------------------------------------------
    async def admin(self, request: web.Request, path: str) -> web.StreamResponse:
        parts = [p for p in path.split("/") if p][1:]  # drop "_standin"
        method = request.method
        if parts == ["health"]:
            return _json_response({"ok": True, "version": __version__})
        if len(parts) >= 2 and parts[0] == "tenants":
            name = parts[1]
            if not TENANT_RE.match(name):
                return _json_response({"ok": False, "error": "bad tenant name"}, 400)
            rest = parts[2:]
            if not rest:
                if method == "PUT":
                    return await self._put_tenant(request, name)
                if method == "GET":
                    return _json_response(self.tenant(name).config())
                if method == "DELETE":
                    self.tenants.pop(name, None)
                    return _json_response({"ok": True})
            elif rest == ["requests"]:
                if method == "GET":
                    return self._requests(name)
                if method == "DELETE":
                    if name in self.tenants:
                        self.tenants[name].log.clear()
                    return _json_response({"ok": True})
            elif rest == ["world"] and method == "GET":
                world = self.tenant(name).world()
                return _json_response({"tenant": name, **world.summary()})
            elif rest == ["truth"] and method == "GET":
                return self._truth(request, name)
            elif rest == ["tokens"] and method == "GET":
                tenant = self.tenants.get(name)
                tokens = [] if tenant is None else list(tenant.access.tokens.values())
                return _json_response({"tokens": [t.as_json() for t in tokens]})
            elif rest == ["expire_tokens"] and method == "POST":
                tenant = self.tenants.get(name)
                expired = 0 if tenant is None else tenant.access.expire_tokens()
                return _json_response({"ok": True, "expired": expired})
        return _json_response({"ok": False, "error": "unknown admin endpoint"}, 404)

    async def _put_tenant(self, request: web.Request, name: str) -> web.Response:
        raw = await request.read()
        try:
            cfg = json.loads(raw) if raw.strip() else {}
            tenant = parse_config(name, cfg)
            tenant.world()  # generate now, so the first request is fast
        except (ConfigError, ValueError) as exc:
            return _json_response({"ok": False, "error": str(exc)}, 400)
        old = self.tenants.get(name)
        if old is not None:
            tenant.log = old.log
            tenant.access.tokens = old.access.tokens
        self.tenants[name] = tenant
        return _json_response({"ok": True})

    def _requests(self, name: str) -> web.Response:
        tenant = self.tenants.get(name)
        entries = [] if tenant is None else tenant.log
        return _json_response({"requests": [e.as_json() for e in entries]})

    def _truth(self, request: web.Request, name: str) -> web.Response:
        q = request.query
        subs = [s for s in q.get("subs", "").split(",") if s]
        kwargs: dict[str, int] = {}
        try:
            for key in (
                "users_per_sub",
                "depth",
                "max_subs",
                "hot",
                "top_week",
                "top_year",
                "user_posts",
            ):
                if key in q:
                    kwargs[key] = int(q[key])
            world = self.tenant(name).world()
            result = expected_crawl(world, subs, **kwargs)
        except ValueError as exc:
            return _json_response({"ok": False, "error": str(exc)}, 400)
        return _json_response(result)


def make_app(default_config: dict[str, Any] | None = None) -> web.Application:
    """Build the aiohttp application (``default_config`` configures tenant ``default``)."""
    if default_config:
        parse_config("default", default_config)  # validate early
    standin = Standin(default_config)
    app = web.Application()
    app["standin"] = standin
    app.router.add_route("*", "/{tail:.*}", standin.handle)
    return app


async def serve(host: str, port: int, port_file: str | None, config: dict[str, Any]) -> None:
    """Run until SIGTERM/SIGINT; write the port file and print the URL once listening."""
    app = make_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if port_file:
        tmp = f"{port_file}.tmp"
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write(f"{bound}\n")
        os.replace(tmp, port_file)
    print(f"standin listening on http://{host}:{bound}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (``python -m standin``)."""
    parser = argparse.ArgumentParser(prog="python -m standin", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", default=None, help="write the bound port here")
    parser.add_argument(
        "--config",
        default=None,
        help="JSON config of tenant 'default' (same keys as PUT /_standin/tenants/<t>)",
    )
    args = parser.parse_args(argv)
    config: dict[str, Any] = json.loads(args.config) if args.config else {}
    try:
        asyncio.run(serve(args.host, args.port, args.port_file, config))
    except ConfigError as exc:
        print(f"standin: {exc}", file=sys.stderr)
        return 2
    return 0
