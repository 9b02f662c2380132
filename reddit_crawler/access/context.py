"""The access state of one crawl, shared by the downloader middlewares.

Built once per crawler from its settings (see :mod:`reddit_crawler.access.mode` and
:mod:`reddit_crawler.access.proxylist`); the middlewares find it with
:func:`access_context`. Settings read: ``REDDIT_DEFAULT_RATE`` (requests per minute per
identity when Reddit sends no rate-limit headers, default 100; 0: no pacing),
``REDDIT_PROBE_REQUESTS`` (requests per identity before its first answer, default 10),
``REDDIT_RATE_SPREAD``
(default False), ``PROXY_BACKOFF_BASE`` (seconds, default 5), ``PROXY_BACKOFF_MAX``
(seconds, default 300), plus those of the two modules above.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from scrapy.crawler import Crawler

from reddit_crawler.access.allowance import Allowance
from reddit_crawler.access.mode import Access, access_from_settings
from reddit_crawler.access.pool import Identity, IdentityPool
from reddit_crawler.access.proxylist import proxies_from_settings
from reddit_crawler.access.proxyring import ProxyRing, ProxyState

_CONTEXTS: weakref.WeakKeyDictionary[Crawler, AccessContext] = weakref.WeakKeyDictionary()


@dataclass
class AccessContext:
    access: Access
    ring: ProxyRing
    pool: IdentityPool

    def proxy_of(self, identity_key: str) -> ProxyState | None:
        identity = self.pool.by_key.get(identity_key)
        return identity.proxy if identity is not None else None


def _allowance(crawler: Crawler) -> Allowance:
    settings = crawler.settings
    return Allowance(
        default_rate=settings.getfloat("REDDIT_DEFAULT_RATE", 100.0),
        probe=max(settings.getint("REDDIT_PROBE_REQUESTS", 10), 1),
        spread=settings.getbool("REDDIT_RATE_SPREAD", False),
    )


def build_context(crawler: Crawler) -> AccessContext:
    settings = crawler.settings
    access = access_from_settings(settings)
    ring = ProxyRing(
        proxies_from_settings(settings),
        base=settings.getfloat("PROXY_BACKOFF_BASE", 5.0),
        cap=settings.getfloat("PROXY_BACKOFF_MAX", 300.0),
    )
    if access.mode == "oauth":
        identities = [Identity(f"client:{access.client_id}", _allowance(crawler))]
    elif len(ring):
        identities = [Identity(f"proxy:{s.entry.key}", _allowance(crawler), s) for s in ring.states]
    else:
        identities = [Identity("direct", _allowance(crawler))]
    return AccessContext(access, ring, IdentityPool(identities))


def access_context(crawler: Crawler) -> AccessContext:
    """The crawl's access context, built on first use (raises ConfigError on bad settings)."""
    context = _CONTEXTS.get(crawler)
    if context is None:
        context = _CONTEXTS[crawler] = build_context(crawler)
    return context
