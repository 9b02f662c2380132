"""Access control of the stand-in: the public-access block, OAuth tokens and rate limits.

Three "hosts" share one server (see :mod:`standin.server`): ``www`` (public Reddit paths),
``oauth`` (the same paths behind ``/oauth``, bearer token required) and ``auth`` (the token
endpoint ``/api/v1/access_token`` on www). Per tenant, configured by these keys (defaults keep
everything open):

- ``oauth_clients`` (``{}``): client id -> secret accepted by the token endpoint;
- ``token_ttl`` (``86400``): lifetime of a token in seconds (``expires_in``);
- ``oauth_required`` (``true``): the oauth host answers 401 without a valid token;
- ``block_public`` (``false``): www answers the 403 "blocked by network security" HTML page
  (the token endpoint is never blocked);
- ``ip_limit`` (``null`` or ``{"limit": n, "window": seconds}``): per socket peer IP on www
  (token endpoint included; blocked requests are not counted);
- ``client_limit`` (same shape): per OAuth client id on the oauth host (valid tokens only);
- ``limit_429_shape`` (``"json"``): ``"json"`` (no Retry-After, no x-ratelimit headers),
  ``"html"`` (the "whoa there, pardner!" page with Retry-After) or ``"alternate"`` (json, html,
  json... per tenant);
- ``ratelimit_headers`` (``true``): send ``x-ratelimit-used/remaining/reset`` on every answer
  that was counted under a limit.

Answers given here (403, 401, 429) and the token endpoint wait the tenant's ``latency_ms``.
Windows are fixed and aligned: window ``k`` covers ``[k*W, (k+1)*W)`` seconds of the monotonic
clock since the tenant was configured, for every identity. A 429 consumes no allowance.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Final

from standin import shapes

ACCESS_KEYS: Final[tuple[str, ...]] = (
    "oauth_clients",
    "token_ttl",
    "oauth_required",
    "block_public",
    "ip_limit",
    "client_limit",
    "limit_429_shape",
    "ratelimit_headers",
)
SHAPES_429: Final[tuple[str, ...]] = ("json", "html", "alternate")
DEFAULT_TOKEN_TTL: Final[int] = 86400

_JSON: Final[dict[str, str]] = {"Content-Type": shapes.JSON_CONTENT_TYPE}
_HTML: Final[str] = shapes.HTML_CONTENT_TYPE
B_UNAUTHORIZED: Final[bytes] = shapes.dumps({"message": "Unauthorized", "error": 401})
B_TOO_MANY: Final[bytes] = shapes.dumps({"message": "Too Many Requests", "error": 429})
_INVALID_TOKEN: Final[dict[str, str]] = {
    **_JSON,
    "www-authenticate": 'Bearer realm="reddit", error="invalid_token"',
}
BLOCKED_HTML: Final[bytes] = (
    b"<!DOCTYPE html>\n<html>\n  <head>\n    <title>Blocked</title>\n  </head>\n  <body>\n"
    b"    <h1>You've been blocked by network security.</h1>\n"
    b"    <p>To continue, log in to your Reddit account or use your developer token.</p>\n"
    b"    <p>If you think you've been blocked by mistake, file a ticket below and we'll look "
    b"into it.</p>\n"
    b'    <p><a href="https://www.reddit.com/login/">Log in</a> '
    b'<a href="https://support.reddithelp.com/hc/en-us/requests/new">File a ticket</a></p>\n'
    b"  </body>\n</html>\n"
)


class AccessConfigError(ValueError):
    """Invalid access configuration."""


def whoa_html(seconds: int) -> bytes:
    """The HTML 429 page ("whoa there, pardner!") telling to wait ``seconds``."""
    return (
        "\n<!doctype html>\n<html>\n  <head>\n    <title>Too Many Requests</title>\n"
        "    <style>\n      body {\n          font: small verdana, arial, helvetica, sans-serif;\n"
        "          width: 600px;\n          margin: 0 auto;\n      }\n\n      h1 {\n"
        "          height: 40px;\n          background: transparent "
        "url(//www.redditstatic.com/reddit.com.header.png) no-repeat scroll top right;\n"
        "      }\n    </style>\n  </head>\n  <body>\n    <h1>whoa there, pardner!</h1>\n    \n\n\n"
        "<p>we're sorry, but you appear to be a bot and we've seen too many requests\n"
        "from you lately. we enforce a hard speed limit on requests that appear to come\n"
        "from bots to prevent abuse.</p>\n\n"
        "<p>if you are not a bot but are spoofing one via your browser's user agent\n"
        "string: please change your user agent string to avoid seeing this message\n"
        "again.</p>\n\n"
        f"<p>please wait {seconds} second(s) and try again.</p>\n\n"
        "    <p>as a reminder to developers, we recommend that clients make no\n"
        '    more than <a href="http://github.com/reddit/reddit/wiki/API">one\n'
        "    request every two seconds</a> to avoid seeing this message.</p>\n"
        "  </body>\n</html>\n"
    ).encode()


# -- config --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``limit`` requests per fixed ``window`` seconds."""

    limit: int
    window: float

    def as_json(self) -> dict[str, Any]:
        window = int(self.window) if self.window.is_integer() else self.window
        return {"limit": self.limit, "window": window}


@dataclass(frozen=True, slots=True)
class AccessConfig:
    """Validated access keys of a tenant config."""

    oauth_clients: dict[str, str] = field(default_factory=dict)
    token_ttl: int = DEFAULT_TOKEN_TTL
    oauth_required: bool = True
    block_public: bool = False
    ip_limit: RateLimit | None = None
    client_limit: RateLimit | None = None
    limit_429_shape: str = "json"
    ratelimit_headers: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "oauth_clients": dict(self.oauth_clients),
            "token_ttl": self.token_ttl,
            "oauth_required": self.oauth_required,
            "block_public": self.block_public,
            "ip_limit": self.ip_limit.as_json() if self.ip_limit else None,
            "client_limit": self.client_limit.as_json() if self.client_limit else None,
            "limit_429_shape": self.limit_429_shape,
            "ratelimit_headers": self.ratelimit_headers,
        }


def _bool(cfg: dict[str, Any], key: str, default: bool) -> bool:
    value = cfg.get(key, default)
    if not isinstance(value, bool):
        raise AccessConfigError(f"{key} must be true or false")
    return value


def _rate_limit(value: Any, key: str) -> RateLimit | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"limit", "window"}:
        raise AccessConfigError(f'{key} must be null or {{"limit": n, "window": seconds}}')
    limit, window = value["limit"], value["window"]
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10**9:
        raise AccessConfigError(f"{key}.limit must be an integer in [1, 1000000000]")
    if isinstance(window, bool) or not isinstance(window, int | float) or not 0 < window <= 1e6:
        raise AccessConfigError(f"{key}.window must be a number of seconds in (0, 1000000]")
    return RateLimit(limit, float(window))


def parse_access(cfg: dict[str, Any]) -> AccessConfig:
    """Validate the access keys (:data:`ACCESS_KEYS`) of a tenant config."""
    clients = cfg.get("oauth_clients", {})
    if not isinstance(clients, dict) or not all(
        isinstance(k, str) and k and ":" not in k and isinstance(v, str) and v
        for k, v in clients.items()
    ):
        raise AccessConfigError("oauth_clients must map client ids (no ':') to secrets")
    ttl = cfg.get("token_ttl", DEFAULT_TOKEN_TTL)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= 10**8:
        raise AccessConfigError("token_ttl must be an integer number of seconds in [1, 1e8]")
    shape = cfg.get("limit_429_shape", "json")
    if shape not in SHAPES_429:
        raise AccessConfigError(f"limit_429_shape must be one of {list(SHAPES_429)}")
    headers = cfg.get("ratelimit_headers")
    return AccessConfig(
        oauth_clients=dict(clients),
        token_ttl=ttl,
        oauth_required=_bool(cfg, "oauth_required", True),
        block_public=_bool(cfg, "block_public", False),
        ip_limit=_rate_limit(cfg.get("ip_limit"), "ip_limit"),
        client_limit=_rate_limit(cfg.get("client_limit"), "client_limit"),
        limit_429_shape=shape,
        ratelimit_headers=True if headers is None else _bool(cfg, "ratelimit_headers", True),
    )


# -- state ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Token:
    """An issued application-only token."""

    token: str
    client_id: str
    issued: float  # epoch seconds
    expires: float  # epoch seconds
    expires_mono: float  # time.monotonic() of expiry

    def as_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "client_id": self.client_id,
            "issued": self.issued,
            "expires": self.expires,
        }


@dataclass(slots=True)
class Gate:
    """Outcome of the access checks of one request.

    ``response`` is ``(status, body, headers)`` when the request is answered here (403 block,
    401, 429); ``headers`` are the x-ratelimit headers to add to the normal answer otherwise.
    """

    host: str
    client_id: str | None = None
    token_ok: bool | None = None
    limited: bool = False
    identity: str | None = None
    window_left: float | None = None  # exact seconds to the end of the counted window
    headers: dict[str, str] = field(default_factory=dict)
    response: tuple[int, bytes, dict[str, str]] | None = None


def basic_client(authorization: str) -> tuple[str, str] | None:
    """``(client_id, secret)`` of an HTTP basic ``Authorization`` header, or None."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def bearer_token(authorization: str) -> str | None:
    """The token of a ``bearer <token>`` ``Authorization`` header (scheme case-insensitive)."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


class AccessState:
    """Tokens, window counters and the 429 shape alternation of one tenant."""

    def __init__(self, config: AccessConfig, tokens: dict[str, Token] | None = None) -> None:
        self.config = config
        self.t0 = time.monotonic()
        self.tokens: dict[str, Token] = {} if tokens is None else tokens
        self._counts: dict[str, tuple[int, int]] = {}  # identity -> (window index, used)
        self._n429 = 0

    # -- rate limits -------------------------------------------------------------------
    def _count(self, gate: Gate, identity: str, limit: RateLimit, now: float) -> None:
        """Count a request of ``identity`` under ``limit``; fill ``gate`` (429 or headers)."""
        elapsed = now - self.t0
        index = int(elapsed // limit.window)
        reset = max(1, math.ceil((index + 1) * limit.window - elapsed))
        window, used = self._counts.get(identity, (index, 0))
        if window != index:
            used = 0
        gate.identity = identity
        gate.window_left = (index + 1) * limit.window - elapsed
        if used >= limit.limit:
            gate.limited = True
            gate.response = self._too_many(reset)
            return
        used += 1
        self._counts[identity] = (index, used)
        if self.config.ratelimit_headers:
            gate.headers = {
                "x-ratelimit-used": str(used),
                "x-ratelimit-remaining": f"{limit.limit - used:.1f}",
                "x-ratelimit-reset": str(reset),
            }

    def _too_many(self, reset: int) -> tuple[int, bytes, dict[str, str]]:
        shape = self.config.limit_429_shape
        if shape == "alternate":
            shape = "json" if self._n429 % 2 == 0 else "html"
        self._n429 += 1
        if shape == "json":
            return 429, B_TOO_MANY, _JSON
        return 429, whoa_html(reset), {"Content-Type": _HTML, "retry-after": str(reset)}

    # -- checks ------------------------------------------------------------------------
    def admit(self, host: str, ip: str, authorization: str, now: float) -> Gate:
        """Run the checks of ``host`` for a request from ``ip`` at monotonic time ``now``."""
        cfg = self.config
        gate = Gate(host)
        if host == "oauth":
            token = bearer_token(authorization)
            entry = self.tokens.get(token) if token else None
            valid = (
                entry is not None
                and now < entry.expires_mono
                and entry.client_id in cfg.oauth_clients
            )
            gate.token_ok = valid if token else (False if cfg.oauth_required else None)
            if not valid:
                if cfg.oauth_required:
                    gate.response = (401, B_UNAUTHORIZED, _INVALID_TOKEN)
                return gate
            assert entry is not None
            gate.client_id = entry.client_id
            if cfg.client_limit is not None:
                self._count(gate, "client:" + entry.client_id, cfg.client_limit, now)
            return gate
        if host == "auth":
            creds = basic_client(authorization)
            gate.client_id = creds[0] if creds else None
        elif cfg.block_public:
            gate.response = (403, BLOCKED_HTML, {"Content-Type": _HTML})
            return gate
        if cfg.ip_limit is not None:
            self._count(gate, "ip:" + ip, cfg.ip_limit, now)
        return gate

    def issue(self, gate: Gate, authorization: str, form: Any) -> tuple[int, bytes, dict[str, str]]:
        """Answer the token endpoint (POST) after :meth:`admit` let the request through."""
        creds = basic_client(authorization)
        secret = self.config.oauth_clients.get(creds[0]) if creds else None
        if creds is None or secret is None or not secrets.compare_digest(creds[1], secret):
            gate.token_ok = False
            return 401, B_UNAUTHORIZED, _JSON
        if form.get("grant_type") != "client_credentials":
            gate.token_ok = False
            return 200, shapes.dumps({"error": "unsupported_grant_type"}), _JSON
        ttl = self.config.token_ttl
        issued, mono = time.time(), time.monotonic()
        token = secrets.token_urlsafe(24)
        self.tokens[token] = Token(token, creds[0], issued, issued + ttl, mono + ttl)
        gate.token_ok = True
        body = {"access_token": token, "token_type": "bearer", "expires_in": ttl, "scope": "*"}
        return 200, shapes.dumps(body), _JSON

    def expire_tokens(self) -> int:
        """Expire every token of the tenant now; return how many were still valid."""
        now, mono = time.time(), time.monotonic()
        n = 0
        for entry in self.tokens.values():
            if entry.expires_mono > mono:
                n += 1
                entry.expires, entry.expires_mono = now, mono
        return n
