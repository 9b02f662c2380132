"""Bad input from users: each case runs a real ``scrapy crawl`` and must end with one clear
``error:`` line naming the bad value (passwords masked), exit status 2, and no request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.crawl import run_crawl

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("bad name", {"subs": "python,no spaces"}, {}, "invalid subreddit name: 'no spaces'"),
    ("too long", {"subs": "a" * 30}, {}, "invalid subreddit name: '" + "a" * 30 + "'"),
    ("url of a user", {"subs": "https://www.reddit.com/user/x"}, {}, "invalid subreddit name"),
    ("no subs", {}, {}, "no subreddits to crawl"),
    ("missing file", {"subs_file": "/nonexistent/subs.txt"}, {}, "subs_file not found"),
    ("negative size", {"subs": "python", "hot": "-5"}, {}, "hot must be between 0 and 1000"),
    ("non-numeric", {"subs": "python", "users_per_sub": "lots"}, {}, "users_per_sub must be a"),
    ("depth range", {"subs": "python", "depth": "11"}, {}, "depth must be between 0 and 10"),
    ("max_subs zero", {"subs": "python", "max_subs": "0"}, {}, "max_subs must be between 1"),
    (
        "malformed proxy",
        {"subs": "python"},
        {"PROXY_LIST": "bob:hunter2@host"},
        "malformed proxy entry 'bob:***@host'",
    ),
    (
        "oauth without secret",
        {"subs": "python"},
        {"REDDIT_AUTH": "oauth", "REDDIT_CLIENT_ID": "cid"},
        "REDDIT_AUTH=oauth needs REDDIT_CLIENT_SECRET",
    ),
    ("unknown auth mode", {"subs": "python"}, {"REDDIT_AUTH": "magic"}, "REDDIT_AUTH must be"),
    (
        "unparsable DSN",
        {"subs": "python"},
        {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": "postgresql://u:hunter2@host:notaport/db"},
        "postgresql://u:***@host:notaport/db",
    ),
    (
        "unknown refresh",
        {"refresh": "everything"},
        {"POSTGRES_ENABLED": "true"},
        "unknown refresh value 'everything'",
    ),
    ("bad duration", {"subs": "python", "stale_after": "12x"}, {}, "stale_after must be"),
]


@pytest.mark.parametrize(
    ("args", "settings", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_stops_before_any_request(
    tenant: Tenant, tmp_path: Path, args: dict[str, Any], settings: dict[str, Any], message: str
) -> None:
    result = run_crawl(tenant.base_url, tmp_path, args, settings)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2, result.stderr[-1500:]
    assert len(errors) == 1, errors
    assert message in errors[0]
    assert "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr
    assert tenant.requests() == []


def test_empty_subs_file(tenant: Tenant, tmp_path: Path) -> None:
    empty = tmp_path / "subs.txt"
    empty.write_text("# only a comment\n\n")
    result = run_crawl(tenant.base_url, tmp_path, {"subs_file": str(empty)})
    assert result.returncode == 2
    assert f"error: subs_file has no subreddit names: {empty}" in result.stderr
    assert tenant.requests() == []
