"""Session-wide fixtures: the offline Reddit stand-in, one per test session, and a tenant
(own request log and world config) per test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from standin import client
from tests import pg
from tests.distributed import crawls, frontier, redis_conn  # noqa: F401  (fixtures)
from tests.proxies import fresh_proxy, proxy_factory, squid_proxies  # noqa: F401  (fixtures)
from tests.support import clean_env  # noqa: F401  (fixture)


@dataclass
class Tenant:
    root: str
    name: str

    @property
    def base_url(self) -> str:
        return client.tenant_url(self.root, self.name)

    @property
    def oauth_url(self) -> str:
        return client.oauth_url(self.root, self.name)

    def tokens(self) -> list[dict[str, Any]]:
        return client.get_tokens(self.root, self.name)

    def expire_tokens(self) -> int:
        return client.expire_tokens(self.root, self.name)

    def oauth_settings(
        self, client_id: str = "cid", secret: str = "s3cret-value"
    ) -> dict[str, str]:
        """Crawler settings for oauth mode against this tenant."""
        return {
            "REDDIT_CLIENT_ID": client_id,
            "REDDIT_CLIENT_SECRET": secret,
            "REDDIT_OAUTH_URL": self.oauth_url,
            "REDDIT_AUTH_URL": self.base_url,
        }

    def configure(self, **config: Any) -> None:
        client.configure(self.root, self.name, **config)

    def requests(self) -> list[dict[str, Any]]:
        return client.get_requests(self.root, self.name)

    def truth(self, subs: list[str], **params: int) -> dict[str, Any]:
        return client.truth(self.root, self.name, subs, **params)

    def world(self) -> dict[str, Any]:
        return client.world_summary(self.root, self.name)


@pytest.fixture(scope="session")
def standin_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    proc, base_url = client.start_standin(tmp_path_factory.mktemp("standin"))
    yield base_url
    client.stop(proc)


@pytest.fixture
def tenant(standin_root: str, request: pytest.FixtureRequest) -> Tenant:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)[:64]
    client.reset(standin_root, name)
    return Tenant(standin_root, name)


@pytest.fixture
def dsn(request: pytest.FixtureRequest) -> Iterator[str]:
    """A throw-away PostgreSQL database for this test, dropped after. Migrated, unless the
    test module sets ``DSN_MIGRATED = False`` (the crawl's own start-up then migrates it)."""
    with pg.throwaway_database(migrated=getattr(request.module, "DSN_MIGRATED", True)) as name:
        yield name
