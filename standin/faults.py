"""Fault injection of the stand-in: deterministic bad answers to Reddit requests.

Configured per tenant by the ``faults`` key of the tenant config (``PUT /_standin/tenants/<t>``)::

    {"faults": {"rate": 0.1, "kinds": ["500", "reset", "slow"], "seed": 1,
                "attempts": 1, "match": "^/r/python/", "slow_ms": 5000}}

- ``rate`` (0..1): the share of distinct requests (Reddit path + query) that fault;
- ``kinds`` (default: all of :data:`FAULT_KINDS`): what a faulting request gets;
- ``seed`` (default 0): another seed chooses other requests and kinds;
- ``attempts`` (default 1; ``null``: every attempt): a chosen request faults on its first
  ``attempts`` attempts and is answered normally after, so a retry can succeed;
- ``match`` (default: every request): a regular expression searched in the Reddit path; only
  matching requests can fault (e.g. ``"^/r/python/"`` with ``rate`` 1 and ``attempts`` null
  makes one subreddit fail for good);
- ``slow_ms`` (default 5000): how long a ``slow`` answer waits before it is sent.

The decision is a pure function of ``(seed, path + sorted query, attempt number)``
(:meth:`FaultConfig.decide`): whether a request is chosen depends on the seed and the request
only, its kind on the attempt too, so retries see varied faults. Attempts are counted per
tenant and request in :class:`FaultState`. Only Reddit GETs admitted by the access checks can
fault (never the token endpoint, answers of :mod:`standin.access` or admin calls). A fault is
recorded in the request log entry's ``fault`` field (the kind, or null).

Kinds:

- ``500``, ``502``, ``503``: Reddit's JSON error body (``{"message": …, "error": 500}``);
  502 and 503 as the CDN's HTML pages;
- ``reset``: the headers announce the whole body, half of it is sent, then the connection is
  aborted (the client sees a connection lost mid-body);
- ``truncated``: a 200 whose JSON body is cut in half (consistent Content-Length);
- ``html``: a 200 ``text/html`` maintenance page where JSON was expected;
- ``empty``: a 200 with an empty body;
- ``slow``: the real answer, sent after ``slow_ms`` (longer than the client's timeout);
- ``login``: a 302 to ``/login/?dest=<url>`` (what Reddit does for pages it will not show
  logged-out);
- ``over18``: a 302 to ``/over18?dest=<url>`` (the over-18 interstitial);
- ``garbage``: a 200 with random bytes (seeded) as body.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Final

FAULT_KINDS: Final[tuple[str, ...]] = (
    "500",
    "502",
    "503",
    "reset",
    "truncated",
    "html",
    "empty",
    "slow",
    "login",
    "over18",
    "garbage",
)
FAULT_KEYS: Final[tuple[str, ...]] = ("rate", "kinds", "seed", "attempts", "match", "slow_ms")
DEFAULT_SLOW_MS: Final[float] = 5000.0
_SCALE: Final[float] = float(2**64)

JSON_500: Final[bytes] = b'{"message": "Internal Server Error", "error": 500}'
HTML_502: Final[bytes] = (
    b"<!DOCTYPE html><html><head><title>reddit.com: bad gateway</title></head><body>"
    b"<h1>Bad gateway</h1><p>Our CDN was unable to reach our servers. Please try again in a "
    b"few minutes.</p></body></html>\n"
)
HTML_503: Final[bytes] = (
    b"<!DOCTYPE html><html><head><title>Reddit - Service Unavailable</title></head><body>"
    b"<h1>all of our servers are busy right now</h1><p>please try again in a minute</p>"
    b"<p>(error code: 503)</p></body></html>\n"
)
MAINTENANCE_HTML: Final[bytes] = (
    b"<!DOCTYPE html>\n<html>\n  <head>\n    <title>reddit is down for maintenance</title>\n"
    b"  </head>\n  <body>\n    <h1>reddit is down for maintenance.</h1>\n"
    b"    <p>we'll be back up in a few minutes. thanks for your patience.</p>\n"
    b"  </body>\n</html>\n"
)


class FaultConfigError(ValueError):
    """Invalid ``faults`` configuration."""


def _unit(*parts: object) -> float:
    """A number in [0, 1) from the parts (stable across processes: no ``hash()``)."""
    digest = hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def request_key(path: str, query: Any) -> str:
    """The identity of a request for faults: its Reddit path and sorted query."""
    items = sorted((str(k), str(v)) for k, v in dict(query).items())
    return path + "?" + "&".join(f"{k}={v}" for k, v in items)


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """A tenant's fault configuration (see the module docstring)."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 0
    attempts: int | None = 1
    match: str | None = None
    slow_ms: float = DEFAULT_SLOW_MS

    @property
    def enabled(self) -> bool:
        return self.rate > 0 and bool(self.kinds)

    def chosen(self, key: str) -> bool:
        """Whether the request ``key`` (see :func:`request_key`) is one that faults."""
        if not self.enabled:
            return False
        if self.match is not None and not re.search(self.match, key.split("?", 1)[0]):
            return False
        return self.rate >= 1 or _unit(self.seed, "chosen", key) < self.rate

    def decide(self, key: str, attempt: int) -> str | None:
        """The fault of attempt ``attempt`` (from 1) of request ``key``, or None."""
        if not self.chosen(key):
            return None
        if self.attempts is not None and attempt > self.attempts:
            return None
        index = int(_unit(self.seed, "kind", key, attempt) * len(self.kinds))
        return self.kinds[index]

    def garbage(self, key: str, attempt: int, size: int = 512) -> bytes:
        """Seeded random bytes that are not JSON (start with a byte no JSON starts with)."""
        out = bytearray(b"\xff\xfe")
        counter = 0
        while len(out) < size:
            out += hashlib.blake2b(
                repr((self.seed, "garbage", key, attempt, counter)).encode(), digest_size=64
            ).digest()
            counter += 1
        return bytes(out[:size])

    def as_json(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "kinds": list(self.kinds),
            "seed": self.seed,
            "attempts": self.attempts,
            "match": self.match,
            "slow_ms": self.slow_ms,
        }


def parse_faults(raw: Any) -> FaultConfig:
    """Validate the ``faults`` value of a tenant config (``None`` or ``{}``: no faults)."""
    if raw is None:
        return FaultConfig()
    if not isinstance(raw, dict):
        raise FaultConfigError("faults must be an object")
    unknown = [k for k in raw if k not in FAULT_KEYS]
    if unknown:
        raise FaultConfigError(f"unknown faults keys: {unknown}; known: {list(FAULT_KEYS)}")
    rate = raw.get("rate", 0.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise FaultConfigError("faults.rate must be a number in [0, 1]")
    kinds = raw.get("kinds", list(FAULT_KINDS))
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise FaultConfigError("faults.kinds must be a list of strings")
    bad = [k for k in kinds if k not in FAULT_KINDS]
    if bad:
        raise FaultConfigError(f"unknown fault kinds {bad}; known: {list(FAULT_KINDS)}")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise FaultConfigError("faults.seed must be an integer")
    attempts = raw.get("attempts", 1)
    if attempts is not None and (
        isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1
    ):
        raise FaultConfigError("faults.attempts must be a positive integer or null")
    match = raw.get("match")
    if match is not None:
        if not isinstance(match, str):
            raise FaultConfigError("faults.match must be a regular expression")
        try:
            re.compile(match)
        except re.error as exc:
            raise FaultConfigError(f"faults.match is not a regular expression: {exc}") from None
    slow_ms = raw.get("slow_ms", DEFAULT_SLOW_MS)
    if (
        isinstance(slow_ms, bool)
        or not isinstance(slow_ms, int | float)
        or not 0 <= slow_ms <= 600_000
    ):
        raise FaultConfigError("faults.slow_ms must be a number of milliseconds in [0, 600000]")
    return FaultConfig(float(rate), tuple(kinds), seed, attempts, match, float(slow_ms))


@dataclass(slots=True)
class FaultState:
    """A tenant's fault config and the attempts counted per request."""

    config: FaultConfig = field(default_factory=FaultConfig)
    attempts: dict[str, int] = field(default_factory=dict)

    def next(self, path: str, query: Any) -> tuple[str, int, str | None]:
        """Count one attempt of a request: ``(key, attempt number, fault or None)``; attempts
        are counted only while faults are on (``("", 0, None)`` otherwise)."""
        if not self.config.enabled:
            return "", 0, None
        key = request_key(path, query)
        attempt = self.attempts.get(key, 0) + 1
        self.attempts[key] = attempt
        return key, attempt, self.config.decide(key, attempt)
