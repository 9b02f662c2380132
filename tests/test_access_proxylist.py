"""Unit tests of the access configuration: :mod:`reddit_crawler.access.proxylist` (proxy
entries, masking) and :mod:`reddit_crawler.access.mode` (oauth or public, URLs)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from scrapy.settings import Settings

from reddit_crawler.access.mode import Access, access_from_settings
from reddit_crawler.access.proxylist import (
    ProxyEntry,
    mask_entry,
    parse_entry,
    parse_proxy_text,
    proxies_from_settings,
)
from reddit_crawler.errors import ConfigError

SECRET = "Sup3r-Secret_pw"

#: Every test runs without the crawler's own environment variables (tests/support.py).
pytestmark = pytest.mark.usefixtures("clean_env")


# -- entries --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("user:pass@host.example:3128", ProxyEntry("host.example", 3128, "user", "pass")),
        ("10.0.0.7:8080", ProxyEntry("10.0.0.7", 8080)),
        ("http://10.0.0.7:8080", ProxyEntry("10.0.0.7", 8080)),
        ("http://u-1:p.w!$%@proxy-1.example:1", ProxyEntry("proxy-1.example", 1, "u-1", "p.w!$%")),
        ("  user:pass@h:65535  ", ProxyEntry("h", 65535, "user", "pass")),
        ("user:@h:80", ProxyEntry("h", 80, "user", "")),
        ("[::1]:8888", ProxyEntry("[::1]", 8888)),
    ],
)
def test_parse_entry(raw: str, expected: ProxyEntry) -> None:
    entry = parse_entry(raw)
    assert entry == expected
    assert entry.password == expected.password


def test_entry_key_url_and_auth_header() -> None:
    entry = parse_entry(f"alice:{SECRET}@proxy.example:3128")
    assert entry.key == "proxy.example:3128"
    assert entry.url == "http://proxy.example:3128"
    assert entry.auth_header() == b"Basic " + base64.b64encode(f"alice:{SECRET}".encode())
    assert parse_entry("proxy.example:3128").auth_header() is None
    assert parse_entry("bob:@h:1").auth_header() == b"Basic " + base64.b64encode(b"bob:")


def test_entry_repr_and_str_never_show_the_password() -> None:
    entry = parse_entry(f"alice:{SECRET}@proxy.example:3128")
    for text in (repr(entry), str(entry), f"{entry}", f"{entry!r}", entry.url, entry.key):
        assert SECRET not in text
    assert str(entry) == "proxy.example:3128"
    assert "alice" in repr(entry)
    assert SECRET not in repr([entry, entry])


def test_parse_text_separators_comments_and_duplicates() -> None:
    text = f"""
    # proxies for the crawl
    alice:{SECRET}@a.example:1, b.example:2   # inline comment, b:9
    http://c.example:3,a.example:1

    b.example:2
    bob:other@a.example:1
    """
    entries = parse_proxy_text(text)
    assert [e.key for e in entries] == ["a.example:1", "b.example:2", "c.example:3"]
    assert entries[0].user == "alice"  # the first of duplicates wins
    assert parse_proxy_text("") == []
    assert parse_proxy_text("# nothing\n , ,\n") == []


@pytest.mark.parametrize(
    "raw",
    [
        f"alice:{SECRET}@host.example",  # no port
        f"alice:{SECRET}@host.example:0",
        f"alice:{SECRET}@host.example:70000",
        f"alice:{SECRET}@host.example:123456",
        f"alice:{SECRET}@host.example:port",
        "alice@host.example:8080",  # user without a password
        "host example:8080",
        f"alice:{SECRET}@host example:8080",
        f"http://alice:{SECRET}@:8080",
        f"ftp://alice:{SECRET}@[zz]:8080",
        "host.example:",
        ":8080",
    ],
)
def test_malformed_entries_raise_with_the_entry_masked(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_proxy_text(f"good.example:1\n{raw}\n")
    message = str(caught.value)
    assert SECRET not in message
    assert mask_entry(raw) in message
    if SECRET in raw:
        assert "***@" in message


@pytest.mark.parametrize(
    "raw",
    [
        f"ftp://alice:{SECRET}@host.example:21",
        f"socks5://alice:{SECRET}@host.example:1080",
        f"https://alice:{SECRET}@host.example:443",
    ],
)
def test_entries_with_another_scheme_are_rejected(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_entry(raw)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "password"),
    [
        ("alice:pass word@host.example:8080", "pass word"),
        ("alice:hunter2 @host.example:8080", "hunter2"),
        ("http://alice:pass word@host.example:8080", "pass word"),
        ("alice:p@ssw0rd@host.example:8080", "ssw0rd"),
    ],
)
def test_masking_hides_passwords_with_spaces_or_at_signs(raw: str, password: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_entry(raw)
    assert password not in str(caught.value)


def test_mask_entry() -> None:
    assert mask_entry(f" alice:{SECRET}@h:1 ") == "alice:***@h:1"
    masked = mask_entry(f"http://alice:{SECRET}@h:1")
    assert SECRET not in masked
    assert masked.endswith(":***@h:1")
    assert mask_entry("h:1") == "h:1"


# -- from settings --------------------------------------------------------------------------------


def test_proxies_from_settings_list_and_string() -> None:
    assert proxies_from_settings(Settings({"PROXY_LIST": ["a:1", "b:2"]})) == [
        ProxyEntry("a", 1),
        ProxyEntry("b", 2),
    ]
    assert [e.key for e in proxies_from_settings(Settings({"PROXY_LIST": "a:1,b:2"}))] == [
        "a:1",
        "b:2",
    ]
    assert proxies_from_settings(Settings({})) == []


def test_proxy_list_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROXY_LIST", f"alice:{SECRET}@env.example:3128,env2.example:1")
    entries = proxies_from_settings(Settings({}))
    assert [e.key for e in entries] == ["env.example:3128", "env2.example:1"]
    assert entries[0].password == SECRET
    # a setting wins over the environment
    assert [e.key for e in proxies_from_settings(Settings({"PROXY_LIST": "s:1"}))] == ["s:1"]


def test_proxy_list_env_var_with_a_bad_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROXY_LIST", f"alice:{SECRET}@env.example")
    with pytest.raises(ConfigError) as caught:
        proxies_from_settings(Settings({}))
    assert SECRET not in str(caught.value)


def test_proxy_file_is_read_and_joined_with_the_list(tmp_path: Path) -> None:
    path = tmp_path / "proxies.txt"
    path.write_text(f"# ours\nalice:{SECRET}@f1.example:1\nf2.example:2 # spare\na:1\n")
    entries = proxies_from_settings(Settings({"PROXY_LIST": "a:1", "PROXY_FILE": str(path)}))
    assert [e.key for e in entries] == ["a:1", "f1.example:1", "f2.example:2"]


def test_proxy_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.txt"
    path.write_text("f.example:9\n")
    monkeypatch.setenv("PROXY_FILE", str(path))
    assert [e.key for e in proxies_from_settings(Settings({}))] == ["f.example:9"]


def test_missing_proxy_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(ConfigError, match="PROXY_FILE") as caught:
        proxies_from_settings(Settings({"PROXY_FILE": str(missing)}))
    assert str(missing) in str(caught.value)
    with pytest.raises(ConfigError, match="PROXY_FILE"):
        proxies_from_settings(Settings({"PROXY_FILE": str(tmp_path)}))  # a directory


def test_bad_entry_in_proxy_file_is_masked(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text(f"ok.example:1\nalice:{SECRET}@bad.example:0\n")
    with pytest.raises(ConfigError) as caught:
        proxies_from_settings(Settings({"PROXY_FILE": str(path)}))
    assert SECRET not in str(caught.value)
    assert "bad.example:0" in str(caught.value)


# -- mode -----------------------------------------------------------------------------------------


def test_oauth_mode_when_id_and_secret_are_set() -> None:
    access = access_from_settings(
        Settings({"REDDIT_CLIENT_ID": "cid", "REDDIT_CLIENT_SECRET": SECRET})
    )
    assert access.mode == "oauth"
    assert access.client_id == "cid"
    assert access.client_secret == SECRET
    assert access.api_url == "https://oauth.reddit.com"
    assert access.auth_url == "https://www.reddit.com"


def test_oauth_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDDIT_CLIENT_ID", " cid ")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", SECRET)
    access = access_from_settings(Settings({}))
    assert access.mode == "oauth"
    assert access.client_id == "cid"
    assert access.client_secret == SECRET


@pytest.mark.parametrize(
    "settings",
    [{}, {"REDDIT_CLIENT_ID": "cid"}, {"REDDIT_CLIENT_SECRET": SECRET}, {"REDDIT_AUTH": ""}],
)
def test_public_mode_otherwise(settings: dict[str, str]) -> None:
    access = access_from_settings(Settings(settings))
    assert access.mode == "public"
    assert access.api_url == "https://www.reddit.com"


def test_public_mode_can_be_forced_with_credentials() -> None:
    access = access_from_settings(
        Settings({"REDDIT_AUTH": " Public ", "REDDIT_CLIENT_ID": "c", "REDDIT_CLIENT_SECRET": "s"})
    )
    assert access.mode == "public"
    assert access.api_url == "https://www.reddit.com"


def test_oauth_without_secret_names_the_missing_setting() -> None:
    with pytest.raises(ConfigError) as caught:
        access_from_settings(Settings({"REDDIT_AUTH": "oauth", "REDDIT_CLIENT_ID": "cid"}))
    assert "REDDIT_CLIENT_SECRET" in str(caught.value)
    with pytest.raises(ConfigError, match="REDDIT_CLIENT_ID"):
        access_from_settings(Settings({"REDDIT_AUTH": "OAUTH", "REDDIT_CLIENT_SECRET": SECRET}))


def test_oauth_config_errors_never_contain_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "   ")  # blank: not a secret
    for settings in (
        {"REDDIT_AUTH": "oauth", "REDDIT_CLIENT_SECRET": SECRET},
        {"REDDIT_AUTH": "oauth", "REDDIT_CLIENT_ID": "cid"},
        {"REDDIT_AUTH": "bogus", "REDDIT_CLIENT_ID": "cid", "REDDIT_CLIENT_SECRET": SECRET},
    ):
        with pytest.raises(ConfigError) as caught:
            access_from_settings(Settings(settings))
        assert SECRET not in str(caught.value)


@pytest.mark.parametrize("value", ["bogus", "basic", "0auth"])
def test_bad_reddit_auth_value(value: str) -> None:
    with pytest.raises(ConfigError, match="REDDIT_AUTH") as caught:
        access_from_settings(Settings({"REDDIT_AUTH": value}))
    assert value in str(caught.value)


def test_urls_per_mode_and_trailing_slashes() -> None:
    urls = {
        "REDDIT_BASE_URL": "http://127.0.0.1:9000/t/x/",
        "REDDIT_OAUTH_URL": "http://127.0.0.1:9001/t/x/",
        "REDDIT_USER_AGENT": "python:test:1.0 (by /u/me)",
    }
    public = access_from_settings(Settings(urls))
    assert public.api_url == "http://127.0.0.1:9000/t/x"
    assert public.auth_url == "http://127.0.0.1:9000/t/x"
    assert public.user_agent == "python:test:1.0 (by /u/me)"
    oauth = access_from_settings(
        Settings(
            {
                **urls,
                "REDDIT_CLIENT_ID": "c",
                "REDDIT_CLIENT_SECRET": "s",
                "REDDIT_AUTH_URL": "http://127.0.0.1:9002/",
            }
        )
    )
    assert oauth.api_url == "http://127.0.0.1:9001/t/x"
    assert oauth.auth_url == "http://127.0.0.1:9002"
    assert access_from_settings(Settings({})).user_agent == ""


def test_access_repr_hides_the_secret() -> None:
    access = access_from_settings(
        Settings({"REDDIT_CLIENT_ID": "cid", "REDDIT_CLIENT_SECRET": SECRET})
    )
    assert SECRET not in repr(access)
    assert SECRET not in str(access)
    assert "cid" in repr(access)
    assert SECRET not in repr(Access("oauth", "a", "b", "ua", "cid", SECRET))
