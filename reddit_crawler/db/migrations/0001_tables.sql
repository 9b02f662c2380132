-- Tables of the reddit crawler. Names of subreddits and users are stored lower-case in
-- their key columns (case-insensitive identity); display_name keeps Reddit's spelling.

CREATE TABLE crawl_runs (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    spider        text        NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    finish_reason text,
    args          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    stats         jsonb,
    hostname      text,
    pid           integer
);

CREATE TABLE subreddits (
    name                     text        PRIMARY KEY CHECK (name = lower(name)),
    display_name             text        NOT NULL,
    status                   text        NOT NULL CHECK (status IN ('ok', 'private', 'quarantined',
                                         'gated', 'banned', 'nonexistent', 'failed')),
    depth                    integer,
    reddit_id                text,
    title                    text,
    public_description       text,
    description              text,
    subscribers              bigint,
    active_users             bigint,
    created_utc              timestamptz,
    over18                   boolean,
    subreddit_type           text,
    lang                     text,
    url                      text,
    hot_count                integer,
    top_week_count           integer,
    top_year_count           integer,
    top_year_avg_score       double precision,
    top_year_median_score    double precision,
    top_year_avg_comments    double precision,
    top_year_median_comments double precision,
    failed_parts             text[]      NOT NULL DEFAULT '{}',
    first_seen_at            timestamptz NOT NULL,
    crawled_at               timestamptz NOT NULL,
    last_run_id              bigint
);
CREATE INDEX subreddits_status_idx ON subreddits (status);

CREATE TABLE subreddit_rules (
    subreddit        text        NOT NULL REFERENCES subreddits (name) ON DELETE CASCADE,
    position         integer     NOT NULL CHECK (position >= 0),
    priority         integer,
    short_name       text,
    kind             text,
    description      text,
    violation_reason text,
    created_utc      timestamptz,
    crawled_at       timestamptz NOT NULL,
    last_run_id      bigint,
    PRIMARY KEY (subreddit, position)
);

CREATE TABLE subreddit_snapshots (
    run_id       bigint      NOT NULL REFERENCES crawl_runs (id) ON DELETE CASCADE,
    subreddit    text        NOT NULL CHECK (subreddit = lower(subreddit)),
    status       text        NOT NULL,
    subscribers  bigint,
    active_users bigint,
    taken_at     timestamptz NOT NULL,
    PRIMARY KEY (run_id, subreddit)
);
CREATE INDEX subreddit_snapshots_subreddit_idx ON subreddit_snapshots (subreddit, taken_at);

CREATE TABLE posts (
    id              text        PRIMARY KEY,
    subreddit       text        NOT NULL CHECK (subreddit = lower(subreddit)),
    subreddit_name  text        NOT NULL,
    subreddit_id    text,
    subreddit_type  text,
    author          text,
    author_fullname text,
    title           text        NOT NULL,
    selftext        text        NOT NULL DEFAULT '',
    url             text,
    permalink       text,
    domain          text,
    score           integer,
    upvote_ratio    double precision,
    num_comments    integer,
    edited          boolean     NOT NULL DEFAULT false,
    edited_utc      timestamptz,
    over_18         boolean,
    spoiler         boolean,
    stickied        boolean,
    locked          boolean,
    is_self         boolean,
    link_flair_text text,
    created_utc     timestamptz,
    -- every listing and rank the post was seen at, over all crawls (a union), with the
    -- last time: {"hot:3": "2026-01-02T03:04:05+00:00", "top_week:1": "…"}; see the
    -- post_listings view for rows.
    listings        jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(listings) = 'object'),
    first_seen_at   timestamptz NOT NULL,
    crawled_at      timestamptz NOT NULL,
    last_run_id     bigint
) WITH (fillfactor = 90);  -- room for HOT updates when a post is crawled again
CREATE INDEX posts_subreddit_created_idx ON posts (subreddit, created_utc);

CREATE TABLE users (
    name               text        PRIMARY KEY CHECK (name = lower(name)),
    display_name       text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('ok', 'suspended', 'not_found',
                                   'private_posts', 'failed')),
    reddit_id          text,
    created_utc        timestamptz,
    link_karma         bigint,
    comment_karma      bigint,
    total_karma        bigint,
    is_gold            boolean,
    is_mod             boolean,
    verified           boolean,
    has_verified_email boolean,
    is_employee        boolean,
    posts_fetched      integer     NOT NULL DEFAULT 0 CHECK (posts_fetched >= 0),
    failed_parts       text[]      NOT NULL DEFAULT '{}',
    first_seen_at      timestamptz NOT NULL,
    crawled_at         timestamptz NOT NULL,
    last_run_id        bigint
);

-- Activity edges: username has post_count of their fetched posts in subreddit.
CREATE TABLE user_activity (
    username      text        NOT NULL CHECK (username = lower(username)),
    subreddit     text        NOT NULL CHECK (subreddit = lower(subreddit)),
    post_count    integer     NOT NULL CHECK (post_count >= 0),
    first_seen_at timestamptz NOT NULL,
    crawled_at    timestamptz NOT NULL,
    last_run_id   bigint,
    PRIMARY KEY (username, subreddit)
);
CREATE INDEX user_activity_subreddit_idx ON user_activity (subreddit, username);

-- subreddit was named in the posts of via_user, a user selected from from_subreddit.
CREATE TABLE subreddit_discoveries (
    subreddit      text        NOT NULL CHECK (subreddit = lower(subreddit)),
    from_subreddit text        NOT NULL CHECK (from_subreddit = lower(from_subreddit)),
    via_user       text        NOT NULL CHECK (via_user = lower(via_user)),
    subreddit_name text        NOT NULL,
    first_seen_at  timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    last_run_id    bigint,
    PRIMARY KEY (subreddit, from_subreddit, via_user)
);
CREATE INDEX subreddit_discoveries_from_idx ON subreddit_discoveries (from_subreddit);

-- Request outcomes per proxy, accumulated over runs. Host and port only: never credentials.
CREATE TABLE proxies (
    host              text        NOT NULL,
    port              integer     NOT NULL CHECK (port BETWEEN 0 AND 65535),
    success_count     bigint      NOT NULL DEFAULT 0,
    error_count       bigint      NOT NULL DEFAULT 0,
    ratelimited_count bigint      NOT NULL DEFAULT 0,  -- HTTP 429 answers
    blocked_count     bigint      NOT NULL DEFAULT 0,  -- Reddit's "blocked" page
    first_seen_at     timestamptz NOT NULL DEFAULT now(),
    last_used_at      timestamptz NOT NULL DEFAULT now(),
    last_run_id       bigint,
    PRIMARY KEY (host, port)
);
