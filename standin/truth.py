"""Ground truth of a crawl plan over a stand-in :class:`~standin.world.World`.

:func:`expected_crawl` defines the crawl the crawler must perform exactly:

```
seeds = given names, deduplicated case-insensitively (first kept), first max_subs of them
level = seeds; crawled = {lower names of level}; fetched_users = {}
for d in 0..depth:
    candidates = []
    for S in level (in order):
        state(S) from about; if not ok: record status, no listings, no users; continue
        listings = hot[:hot], top week[:top_week], top year[:top_year] (paging beyond 100)
        posts += all posts of those listings
        users(S) = unique authors in order of first appearance over hot, then top week, then
                   top year, skipping "[deleted]" and "[removed]", case-insensitively unique,
                   first users_per_sub
        for U in users(S):
            fetch U once per crawl (status ok|suspended|not_found|private_posts)
            if U has a readable submitted listing: its first user_posts posts are collected
            subs_of(U) = unique subreddit names (case-insensitive, first appearance order) in
                         U's collected posts, excluding profile subreddits ("u_..."/type "user")
            edges += (U, X, number of U's collected posts in X) for X in subs_of(U)
            for X in subs_of(U): if X.lower() != S.lower():
                discovered += (X, S, U); candidates.append(X)
    if d == depth: break
    level = [X for X in candidates, dedup case-insensitively, if X.lower() not in crawled]
            [: max_subs - len(crawled)]
    crawled |= lower names of level
```

Conventions fixed here (the crawler must match them):

- ``edges`` and ``discovered`` are sets (a user selected by two subreddits adds its edges once;
  ``discovered`` keeps one entry per distinct ``(X, S, U)``), returned as sorted lists.
- ``requests``: every crawled subreddit costs 5 requests (about, rules, hot, top week, top year;
  sent together, so also for non-ok subreddits), plus one request per extra page when a size is
  above 100 and the listing continues (``after`` not null). Every distinct user costs 2 requests
  (about and submitted, sent together whatever the state) plus extra submitted pages when
  ``user_posts`` > 100 and the listing is readable and continues. A 302 for a nonexistent
  subreddit is NOT followed, so ``search`` is always 0.
- Listing sizes must be >= 1.
"""

from __future__ import annotations

from typing import Any

from standin.world import DELETED, REMOVED, Post, Subreddit, World

PAGE_MAX = 100
ENDPOINT_KINDS: tuple[str, ...] = (
    "sub_about",
    "sub_rules",
    "sub_hot",
    "sub_top",
    "user_about",
    "user_submitted",
    "search",
)


def pages_needed(available: int, wanted: int) -> int:
    """Requests needed to read ``wanted`` items of a listing of ``available`` items.

    Each page asks for at most 100; ``after`` is null once the listing has no more items.
    """
    pages = 0
    got = 0
    while True:
        pages += 1
        got += min(PAGE_MAX, wanted - got, available - got)
        if got >= wanted or got >= available:
            return pages


def _check_size(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be >= 1")


def _sub_name(post: Post) -> str:
    return post.sub_name


def expected_crawl(
    world: World,
    subs: list[str],
    users_per_sub: int = 25,
    depth: int = 0,
    max_subs: int = 1000,
    hot: int = 30,
    top_week: int = 10,
    top_year: int = 100,
    user_posts: int = 30,
) -> dict[str, Any]:
    """The exact result (and request counts) of a correct crawl of ``subs`` over ``world``."""
    for name, value in (
        ("hot", hot),
        ("top_week", top_week),
        ("top_year", top_year),
        ("user_posts", user_posts),
    ):
        _check_size(name, value)
    if users_per_sub < 0 or depth < 0 or max_subs < 0:
        raise ValueError("users_per_sub, depth and max_subs must be >= 0")

    requests = dict.fromkeys(ENDPOINT_KINDS, 0)
    sub_status: dict[str, str] = {}
    posts: set[str] = set()
    user_status: dict[str, str] = {}
    # lower user name -> collected posts (None if not readable)
    user_collected: dict[str, list[Post] | None] = {}
    edges: set[tuple[str, str, int]] = set()
    discovered: set[tuple[str, str, str]] = set()

    seen: dict[str, None] = {}
    level: list[str] = []
    for name in subs:
        if name.lower() not in seen:
            seen[name.lower()] = None
            level.append(name)
    level = level[:max_subs]
    crawled: dict[str, None] = {n.lower(): None for n in level}

    for d in range(depth + 1):
        candidates: list[str] = []
        for s_name in level:
            requests["sub_about"] += 1
            requests["sub_rules"] += 1
            requests["sub_hot"] += 1
            requests["sub_top"] += 2
            sub: Subreddit | None = world.lookup_sub(s_name)
            state = "nonexistent" if sub is None else sub.state
            sub_status[s_name.lower()] = state
            if sub is None or state != "ok":
                continue
            selected: list[Post] = []
            for kind, listing, size in (
                ("sub_hot", world.hot(sub), hot),
                ("sub_top", world.top(sub, "week"), top_week),
                ("sub_top", world.top(sub, "year"), top_year),
            ):
                requests[kind] += pages_needed(len(listing), size) - 1
                selected.extend(listing[:size])
            posts.update(p.id for p in selected)

            users: list[str] = []
            users_seen: dict[str, None] = {}
            for p in selected:
                if len(users) >= users_per_sub:
                    break
                if p.author in (DELETED, REMOVED) or p.author.lower() in users_seen:
                    continue
                users_seen[p.author.lower()] = None
                users.append(p.author)

            for u_name in users:
                key = u_name.lower()
                if key not in user_collected:
                    requests["user_about"] += 1
                    requests["user_submitted"] += 1
                    user = world.lookup_user(u_name)
                    status = "not_found" if user is None else user.state
                    user_status[u_name] = status
                    collected: list[Post] | None = None
                    if user is not None and status == "ok":
                        listing = world.submitted(user)
                        requests["user_submitted"] += pages_needed(len(listing), user_posts) - 1
                        collected = listing[:user_posts]
                        posts.update(p.id for p in collected)
                    user_collected[key] = collected
                collected = user_collected[key]
                if collected is None:
                    continue
                counts: dict[str, int] = {}
                first_name: dict[str, str] = {}
                for p in collected:
                    if p.is_profile:
                        continue
                    x = _sub_name(p)
                    if x.lower().startswith("u_"):
                        continue
                    if x.lower() not in first_name:
                        first_name[x.lower()] = x
                        counts[x.lower()] = 0
                    counts[x.lower()] += 1
                s_display = sub.name
                for low, x in first_name.items():
                    edges.add((u_name, x, counts[low]))
                    if low != s_display.lower():
                        discovered.add((x, s_display, u_name))
                        candidates.append(x)
        if d == depth:
            break
        next_level: list[str] = []
        next_seen: dict[str, None] = {}
        for x in candidates:
            low = x.lower()
            if low in next_seen or low in crawled:
                continue
            next_seen[low] = None
            next_level.append(x)
        level = next_level[: max(0, max_subs - len(crawled))]
        for x in level:
            crawled[x.lower()] = None
        if not level:
            break

    requests["total"] = sum(requests[k] for k in ENDPOINT_KINDS)
    return {
        "subreddits": sub_status,
        "posts": sorted(posts),
        "users": user_status,
        "edges": [list(e) for e in sorted(edges)],
        "discovered": [list(e) for e in sorted(discovered)],
        "requests": requests,
    }
