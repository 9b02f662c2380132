"""Tests of DSN handling, database creation, migrations and ``scrapy migrate``.

They run against the real local PostgreSQL, each in its own throw-away database
(``tests/pg.py``); ``scrapy migrate`` runs as a subprocess in the project directory.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

from reddit_crawler.db import (
    DatabaseUnavailable,
    MigrationError,
    check_database,
    ensure_database,
    load_migrations,
    mask_dsn,
    migrate,
    prepare_database,
    resolve_dsn,
)
from tests import pg

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = [m.version for m in load_migrations()]
SECRET = "hunter2"


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(ROOT)}
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, **kwargs
    )


# -- DSNs --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dsn", "masked"),
    [
        ("postgresql://u:hunter2@db:5432/reddit", "postgresql://u:***@db:5432/reddit"),
        (
            "postgres://u:hun@ter2@db/reddit?sslmode=require",
            "postgres://u:***@db/reddit?sslmode=require",
        ),
        (
            "postgresql://u@db/reddit?password=hunter2&x=1",
            "postgresql://u@db/reddit?password=***&x=1",
        ),
        ("host=db user=u password=hunter2 dbname=r", "host=db user=u password=*** dbname=r"),
        ("host=db password='hun ter2' dbname=r", "host=db password=*** dbname=r"),
        ("postgresql:///reddit", "postgresql:///reddit"),
    ],
)
def test_mask_dsn(dsn: str, masked: str) -> None:
    assert mask_dsn(dsn) == masked


def test_resolve_dsn_precedence() -> None:
    env = {"DATABASE_URL": "postgresql://env/db"}
    assert resolve_dsn({"POSTGRES_DSN": "postgresql://set/db"}, env) == "postgresql://set/db"
    assert resolve_dsn({"POSTGRES_DSN": None}, env) == "postgresql://env/db"
    assert resolve_dsn({}, {}) == "postgresql:///reddit"


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://rc_user:{SECRET}@127.0.0.1:1/reddit",  # nothing listens
        f"host=127.0.0.1 port=1 user=rc_user password={SECRET} dbname=reddit",
        f"postgresql://rc_no_such_role:{SECRET}@127.0.0.1:5432/postgres",  # bad credentials
    ],
)
def test_unreachable_or_refused_gives_one_masked_line(dsn: str) -> None:
    for check in (check_database, ensure_database, prepare_database):
        with pytest.raises(DatabaseUnavailable) as caught:
            check(dsn)
        message = str(caught.value)
        assert message.startswith(f"PostgreSQL unavailable at {mask_dsn(dsn)}: ")
        assert "\n" not in message and SECRET not in message


def test_missing_database_is_created() -> None:
    with pg.unused_database() as dsn:
        assert ensure_database(dsn) is True
        assert ensure_database(dsn) is False
        assert pg.scalar(dsn, "SELECT current_database()").startswith(pg.PREFIX)


# -- migrations -------------------------------------------------------------------------------
def test_migrations_apply_once_and_are_recorded() -> None:
    with pg.throwaway_database(migrated=False) as dsn:
        assert [m.version for m in migrate(dsn)] == VERSIONS
        assert migrate(dsn) == []
        recorded = pg.query(dsn, "SELECT version FROM schema_migrations ORDER BY 1")
        assert [v for (v,) in recorded] == VERSIONS
        tables = pg.query(dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert sorted(t for (t,) in tables) == [
            "crawl_runs", "posts", "proxies", "schema_migrations", "subreddit_discoveries",
            "subreddit_rules", "subreddit_snapshots", "subreddits", "user_activity", "users",
        ]  # fmt: skip
        views = pg.query(dsn, "SELECT viewname FROM pg_views WHERE schemaname = 'public'")
        assert sorted(v for (v,) in views) == [
            "post_listings",
            "related_subreddits",
            "subreddit_growth",
        ]
        assert pg.query(dsn, "SELECT * FROM related_subreddits WHERE subreddit = 'python'") == []


def test_concurrent_migrations_in_threads() -> None:
    with pg.throwaway_database(migrated=False) as dsn:
        barrier = threading.Barrier(4)
        applied: list[int] = []
        errors: list[BaseException] = []

        def worker() -> None:
            barrier.wait()
            try:
                applied.extend(m.version for m in migrate(dsn))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert sorted(applied) == VERSIONS  # each migration applied by exactly one thread
        assert pg.scalar(dsn, "SELECT count(*) FROM schema_migrations") == len(VERSIONS)


def test_concurrent_migrations_in_processes() -> None:
    code = "import sys; from reddit_crawler.db import migrate; print(len(migrate(sys.argv[1])))"
    with pg.throwaway_database(migrated=False) as dsn:
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, dsn], env=env, stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=60)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0]
        assert sorted(int(o) for o in outputs) == [0, len(VERSIONS)]


def test_changed_migration_is_refused() -> None:
    with pg.throwaway_database() as dsn:
        pg.query(
            dsn, "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1 RETURNING 1"
        )
        with pytest.raises(MigrationError, match="was changed after it was applied"):
            migrate(dsn)


def test_migrations_load_from_a_zipped_egg(tmp_path: Path) -> None:
    egg = tmp_path / "project.egg"
    with zipfile.ZipFile(egg, "w") as archive:
        for path in (ROOT / "reddit_crawler").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(ROOT).as_posix())
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import reddit_crawler.db.migrations as m;"
        "assert m.__file__.startswith(sys.argv[1]), m.__file__;"
        "print(','.join(x.name for x in m.load_migrations()))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(egg)], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ",".join(m.name for m in load_migrations())


# -- scrapy migrate -------------------------------------------------------------------------------
def test_scrapy_migrate_unreachable_fails_with_one_masked_line() -> None:
    dsn = f"postgresql://rc_user:{SECRET}@127.0.0.1:1/reddit"
    result = run([sys.executable, "-m", "scrapy", "migrate", "-s", f"POSTGRES_DSN={dsn}"])
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "error: PostgreSQL unavailable at postgresql://rc_user:***@127.0.0.1:1/"
    )
    assert SECRET not in result.stderr


def test_scrapy_migrate_creates_and_migrates() -> None:
    with pg.unused_database() as dsn:
        result = run([sys.executable, "-m", "scrapy", "migrate", "-s", f"POSTGRES_DSN={dsn}"])
        assert result.returncode == 0, result.stderr
        assert "created the database" in result.stdout
        assert pg.scalar(dsn, "SELECT max(version) FROM schema_migrations") == VERSIONS[-1]
        again = run([sys.executable, "-m", "scrapy", "migrate", "-s", f"POSTGRES_DSN={dsn}"])
        assert again.returncode == 0 and "applied migrations: none" in again.stdout


def test_posts_updates_can_be_hot() -> None:
    """A re-crawl rewrites no indexed column of posts, and pages keep room for new versions."""
    with pg.throwaway_database() as dsn:
        options = pg.scalar(dsn, "SELECT reloptions FROM pg_class WHERE relname = 'posts'")
        assert "fillfactor=50" in options
        indexed = pg.query(
            dsn,
            "SELECT DISTINCT a.attname::text FROM pg_index i"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
            " WHERE i.indrelid = 'posts'::regclass",
        )
        expressions = pg.scalar(
            dsn,
            "SELECT count(*) FROM pg_index WHERE indrelid = 'posts'::regclass"
            " AND (indexprs IS NOT NULL OR indpred IS NOT NULL)",
        )
        # what a post is; a re-crawl changes score, listings, crawled_at … but not these
        assert {name for (name,) in indexed} <= {"id", "subreddit", "created_utc"}
        assert expressions == 0
