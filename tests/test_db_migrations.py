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

import psycopg
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


# -- 0005: "C" collation of key columns ----------------------------------------------------------
# Every text column of a primary key or an index (review_status is indexed only through
# lower(btrim(review_status)): free text, left under the default collation).
KEY_COLUMNS = {
    ("posts", "id"), ("posts", "subreddit"),
    ("proxies", "host"),
    ("subreddit_discoveries", "from_subreddit"), ("subreddit_discoveries", "subreddit"),
    ("subreddit_discoveries", "via_user"),
    ("subreddit_rules", "subreddit"),
    ("subreddit_snapshots", "subreddit"),
    ("subreddits", "name"), ("subreddits", "status"),
    ("user_activity", "subreddit"), ("user_activity", "username"),
    ("users", "name"),
}  # fmt: skip
TEXT_COLUMN_COLLATIONS = """
SELECT c.relname::text, a.attname::text, coll.collname::text
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_collation coll ON coll.oid = a.attcollation
WHERE a.atttypid = 'text'::regtype AND a.attnum > 0 AND NOT a.attisdropped
"""
# Each text column of an index (expressions have attnum 0), with the index's collation.
INDEXED_TEXT_COLUMNS = """
SELECT c.relname::text, a.attname::text, coll.collname::text
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indcollation::oid[]) AS k (attnum, collid)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
JOIN pg_collation coll ON coll.oid = k.collid
WHERE a.atttypid = 'text'::regtype
"""
# A little of everything: python shares users with learnpython (2), django and rust (1 each).
SEED = """
INSERT INTO crawl_runs (spider) VALUES ('reddit'), ('reddit');
INSERT INTO subreddits (name, display_name, status, subscribers, first_seen_at, crawled_at,
                        last_ok_at, review_status)
VALUES ('python', 'Python', 'ok', 1200, '2026-01-01Z', '2026-01-02Z', '2026-01-02Z', NULL),
       ('learnpython', 'learnpython', 'ok', 800, '2026-01-01Z', '2026-01-02Z', NULL, ' Ok '),
       ('django', 'django', 'private', NULL, '2026-01-01Z', '2026-01-02Z', NULL, NULL),
       ('rust', 'rust', 'failed', NULL, '2026-01-01Z', '2026-01-02Z', NULL, 'No Seller');
INSERT INTO subreddit_rules (subreddit, position, short_name, crawled_at)
VALUES ('python', 0, 'Be nice', '2026-01-02Z'), ('python', 1, 'No spam', '2026-01-02Z'),
       ('rust', 0, 'Stay on topic', '2026-01-02Z');
INSERT INTO subreddit_snapshots (run_id, subreddit, status, subscribers, taken_at)
SELECT r.id, s.subreddit, 'ok', s.subscribers + 10 * r.id,
       '2026-01-01Z'::timestamptz + r.id * interval '1 day'
FROM crawl_runs r, (VALUES ('python', 1000), ('learnpython', 700)) AS s (subreddit, subscribers);
INSERT INTO posts (id, subreddit, subreddit_name, author, title, listings, first_seen_at,
                   crawled_at)
VALUES ('1abc2z', 'python', 'Python', 'Alice', 'PEP 8', '{"hot:1": "2026-01-02T00:00:00+00:00",
        "top_week:3": "2026-01-02T00:00:00+00:00"}', '2026-01-02Z', '2026-01-02Z'),
       ('1abc30', 'learnpython', 'learnpython', 'bob', 'Loops', '{"submitted:2":
        "2026-01-02T00:00:00+00:00"}', '2026-01-02Z', '2026-01-02Z'),
       ('zz9', 'rust', 'rust', NULL, 'Lifetimes', '{}', '2026-01-02Z', '2026-01-02Z');
INSERT INTO users (name, display_name, status, posts_fetched, first_seen_at, crawled_at)
VALUES ('alice', 'Alice', 'ok', 3, '2026-01-02Z', '2026-01-02Z'),
       ('bob', 'bob', 'ok', 2, '2026-01-02Z', '2026-01-02Z'),
       ('carol', 'Carol', 'suspended', 0, '2026-01-02Z', '2026-01-02Z');
INSERT INTO user_activity (username, subreddit, post_count, first_seen_at, crawled_at)
VALUES ('alice', 'python', 2, '2026-01-02Z', '2026-01-02Z'),
       ('alice', 'learnpython', 1, '2026-01-02Z', '2026-01-02Z'),
       ('alice', 'django', 1, '2026-01-02Z', '2026-01-02Z'),
       ('bob', 'python', 1, '2026-01-02Z', '2026-01-02Z'),
       ('bob', 'learnpython', 1, '2026-01-02Z', '2026-01-02Z'),
       ('carol', 'python', 1, '2026-01-02Z', '2026-01-02Z'),
       ('carol', 'rust', 4, '2026-01-02Z', '2026-01-02Z');
INSERT INTO subreddit_discoveries (subreddit, from_subreddit, via_user, subreddit_name,
                                   first_seen_at, last_seen_at)
VALUES ('learnpython', 'python', 'alice', 'learnpython', '2026-01-02Z', '2026-01-02Z'),
       ('django', 'python', 'alice', 'django', '2026-01-02Z', '2026-01-02Z'),
       ('rust', 'python', 'carol', 'rust', '2026-01-02Z', '2026-01-02Z');
INSERT INTO proxies (host, port, success_count) VALUES ('10.0.0.1', 3128, 5);
"""
PYTHON_RELATED = [
    ("python", "learnpython", 2, 1),
    ("python", "django", 1, 2),
    ("python", "rust", 1, 3),
]
RELATIONS = [
    "crawl_runs", "subreddits", "subreddit_rules", "subreddit_snapshots", "posts", "users",
    "user_activity", "subreddit_discoveries", "proxies",
    "related_subreddits", "subreddit_growth", "post_listings",
]  # fmt: skip


def contents(dsn: str) -> dict[str, Any]:
    """Every row of the tables and views (sorted, whatever the collation), and the
    related_subreddits view in its own order."""
    found: dict[str, Any] = {
        name: sorted(pg.query(dsn, f"SELECT * FROM {name}"), key=repr) for name in RELATIONS
    }
    found["related_subreddits (view order)"] = pg.query(dsn, "SELECT * FROM related_subreddits")
    return found


def test_key_columns_have_the_c_collation(dsn: str) -> None:
    collations = {(t, c): coll for t, c, coll in pg.query(dsn, TEXT_COLUMN_COLLATIONS)}
    assert {col for col, coll in collations.items() if coll == "C"} == KEY_COLUMNS
    assert collations[("subreddits", "review_status")] == "default"
    # every text column of an index or primary key, and the index itself, is "C"
    indexed = pg.query(dsn, INDEXED_TEXT_COLUMNS)
    assert {(t, c) for t, c, _ in indexed} == KEY_COLUMNS
    assert {coll for _, _, coll in indexed} == {"C"}
    review = pg.query(
        dsn,
        "SELECT coll.collname::text FROM pg_index i, unnest(i.indcollation::oid[]) AS k (collid)"
        " JOIN pg_collation coll ON coll.oid = k.collid"
        " WHERE i.indexrelid = 'subreddits_review_status_idx'::regclass",
    )
    assert review == [("default",)]  # lower(btrim(review_status)): untouched

    pg.execute(dsn, SEED)
    assert (
        pg.query(dsn, "SELECT * FROM related_subreddits WHERE subreddit = 'python' LIMIT 10")
        == PYTHON_RELATED
    )
    growth = pg.query(
        dsn,
        "SELECT run_id, subscribers, subscribers_delta FROM subreddit_growth"
        " WHERE subreddit = 'python' ORDER BY run_id",
    )
    assert growth == [(1, 1010, None), (2, 1020, 10)]
    listings = pg.query(
        dsn, "SELECT post_id, subreddit, listing, rank FROM post_listings ORDER BY 1, 3"
    )
    assert listings == [
        ("1abc2z", "python", "hot", 1),
        ("1abc2z", "python", "top_week", 3),
        ("1abc30", "learnpython", "submitted", 2),
    ]
    # the CHECKs are the same constraints, and still reject an upper-case name
    with pytest.raises(psycopg.errors.CheckViolation):
        pg.execute(
            dsn,
            "INSERT INTO users (name, display_name, status, first_seen_at, crawled_at)"
            " VALUES ('Dave', 'Dave', 'ok', now(), now())",
        )


def test_rules_foreign_key_survives_the_collation_change(dsn: str) -> None:
    fk = pg.query(
        dsn,
        "SELECT confrelid::regclass::text, confdeltype, convalidated FROM pg_constraint"
        " WHERE conrelid = 'subreddit_rules'::regclass AND contype = 'f'",
    )
    assert fk == [("subreddits", "c", True)]
    pg.execute(dsn, SEED)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        pg.execute(
            dsn,
            "INSERT INTO subreddit_rules (subreddit, position, crawled_at)"
            " VALUES ('nosuchsub', 0, now())",
        )
    assert pg.scalar(dsn, "SELECT count(*) FROM subreddit_rules WHERE subreddit = 'python'") == 2
    pg.execute(dsn, "DELETE FROM subreddits WHERE name = 'python'")
    assert pg.query(dsn, "SELECT subreddit, position FROM subreddit_rules") == [("rust", 0)]


def test_database_at_0004_with_data_migrates_to_0005(monkeypatch: pytest.MonkeyPatch) -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations][:5] == [1, 2, 3, 4, 5]
    with pg.throwaway_database(migrated=False) as dsn:
        # migrate() as it was before 0005 existed: same lock, transactions and records
        monkeypatch.setattr("reddit_crawler.db.migrations.load_migrations", lambda: migrations[:4])
        assert [m.version for m in migrate(dsn)] == [1, 2, 3, 4]
        monkeypatch.undo()
        pg.execute(dsn, SEED)
        collations = {(t, c): coll for t, c, coll in pg.query(dsn, TEXT_COLUMN_COLLATIONS)}
        assert set(collations.values()) == {"default"}
        before = contents(dsn)
        assert before["related_subreddits (view order)"][:3] == [
            ("django", "learnpython", 1, 1),
            ("django", "python", 1, 2),
            ("learnpython", "python", 2, 1),
        ]

        assert [m.version for m in migrate(dsn)] == VERSIONS[4:]
        assert contents(dsn) == before
        recorded = pg.query(dsn, "SELECT version, checksum FROM schema_migrations ORDER BY 1")
        assert recorded == [(m.version, m.checksum) for m in load_migrations()]
        collations = {(t, c): coll for t, c, coll in pg.query(dsn, TEXT_COLUMN_COLLATIONS)}
        assert {col for col, coll in collations.items() if coll == "C"} == KEY_COLUMNS
        assert migrate(dsn) == []
