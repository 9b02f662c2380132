-- Views over the crawled graph.

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
