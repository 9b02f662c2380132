-- Refresh runs and hand review of subreddits.

-- When the subreddit's last successful crawl ended: its state was read (any status but
-- 'failed') and no part failed. Kept by the crawler's upsert; refresh=stale picks the
-- subreddits where it is older than stale_after (or null: never crawled successfully).
ALTER TABLE subreddits ADD COLUMN last_ok_at timestamptz;
UPDATE subreddits SET last_ok_at = crawled_at WHERE status <> 'failed' AND failed_parts = '{}';
CREATE INDEX subreddits_last_ok_at_idx ON subreddits (last_ok_at NULLS FIRST);

-- Free text set by people, never by the crawler (e.g. 'Ok', 'No Seller'). Subreddits whose
-- review status is in the SKIP_REVIEW_STATUSES setting (compared case-insensitively) are
-- not crawled again:
--   UPDATE subreddits SET review_status = 'No Seller' WHERE name = 'somesub';
ALTER TABLE subreddits ADD COLUMN review_status text;
CREATE INDEX subreddits_review_status_idx ON subreddits (lower(btrim(review_status)))
    WHERE review_status IS NOT NULL;
