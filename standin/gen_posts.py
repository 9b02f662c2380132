"""Post generation.

:func:`add_post` makes one submission (self, link or image; in a subreddit or on the author's
profile) and adds it to the world, drawing every field not given. :func:`add_member_posts`
gives each user home subreddits and their posts; :func:`add_deleted_posts` puts
``[deleted]``/``[removed]`` posts in every subreddit.
"""

from __future__ import annotations

import re
from typing import Final

from standin import naming
from standin.gen_context import GenContext
from standin.gen_users import home_pool, pick_home
from standin.model import DAY, DELETED, HOUR, NOW, REMOVED, Post, Subreddit, User
from standin.vocab import LINK_DOMAINS

_URL_WORD_RE: Final = re.compile(r"[a-z0-9]+")
_PROFILE_TOPICS: Final[list[str]] = ["my projects", "life updates", "my cat"]


def add_post(
    g: GenContext,
    sub: Subreddit | None,
    author: User | str,
    created: float,
    *,
    title: str | None = None,
    selftext: str | None = None,
    score: int | None = None,
    edited: bool | float | None = None,
    kind: str | None = None,
    stickied: bool = False,
) -> Post:
    """Add a post by ``author`` (a user, or a bare name such as ``[deleted]``) to the world.

    ``sub`` is ``None`` for a post on the author's profile. ``created`` is moved to a day after
    the subreddit's creation if it is earlier; fields left ``None`` are drawn at random.
    """
    rng = g.rng
    user = author if isinstance(author, User) else None
    name = author.name if isinstance(author, User) else author
    topics = sub.topics if sub is not None else _PROFILE_TOPICS
    if sub is not None:  # nobody posts before the subreddit exists
        created = max(created, sub.created_utc + DAY)
    if kind is None:
        r = rng.random()
        kind = "self" if r < 0.6 else ("link" if r < 0.85 else "image")
    if title is None:
        title = naming.title(rng, topics)
    if selftext is None:
        selftext = naming.selftext(rng, topics, rng.randint(1, 4)) if kind == "self" else ""
        if kind == "self" and rng.random() < 0.1:
            selftext = ""  # title-only self post
    if score is None:
        score = min(15_000, int(rng.lognormvariate(2.8, 1.6)))
    if edited is None:
        r = rng.random()
        if r < 0.8:
            edited = False
        elif r < 0.98:
            edited = float(min(int(created) + rng.randint(60, 3 * DAY), NOW - 30))
            if edited <= created:
                edited = False
        else:
            edited = True
    seq = g.next_seq()
    url = ""
    domain = ""
    thumbnail = ""
    if kind == "self":
        domain = f"self.{sub.name}" if sub is not None else f"self.u_{name}"
        thumbnail = "self" if rng.random() < 0.8 else ""
    elif kind == "link":
        domain = rng.choice(LINK_DOMAINS)
        words = _URL_WORD_RE.findall(title.lower())[:4]
        url = f"https://{domain}/{'-'.join(words)}-{seq}"
        thumbnail = rng.choice(
            ["default", "default", "", f"https://b.thumbs.redditmedia.com/l{seq}.jpg"]
        )
    else:
        domain = "i.redd.it"
        url = f"https://i.redd.it/img{seq:07d}.jpeg"
        thumbnail = f"https://b.thumbs.redditmedia.com/t{seq}.jpg"
    over_18 = bool(sub is not None and sub.over18)
    spoiler = rng.random() < 0.03
    if over_18 and kind != "self":
        thumbnail = "nsfw"
    elif spoiler and kind != "self":
        thumbnail = "spoiler"
    flair = None
    if sub is not None and sub.flairs and rng.random() < 0.5:
        flair = rng.choice(sub.flairs)
    post = Post(
        sub=sub,
        author=name,
        user=user,
        title=title,
        selftext=selftext,
        created_utc=float(int(created)),
        score=score,
        upvote_ratio=round(rng.uniform(0.55, 1.0), 2),
        num_comments=int(score * rng.uniform(0.02, 0.6)),
        edited=edited,
        kind=kind,
        url=url,
        domain=domain,
        thumbnail=thumbnail,
        flair=flair,
        over_18=over_18,
        spoiler=spoiler,
        locked=rng.random() < 0.03,
        stickied=stickied,
        num_crossposts=rng.choice([0, 0, 0, 0, 1, 2]),
        seq=seq,
    )
    return g.add(post)


def post_age(g: GenContext, user: User) -> float:
    """A creation time for a post by ``user``: mostly recent, never before the account."""
    rng = g.rng
    span = NOW - user.created_utc
    age = rng.uniform(0, span) if rng.random() < 0.15 else rng.expovariate(1 / (150 * DAY))
    return NOW - max(60.0, min(age, span - HOUR))


def random_post_for(g: GenContext, user: User, *, recent_days: float | None = None) -> Post:
    """Add a post by ``user``, mostly in their first home subreddit, sometimes on the profile."""
    rng = g.rng
    if recent_days is None:
        created = post_age(g, user)
    else:
        created = NOW - rng.uniform(HOUR, recent_days * DAY)
    if rng.random() < 0.07 or not user.home:
        return add_post(g, None, user, created)
    weights = [3.0] + [1.0] * (len(user.home) - 1)
    sub = rng.choices(user.home, weights=weights)[0]
    return add_post(g, sub, user, created)


def add_member_posts(g: GenContext) -> None:
    """Give every user home subreddits and ``posts_per_user`` posts (power users: many more)."""
    rng = g.rng
    pool, weights = home_pool(g)
    lo, hi = g.p.posts_per_user
    for user in g.world.users:
        user.home = pick_home(g, pool, weights)
        n_posts = rng.randint(lo, hi)
        if rng.random() < 0.03:
            user.power = True
            n_posts = rng.randint(max(hi, 1) * 4, max(hi, 1) * 8)
        for _ in range(n_posts):
            random_post_for(g, user)


def add_deleted_posts(g: GenContext) -> None:
    """One to six ``[deleted]``/``[removed]`` self posts in every subreddit (the ghost too)."""
    rng = g.rng
    w = g.world
    for sub in [*w.subreddits, w.ghost]:
        assert sub is not None
        for _ in range(rng.randint(1, 6)):
            author = DELETED if rng.random() < 0.6 else REMOVED
            created = NOW - rng.expovariate(1 / (200 * DAY))
            text = author if rng.random() < 0.7 else ""
            add_post(g, sub, author, created, selftext=text, kind="self")
