"""The order in which a world is generated, and its finishing pass.

:func:`build_world` fills an empty :class:`~standin.world.World` from its parameters: the
subreddits, the users, their posts, ``[deleted]``/``[removed]`` posts, the posts placed on
purpose, then :func:`_finalise` gives every post its id (in creation order) and hot score and
builds the per-subreddit and per-user listings. Every step draws from one
``random.Random(seed)`` in a fixed order, so the steps must not be reordered.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from standin.gen_context import GenContext
from standin.gen_posts import add_deleted_posts, add_member_posts
from standin.gen_quirks import add_quirk_posts, add_stickies, top_up
from standin.gen_subreddits import add_subreddits
from standin.gen_users import add_users
from standin.model import LISTING_CAP, SPECIAL_USERS, base36

if TYPE_CHECKING:
    from standin.world import World


def build_world(world: World) -> World:
    """Generate the contents of the empty ``world`` from ``world.params``; return it."""
    g = GenContext(world)
    add_subreddits(g)
    add_users(g)
    world.index_names()
    add_member_posts(g)
    add_deleted_posts(g)

    generated_users = [u for u in world.users if u.name not in SPECIAL_USERS]
    ok_users = [u for u in generated_users if u.state == "ok"]
    if len(ok_users) < 4:  # tiny worlds: make sure there are enough normal authors
        for u in generated_users[:4]:
            u.state = "ok"
        ok_users = [u for u in generated_users if u.state == "ok"]
    top_up(g, ok_users)
    add_quirk_posts(g, ok_users)
    add_stickies(g, ok_users)
    _finalise(g)
    return world


def _finalise(g: GenContext) -> None:
    """Number the posts, score them for hot, and build the listings."""
    rng = g.rng
    w = g.world
    w.posts.sort(key=lambda p: (p.created_utc, p.seq))
    num = 36**6 + rng.randrange(36**5)
    for post in w.posts:
        num += rng.randint(1, 400)
        post.num = num
        post.id = base36(num)
        sign = 1 if post.score > 0 else (-1 if post.score < 0 else 0)
        order = math.log10(max(abs(post.score), 1))
        post.hot = round(sign * order + (post.created_utc - 1_134_028_003) / 45000, 7)
        if post.sub is not None:
            post.sub.posts.append(post)
        if post.user is not None and post.author == post.user.name:
            post.user.posts.append(post)
    for sub in [*w.subreddits, w.ghost]:
        assert sub is not None
        stickies = [p for p in sub.posts if p.stickied]
        rest = sorted((p for p in sub.posts if not p.stickied), key=lambda p: (-p.hot, -p.num))
        sub.hot = (stickies + rest)[:LISTING_CAP]
    for user in w.users:
        user.posts.sort(key=lambda p: -p.num)
