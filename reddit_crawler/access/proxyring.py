"""Round-robin over healthy proxies, with dead-proxy backoff and revival.

A proxy that fails (connection error, 407, a block page) is dead for
``base * 2**(failures-1)`` seconds (capped), then tried again; one success makes it healthy.
Pure logic on an injected clock; reads no settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from reddit_crawler.access.proxylist import ProxyEntry


@dataclass
class ProxyState:
    entry: ProxyEntry
    failures: int = 0
    dead_until: float = 0.0
    blocked: bool = False  # answered Reddit's block page for unauthenticated access

    def healthy(self, now: float) -> bool:
        return now >= self.dead_until


class ProxyRing:
    def __init__(self, entries: list[ProxyEntry], base: float = 5.0, cap: float = 300.0) -> None:
        self.states = [ProxyState(entry) for entry in entries]
        self.by_key = {state.entry.key: state for state in self.states}
        self.base = base
        self.cap = cap
        self._cursor = 0

    def __len__(self) -> int:
        return len(self.states)

    def rotation(self) -> list[ProxyState]:
        """All proxies, starting with the one whose turn it is."""
        cut = self._cursor % len(self.states) if self.states else 0
        return self.states[cut:] + self.states[:cut]

    def advance_past(self, state: ProxyState) -> None:
        self._cursor = self.states.index(state) + 1

    def next_healthy(self, now: float) -> ProxyState | None:
        for state in self.rotation():
            if state.healthy(now):
                self.advance_past(state)
                return state
        return None

    def soonest_revival(self, now: float) -> float:
        return min((s.dead_until - now for s in self.states), default=0.0)

    def failed(self, state: ProxyState, now: float) -> float:
        state.failures += 1
        delay = min(self.base * 2 ** (state.failures - 1), self.cap)
        state.dead_until = now + delay
        return delay

    def succeeded(self, state: ProxyState) -> None:
        state.failures = 0
        state.dead_until = 0.0
        state.blocked = False

    def all_blocked(self) -> bool:
        return bool(self.states) and all(s.blocked for s in self.states)
