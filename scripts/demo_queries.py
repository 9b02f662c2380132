"""The end of ``make demo``: counts read back from PostgreSQL and a few example queries."""

from __future__ import annotations

import psycopg

#: The tables a crawl writes rows to (tests/test_storage_e2e.py checks their counts too).
TABLES = [
    "subreddits",
    "subreddit_rules",
    "subreddit_snapshots",
    "posts",
    "users",
    "user_activity",
    "subreddit_discoveries",
    "crawl_runs",
]

QUERIES = {
    "largest subreddits": (
        "SELECT display_name, subscribers, status FROM subreddits "
        "WHERE subscribers IS NOT NULL ORDER BY subscribers DESC LIMIT 5"
    ),
    "related to r/python (shared active users)": (
        "SELECT related, shared_users FROM related_subreddits WHERE subreddit = 'python' LIMIT 5"
    ),
    "subreddit states": "SELECT status, count(*) FROM subreddits GROUP BY status ORDER BY 2 DESC",
    "latest runs": (
        "SELECT id, started_at::timestamp(0), finish_reason, (stats->>'item_scraped_count')::int "
        "FROM crawl_runs ORDER BY id DESC LIMIT 3"
    ),
}


def print_queries(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        print("\nrows in PostgreSQL:")
        for table in TABLES:
            (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone() or (0,)
            print(f"  {table:<22} {count}")
        for title, query in QUERIES.items():
            print(f"\n{title}:\n  {query}")
            for row in conn.execute(query):
                print("   ", " | ".join(str(value) for value in row))
