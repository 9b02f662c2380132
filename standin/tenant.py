"""Tenant configuration and request log of the stand-in.

A tenant config is any subset of :data:`CONFIG_KEYS`: the world parameters (``seed``,
``n_subreddits``, ``n_users``, ``posts_per_user``), latencies (``latency_ms``,
``latency_ms_by_endpoint``), the access keys of :mod:`standin.access` and ``faults``
(:mod:`standin.faults`). :func:`parse_config`
validates it into a :class:`Tenant`, which also holds the tenant's request log, access
state (tokens, rate-limit windows) and fault state (attempts per request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from standin.access import ACCESS_KEYS, AccessConfig, AccessConfigError, AccessState, parse_access
from standin.faults import FaultConfig, FaultConfigError, FaultState, parse_faults
from standin.truth import ENDPOINT_KINDS
from standin.world import MIN_SUBREDDITS, MIN_USERS, World, WorldParams, get_world

CONFIG_KEYS: Final[tuple[str, ...]] = (
    "seed",
    "n_subreddits",
    "n_users",
    "posts_per_user",
    "latency_ms",
    "latency_ms_by_endpoint",
    "faults",
    *ACCESS_KEYS,
)


class ConfigError(ValueError):
    """Invalid tenant configuration."""


@dataclass(slots=True)
class LogEntry:
    """One logged Reddit request (admin calls are not logged; tokens and secrets never are)."""

    method: str
    path: str  # the Reddit path, without the tenant and host prefixes
    query: dict[str, str]
    status: int
    time: float  # epoch seconds of arrival
    user_agent: str
    client_ip: str
    host: str  # "www" | "oauth" | "auth"
    client_id: str | None
    token_ok: bool | None
    limited: bool
    identity: str | None
    proxy_authorization_seen: bool
    window_left: float | None = None  # exact seconds to the end of the rate-limit window
    # While the tenant injects faults (standin.faults), each Reddit GET is counted: its
    # attempt number (per path + query) and the injected fault, if any. Both appear in
    # as_json() only for counted requests, so fault-free logs keep their shape.
    fault: str | None = None
    attempt: int = 0

    def as_json(self) -> dict[str, Any]:
        counted = {"fault": self.fault, "attempt": self.attempt} if self.attempt else {}
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "time": self.time,
            "user_agent": self.user_agent,
            "client_ip": self.client_ip,
            "host": self.host,
            "client_id": self.client_id,
            "token_ok": self.token_ok,
            "limited": self.limited,
            "identity": self.identity,
            "proxy_authorization_seen": self.proxy_authorization_seen,
            "window_left": self.window_left,
            **counted,
        }


@dataclass(slots=True)
class Tenant:
    """Per-tenant config, request log and access state."""

    name: str
    params: WorldParams = field(default_factory=WorldParams)
    latency_ms: float = 0.0
    latency_ms_by_endpoint: dict[str, float] = field(default_factory=dict)
    access: AccessState = field(default_factory=lambda: AccessState(AccessConfig()))
    log: list[LogEntry] = field(default_factory=list)
    faults: FaultState = field(default_factory=FaultState)
    _world: World | None = None

    def world(self) -> World:
        """The tenant's world (held while the tenant exists; shared by equal params)."""
        world = self._world
        if world is None:
            world = self._world = get_world(self.params)
        return world

    def latency(self, kind: str) -> float:
        """Seconds to wait for an endpoint kind (per-endpoint value overrides latency_ms)."""
        ms = self.latency_ms_by_endpoint.get(kind, self.latency_ms)
        return ms / 1000.0

    def config(self) -> dict[str, Any]:
        """The effective config (``faults`` only when the tenant set it)."""
        faults = self.faults.config
        return {
            "seed": self.params.seed,
            "n_subreddits": self.params.n_subreddits,
            "n_users": self.params.n_users,
            "posts_per_user": list(self.params.posts_per_user),
            "latency_ms": self.latency_ms,
            "latency_ms_by_endpoint": dict(self.latency_ms_by_endpoint),
            **self.access.config.as_json(),
            **({"faults": faults.as_json()} if faults != FaultConfig() else {}),
        }


def _int(cfg: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    value = cfg.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{key} must be an integer in [{lo}, {hi}]")
    return value


def _ms(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 600_000:
        raise ConfigError(f"{key} must be a number of milliseconds in [0, 600000]")
    return float(value)


def parse_config(name: str, cfg: Any) -> Tenant:
    """Validate a tenant config (any subset of :data:`CONFIG_KEYS`) into a :class:`Tenant`."""
    if not isinstance(cfg, dict):
        raise ConfigError("config must be a JSON object")
    unknown = [k for k in cfg if k not in CONFIG_KEYS]
    if unknown:
        raise ConfigError(f"unknown config keys: {unknown}; known: {list(CONFIG_KEYS)}")
    d = WorldParams()
    seed = _int(cfg, "seed", d.seed, -(2**63), 2**63 - 1)
    n_subs = _int(cfg, "n_subreddits", d.n_subreddits, MIN_SUBREDDITS, 5000)
    n_users = _int(cfg, "n_users", d.n_users, MIN_USERS, 50_000)
    ppu = cfg.get("posts_per_user", list(d.posts_per_user))
    if (
        not isinstance(ppu, list | tuple)
        or len(ppu) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in ppu)
        or not 0 <= ppu[0] <= ppu[1] <= 1000
    ):
        raise ConfigError("posts_per_user must be [lo, hi] with 0 <= lo <= hi <= 1000")
    latency = _ms(cfg.get("latency_ms", 0), "latency_ms")
    by_kind_raw = cfg.get("latency_ms_by_endpoint", {})
    if not isinstance(by_kind_raw, dict):
        raise ConfigError("latency_ms_by_endpoint must be an object")
    by_kind: dict[str, float] = {}
    for kind, value in by_kind_raw.items():
        if kind not in ENDPOINT_KINDS:
            raise ConfigError(f"unknown endpoint kind {kind!r}; known: {list(ENDPOINT_KINDS)}")
        by_kind[kind] = _ms(value, f"latency_ms_by_endpoint.{kind}")
    try:
        access = parse_access(cfg)
    except AccessConfigError as exc:
        raise ConfigError(str(exc)) from None
    try:
        faults = parse_faults(cfg.get("faults"))
    except FaultConfigError as exc:
        raise ConfigError(str(exc)) from None
    params = WorldParams(seed, n_subs, n_users, (ppu[0], ppu[1]))
    return Tenant(name, params, latency, by_kind, AccessState(access), faults=FaultState(faults))
