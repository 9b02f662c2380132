"""Hostile names and SQL: data never becomes SQL, and names that are not names never become URLs.

- Names full of quotes, semicolons, ``--``, ``'); DROP TABLE posts; --``, backslashes,
  placeholders and unicode go through the PostgreSQL pipeline, the refresh queries and
  ``scrapy report`` verbatim, and every table survives.
- No module of the package builds SQL text from data with f-strings, ``%`` or ``.format``
  (an AST scan; ``psycopg.sql`` composition and module-level constant fragments are allowed;
  the write path's schema-built statements are checked to hold plain identifiers only).
- A real crawl of a fixture Reddit whose posts name invalid subreddits and authors counts and
  logs them, stores the posts verbatim, and never requests them.
"""

from __future__ import annotations

import ast
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
import pytest_twisted

from reddit_crawler.commands.report import ReportError, report
from reddit_crawler.db.queries import fresh_users, refresh_candidates, review_skipped
from reddit_crawler.items import ActivityItem, DiscoveryItem, SubredditItem, UserItem
from reddit_crawler.pipelines import tables
from reddit_crawler.plan import CrawlPlan
from reddit_crawler.units import UserUnit, select_users
from tests import pg
from tests.crawl import run_crawl
from tests.test_pipeline_postgres import (
    T0,
    TABLES,
    ItemsSpider,
    assert_accounted,
    post,
    settings_for,
    stat,
)

PACKAGE = Path(__file__).resolve().parent.parent / "reddit_crawler"
DATA = Path(__file__).resolve().parent / "data"
HOSTILE = [
    "O'Brien",
    'say "hi"',
    "semi;colon",
    "dash -- dash",
    "'); DROP TABLE posts; --",
    "Robert'); DELETE FROM users WHERE ('1'='1",
    "back\\slash\\' \\x00",
    "%s %(name)s {0} $1 $$",
    "ünï 🐍 שלום مرحبا",
    "*/ /* ; COMMIT; DROP TABLE subreddits",
]


def tables_intact(dsn: str) -> None:
    for table in TABLES:
        assert pg.scalar(dsn, "SELECT to_regclass(%s) IS NOT NULL", [table]), table


class HostileArgsSpider(ItemsSpider):
    def __init__(self, script: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(script, **kwargs)
        self.crawl_args = {"subs": HOSTILE[4], "note": HOSTILE[5]}


def hostile_items() -> list[Any]:
    items: list[Any] = []
    for i, name in enumerate(HOSTILE):
        items += [
            SubredditItem(
                name=name,
                status="failed",
                depth=0,
                crawled_at=T0,
                title=name,
                failed_parts=[f"about: {name}"],
            ),
            post(f"p{i}", name, name, T0, title=name, selftext=name, listings=[("hot", 1)]),
            UserItem(name=name, status="ok", crawled_at=T0),
            ActivityItem(name, name, 1, T0),
            DiscoveryItem(name, "python", name, T0),
        ]
    return items


@pytest_twisted.inlineCallbacks
def test_hostile_names_are_stored_and_queried_verbatim(dsn: str, tmp_path: Path) -> Iterator[Any]:
    from scrapy.crawler import CrawlerRunner

    runner = CrawlerRunner(settings_for(dsn, tmp_path))
    crawler = runner.create_crawler(HostileArgsSpider)
    yield runner.crawl(crawler, script=hostile_items())
    assert_accounted(crawler)
    assert stat(crawler, "postgres/deadletter") == 0
    tables_intact(dsn)
    n = len(HOSTILE)
    for table in ("subreddits", "posts", "users", "user_activity", "subreddit_discoveries"):
        assert pg.scalar(dsn, f"SELECT count(*) FROM {table}") == n, table
    for i, name in enumerate(HOSTILE):
        assert pg.query(
            dsn,
            "SELECT display_name, title, failed_parts FROM subreddits WHERE name = %s",
            [name.lower()],
        ) == [(name, name, [f"about: {name}"])]
        assert pg.query(
            dsn,
            "SELECT subreddit_name, author, title, selftext FROM posts WHERE id = %s",
            [f"p{i}"],
        ) == [(name, name, name, name)]
        assert pg.query(dsn, "SELECT display_name FROM users WHERE name = %s", [name.lower()]) == [
            (name,)
        ]
    args = pg.scalar(dsn, "SELECT args FROM crawl_runs")
    assert args == {"subs": HOSTILE[4], "note": HOSTILE[5]}

    # The refresh queries take and give hostile values as values.
    victim = HOSTILE[5]
    pg.execute(
        dsn,
        "UPDATE subreddits SET review_status = %s WHERE name = %s",
        [victim, HOSTILE[4].lower()],
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        candidates = refresh_candidates(conn, 3600, (victim.lower(),), 100)
        assert sorted(c.name for c in candidates) == sorted(h for h in HOSTILE if h != HOSTILE[4])
        assert all(c.failed for c in candidates)
        assert review_skipped(conn, (victim.lower(), HOSTILE[2])) == {HOSTILE[4].lower(): victim}
        users = fresh_users(conn, 10**10)
        assert users == {name.lower(): (name,) for name in HOSTILE}
    # scrapy report: the arguments shown as text; a hostile --subreddit is refused as a name.
    text = report(dsn, 5)
    assert "note=Robert'); DELETE FROM users WHERE ('1'='1" in text
    with pytest.raises(ReportError, match="invalid subreddit name"):
        report(dsn, 5, subreddit=HOSTILE[4])
    tables_intact(dsn)
    assert pg.scalar(dsn, "SELECT count(*) FROM posts") == n


# -- the AST scan ---------------------------------------------------------------------------------
SQL = re.compile(
    r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|CREATE|DROP|ALTER|COPY|TRUNCATE|WHERE|VALUES|"
    r"ON CONFLICT)\b"
)
# The write path's statements are built once, at import, from the code's own schema (table and
# column names in reddit_crawler/pipelines/rows.py); test_schema_statements_hold_identifiers_only
# checks they hold nothing else. Elsewhere a Table's statements and staging name may be used.
SCHEMA_BUILDERS = {"reddit_crawler/pipelines/tables.py"}
TABLE_ATTRIBUTES = {"staging", "upsert", "copy", "create_staging"}


def _constants(tree: ast.Module) -> set[str]:
    """Module-level names bound to constant strings (or f-strings of such names)."""
    known: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if _is_constant(node.value, known):
                known |= {t.id for t in targets if isinstance(t, ast.Name)}
    return known


def _is_constant(node: ast.expr, known: set[str]) -> bool:
    if isinstance(node, ast.Attribute) and node.attr in TABLE_ATTRIBUTES:
        return True  # a Table's schema-built text (checked below)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | int | float)
    if isinstance(node, ast.Name):
        return node.id in known
    if isinstance(node, ast.JoinedStr):
        return all(
            _is_constant(v.value if isinstance(v, ast.FormattedValue) else v, known)
            for v in node.values
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_constant(node.left, known) and _is_constant(node.right, known)
    return False


def _sql_text(node: ast.expr, known: dict[str, str]) -> str | None:
    """The literal text of a string expression (constant parts only), if it looks like SQL."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.Name) and node.id in known:
        text = known[node.id]
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    else:
        return None
    return text if SQL.search(text) else None


def sql_from_data(source: str) -> list[tuple[int, str]]:
    """(line, snippet) of each SQL text built by formatting in something not a constant."""
    tree = ast.parse(source)
    constants = _constants(tree)
    texts = {
        t.id: n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        and isinstance(n.value, ast.Constant)
        and isinstance(n.value.value, str)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        bad = False
        if isinstance(node, ast.JoinedStr) and _sql_text(node, texts):
            bad = not _is_constant(node, constants)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
            sides = (node.left, node.right) if isinstance(node.op, ast.Add) else (node.left,)
            if any(_sql_text(side, texts) for side in sides):
                bad = not _is_constant(node, constants)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and _sql_text(node.func.value, texts)
        ):
            bad = True  # str.format on SQL text (psycopg's sql.SQL(...).format is a Call receiver)
        if bad:
            found.append((node.lineno, ast.unparse(node)[:120]))
    return found


def test_no_sql_is_built_from_data() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).as_posix()
        if rel in SCHEMA_BUILDERS:
            continue
        for line, snippet in sql_from_data(path.read_text(encoding="utf-8")):
            offenders.append(f"{rel}:{line}: {snippet}")
    assert offenders == []


def test_schema_statements_hold_identifiers_only() -> None:
    identifier = re.compile(r"[a-z_][a-z0-9_]*")
    assert tables.TABLES
    for table in tables.TABLES.values():
        for name in (table.name, table.staging, *table.columns, *table.key):
            assert identifier.fullmatch(name), name
        for statement in (table.upsert, table.create_staging, table.copy):
            # The only literal a statement holds is the status 'failed'; no placeholder.
            assert set(re.findall(r"'[^']*'", statement)) <= {"'failed'"}, statement
            assert "%" not in statement and "$" not in statement and ";" not in statement


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("conn.execute(f\"SELECT * FROM posts WHERE id = '{pid}'\")", True),
        ("conn.execute(\"DELETE FROM users WHERE name = '%s'\" % name)", True),
        ('conn.execute("UPDATE t SET a = {}".format(value))', True),
        ('conn.execute("SELECT 1 FROM t WHERE a = \'" + value + "\'")', True),
        ('Q = "INSERT INTO t VALUES ({})"\nconn.execute(Q.format(v))', True),
        ('sql.SQL(f"DROP TABLE {name}")', True),
        ('conn.execute("SELECT 1 FROM t WHERE a = %s", [value])', False),
        ('sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))', False),
        ('_F = "(a = 1)"\nQ = f"SELECT 1 FROM t WHERE {_F}"', False),
        ('log.info(f"crawled {n} subreddits")', False),
        ('conn.execute(f"TRUNCATE {table.staging}")', False),
        ('conn.execute(f"TRUNCATE {table.name}")', True),
    ],
)
def test_the_scan_tells_data_from_constants(source: str, flagged: bool) -> None:
    assert bool(sql_from_data(source)) is flagged


# -- invalid names in Reddit's data ---------------------------------------------------------------
def test_units_list_invalid_names_once() -> None:
    hot = [
        {"author": "ok_user"},
        {"author": "bad name!"},
        {"author": "[deleted]"},
        {"author": None},
        {"author": "bad name!"},
        {"author": "'); DROP TABLE users; --"},
    ]
    invalid: list[str] = []
    assert select_users({"hot": hot}, 10, invalid) == ["ok_user"]
    assert invalid == ["bad name!", "'); DROP TABLE users; --"]
    plan = CrawlPlan(seeds=["x"], user_posts=10)
    unit = UserUnit("ok_user", plan)
    unit.posts = [
        {"id": "a", "subreddit": "good_sub"},
        {"id": "b", "subreddit": "not a sub"},
        {"id": "c", "subreddit": "not a sub"},
        {"id": "d", "subreddit": "u_ok_user", "subreddit_type": "user"},
        {"id": "e", "subreddit": "x"},
        {"id": "f"},
    ]
    items = unit.build(T0)
    assert unit.subs == ["good_sub"]
    assert unit.rejected == [("subreddit", "not a sub"), ("subreddit", "x")]
    posts = {i.id: i.subreddit for i in items if getattr(i, "kind", "") == "post"}
    assert posts == {
        "a": "good_sub",
        "b": "not a sub",
        "c": "not a sub",
        "d": "u_ok_user",
        "e": "x",
    }


# -- invalid names in Reddit's data: a fixture Reddit over HTTP ------------------------------------
BAD_SUBS = ["Reef Aquaria'; DROP TABLE subreddits; --", "../../api/v1/me"]
BAD_AUTHORS = ["'); DROP TABLE users; --", "bad name!"]


def _json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


class FixtureReddit(BaseHTTPRequestHandler):
    """tidepoolkeepers from tests/data, with invalid names in its posts; other subreddits 404."""

    paths: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        self.paths.append(self.path)
        parts = path.strip("/").split("/")
        body: Any = {"message": "Not Found", "error": 404}
        status = 404
        if parts[0] == "r" and parts[1].lower() == "tidepoolkeepers":
            status = 200
            if parts[2:] == ["about.json"]:
                body = _json("subreddit_about.json")
            elif parts[2:] == ["about", "rules.json"]:
                body = _json("subreddit_rules.json")
            else:
                body = _json("listing_hot.json")
                body["data"]["after"] = None
                children = body["data"]["children"]
                children[-1]["data"]["author"] = BAD_AUTHORS[0]
                children[-2]["data"]["author"] = BAD_AUTHORS[1]
        elif parts[0] == "user":
            status = 200
            if parts[2] == "about.json":
                body = _json("user_about.json")
                body["data"]["name"] = parts[1]
            else:
                body = _json("user_submitted.json")
                body["data"]["after"] = None
                for child in body["data"]["children"]:
                    post = child["data"]
                    post["author"] = parts[1]
                    post["id"] = f"{post['id']}{parts[1].lower()}"
                    if post["subreddit"] == "ReefAquaria":
                        post["subreddit"] = BAD_SUBS[0]
                    elif post["subreddit"] == "SaltwaterTanks":
                        post["subreddit"] = BAD_SUBS[1]
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def fixture_reddit() -> Iterator[tuple[str, list[str]]]:
    paths: list[str] = []
    handler = type("Handler", (FixtureReddit,), {"paths": paths})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", paths
    server.shutdown()
    server.server_close()


def test_invalid_names_in_reddit_data_are_counted_and_never_requested(
    fixture_reddit: tuple[str, list[str]], dsn: str, tmp_path: Path
) -> None:
    base_url, paths = fixture_reddit
    result = run_crawl(
        base_url,
        tmp_path,
        {"subs": "tidepoolkeepers", "users_per_sub": 10, "depth": 1},
        {"POSTGRES_ENABLED": "true", "POSTGRES_DSN": dsn},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    users = sorted(u["name"] for u in result.by_kind("user"))
    assert users == ["KelpWarden", "Nudibranch-Nora", "anemone_fan", "urchin_counter"]
    # Never requested: every request is a valid subreddit or user of the data.
    requested = {urllib.parse.unquote(p.split("?")[0]).split("/")[2] for p in paths}
    assert requested == {"tidepoolkeepers", *users, "reefaquaria", "Nudibranchs"}
    for bad in (*BAD_SUBS, *BAD_AUTHORS):
        assert not [p for p in paths if bad in urllib.parse.unquote(p)]
    # Recorded: a stat and a warning per name and unit that met it.
    assert result.stats["reddit/invalid_name/user"] == len(BAD_AUTHORS)
    assert result.stats["reddit/invalid_name/subreddit"] == len(BAD_SUBS) * len(users)
    for bad in BAD_AUTHORS:
        assert f"invalid user name {bad!r} in its posts: not crawled" in result.stderr
    for bad in BAD_SUBS:
        assert f"invalid subreddit name {bad!r} in its posts: not crawled" in result.stderr
    assert "Traceback" not in result.stderr and " ERROR: " not in result.stderr
    # Not discovered, not an activity edge; the posts themselves are kept verbatim.
    found = {d["subreddit"] for d in result.by_kind("discovery")}
    assert found == {"Nudibranchs", "reefaquaria"}
    assert not {e["subreddit"] for e in result.by_kind("activity")} & set(BAD_SUBS)
    stored = {r[0] for r in pg.query(dsn, "SELECT DISTINCT subreddit_name FROM posts")}
    assert set(BAD_SUBS) <= stored
    authors = {r[0] for r in pg.query(dsn, "SELECT DISTINCT author FROM posts")}
    assert set(BAD_AUTHORS) <= authors
    tables_intact(dsn)
