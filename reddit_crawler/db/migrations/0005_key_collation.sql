-- The "C" collation for the text columns of primary keys and indexes.
--
-- Under the database's default collation (C.UTF-8 here, or a language's) every B-tree
-- comparison of a text key goes through strcoll; under "C" it is a memcmp: about 7 % less
-- PostgreSQL CPU for the posts upsert. These are identifiers (lower-case subreddit and user
-- names, base36 post ids; subreddit statuses, proxy hosts) whose order has no linguistic
-- meaning. For UTF-8 text byte order is code point order, which is how C.UTF-8 sorts, so
-- under a C.UTF-8 default nothing sorts differently; under another default, ORDER BY on
-- these columns (and the views) now gives byte order. Equality is unchanged. lower() of a
-- "C" column folds only ASCII letters, which is all these names hold (the crawler
-- lower-cases them before writing). review_status stays as it is: free text, indexed
-- through lower(btrim(review_status)).
--
-- Only the collation changes: the tables are not rewritten, but every index on one of these
-- columns is rebuilt, under an ACCESS EXCLUSIVE lock on its table held until this migration
-- commits. Columns of one table are altered in one statement (its indexes rebuilt once);
-- both sides of the subreddit_rules -> subreddits foreign key change together. The views of
-- 0002 use these columns ("cannot alter type of a column used by a view"): they are dropped
-- first and created again, unchanged, at the end.

DROP VIEW related_subreddits;
DROP VIEW subreddit_growth;
DROP VIEW post_listings;

ALTER TABLE subreddits
    ALTER COLUMN name   TYPE text COLLATE "C",
    ALTER COLUMN status TYPE text COLLATE "C";
ALTER TABLE subreddit_rules
    ALTER COLUMN subreddit TYPE text COLLATE "C";
ALTER TABLE subreddit_snapshots
    ALTER COLUMN subreddit TYPE text COLLATE "C";
ALTER TABLE posts
    ALTER COLUMN id        TYPE text COLLATE "C",
    ALTER COLUMN subreddit TYPE text COLLATE "C";
ALTER TABLE users
    ALTER COLUMN name TYPE text COLLATE "C";
ALTER TABLE user_activity
    ALTER COLUMN username  TYPE text COLLATE "C",
    ALTER COLUMN subreddit TYPE text COLLATE "C";
ALTER TABLE subreddit_discoveries
    ALTER COLUMN subreddit      TYPE text COLLATE "C",
    ALTER COLUMN from_subreddit TYPE text COLLATE "C",
    ALTER COLUMN via_user       TYPE text COLLATE "C";
ALTER TABLE proxies
    ALTER COLUMN host TYPE text COLLATE "C";

-- The views of 0002, as they were.

-- For each subreddit, the other subreddits ranked by the number of distinct users with
-- activity edges to both. Filter on subreddit (lower-case name):
--   SELECT * FROM related_subreddits WHERE subreddit = 'python' LIMIT 10;
CREATE VIEW related_subreddits AS
SELECT subreddit,
       related,
       shared_users,
       row_number() OVER (PARTITION BY subreddit ORDER BY shared_users DESC, related) AS rank
FROM (
    SELECT a.subreddit, b.subreddit AS related, count(*) AS shared_users
    FROM user_activity a
    JOIN user_activity b ON b.username = a.username AND b.subreddit <> a.subreddit
    GROUP BY a.subreddit, b.subreddit
) AS pairs
ORDER BY subreddit, rank;

-- Subscribers and active users per subreddit per crawl run, with the change since the
-- subreddit's previous snapshot.
CREATE VIEW subreddit_growth AS
SELECT subreddit,
       run_id,
       taken_at,
       subscribers,
       active_users,
       subscribers - lag(subscribers) OVER w AS subscribers_delta,
       taken_at - lag(taken_at) OVER w AS since_previous
FROM subreddit_snapshots
WHERE subscribers IS NOT NULL
WINDOW w AS (PARTITION BY subreddit ORDER BY taken_at, run_id);

-- One row per (post, listing, rank) the post was seen at, from posts.listings.
CREATE VIEW post_listings AS
SELECT p.id AS post_id,
       p.subreddit,
       regexp_replace(l.key, ':[^:]*$', '') AS listing,
       substring(l.key FROM ':([0-9]+)$')::integer AS rank,
       l.value::timestamptz AS last_seen_at
FROM posts p, jsonb_each_text(p.listings) AS l;
