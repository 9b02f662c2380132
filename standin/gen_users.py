"""User generation.

:func:`add_users` puts the special users and the generated ones (a few suspended, deleted or
with hidden posts) into the world; :func:`make_user` makes one account; :func:`home_pool` and
:func:`pick_home` choose the subreddits a user posts in, weighted towards the well-known ones.
"""

from __future__ import annotations

from standin import naming
from standin.gen_context import GenContext
from standin.model import (
    DAY,
    NOW,
    SPECIAL_SUBS,
    SPECIAL_USERS,
    WELL_KNOWN_SUBS,
    YEAR,
    Subreddit,
    User,
)


def add_users(g: GenContext) -> None:
    """Fill ``world.users``: the special users, then the generated ones."""
    users = [make_user(g, name, state) for name, state in SPECIAL_USERS.items()]
    n_gen = max(0, g.p.n_users - len(SPECIAL_USERS))
    for name in naming.user_names(g.rng, n_gen, {n: None for n in SPECIAL_USERS}):
        users.append(make_user(g, name, _draw_state(g.rng.random())))
    g.world.users.extend(users)


def _draw_state(r: float) -> str:
    """A generated user's state for a uniform draw ``r``: 3% each not ok, else ok."""
    if r < 0.03:
        return "suspended"
    if r < 0.06:
        return "not_found"
    if r < 0.09:
        return "private_posts"
    return "ok"


def make_user(g: GenContext, name: str, state: str) -> User:
    """One account called ``name`` in ``state``."""
    rng = g.rng
    link_karma = int(rng.lognormvariate(5, 2))
    comment_karma = int(rng.lognormvariate(6, 2))
    awardee = rng.choice([0, 0, 0, rng.randint(1, 500)])
    awarder = rng.choice([0, 0, 0, rng.randint(1, 200)])
    return User(
        name=name,
        id=g.new_id(36**7, 36**8),
        state=state,
        created_utc=float(NOW - rng.randint(30 * DAY, 12 * YEAR)),
        link_karma=link_karma,
        comment_karma=comment_karma,
        awardee_karma=awardee,
        awarder_karma=awarder,
        profile_id=g.new_id(36**4 * 10, 36**6),
        verified=rng.random() < 0.8,
        has_verified_email=rng.random() < 0.7,
        is_gold=rng.random() < 0.05,
        is_mod=rng.random() < 0.2,
        premium=rng.random() < 0.08,
        icon_img=(
            "https://www.redditstatic.com/avatars/defaults/v2/avatar_default_"
            f"{rng.randint(0, 7)}.png"
        ),
        profile_title=rng.choice(["", "", name, f"{name}'s corner"]),
    )


def home_pool(g: GenContext) -> tuple[list[Subreddit], list[float]]:
    """Every subreddit users may post in (the ghost too), with its weight."""
    w = g.world
    assert w.ghost is not None
    pool = [*w.subreddits, w.ghost]
    weights = []
    for s in pool:
        if s.lower in WELL_KNOWN_SUBS:
            weights.append(10.0)
        elif s.lower in SPECIAL_SUBS or s is w.ghost:
            weights.append(0.6)
        else:
            weights.append(g.rng.uniform(1.0, 4.0))
    return pool, weights


def pick_home(g: GenContext, pool: list[Subreddit], weights: list[float]) -> list[Subreddit]:
    """One to five distinct home subreddits drawn from ``pool`` (fewer if draws repeat)."""
    rng = g.rng
    k = rng.choice([1, 2, 2, 3, 3, 3, 4, 5])
    home: list[Subreddit] = []
    for _ in range(k * 3):
        s = rng.choices(pool, weights=weights)[0]
        if s not in home:
            home.append(s)
        if len(home) == k:
            break
    return home
