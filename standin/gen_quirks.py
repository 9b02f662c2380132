"""Posts placed on purpose, on top of the random ones.

:func:`top_up` guarantees enough recent posts in the well-known subreddits;
:func:`add_quirk_posts` adds the posts with every quirk (special and deleted authors, NUL
bytes, a 40k self-text, emoji, right-to-left text, edits) near the top of the well-known
subreddits' listings, and recent posts of their authors in the special subreddits, on their
profiles and elsewhere; :func:`add_stickies` adds the weekly stickied threads.
"""

from __future__ import annotations

from standin.gen_context import GenContext
from standin.gen_posts import add_post, random_post_for
from standin.model import (
    DAY,
    DELETED,
    HOUR,
    LONG_SELFTEXT_LEN,
    NOW,
    PYTHON_MIN_TOP_YEAR,
    REMOVED,
    SPECIAL_USERS,
    WELL_KNOWN_SUBS,
    YEAR,
    Subreddit,
    User,
)


def top_up(g: GenContext, ok_users: list[User]) -> None:
    """Guarantee enough recent posts in the well-known subreddits."""
    rng = g.rng
    w = g.world
    minimum = {"python": PYTHON_MIN_TOP_YEAR, "learnpython": 150, "datascience": 150}
    for low, need in minimum.items():
        sub = w._subs_by_lower[low]
        have = sum(1 for p in w.posts if p.sub is sub and p.created_utc >= NOW - YEAR + DAY)
        members = [u for u in ok_users if sub in u.home] or ok_users
        for _ in range(max(0, need - have)):
            user = rng.choice(members)
            if sub not in user.home:
                user.home.append(sub)
            created = NOW - rng.uniform(HOUR, YEAR - 2 * DAY)
            created = max(created, user.created_utc + HOUR)
            add_post(g, sub, user, created)


def add_quirk_posts(g: GenContext, ok_users: list[User]) -> None:
    """Posts with every quirk, on top of the well-known subreddits' listings."""
    rng = g.rng
    w = g.world
    py = w._subs_by_lower["python"]
    lp = w._subs_by_lower["learnpython"]
    ds = w._subs_by_lower["datascience"]
    specials = {u.name: u for u in w.users if u.name in SPECIAL_USERS}
    susp, gone, hidden = (
        specials["suspended_user"],
        specials["deleted_user"],
        specials["hidden_posts_user"],
    )
    qa = rng.sample(ok_users, 4)
    if not qa[0].power:  # the 40k-selftext author is a power user (> 100 posts)
        qa[0].power = True
        hi = max(g.p.posts_per_user[1], 30)
        for _ in range(rng.randint(hi * 4, hi * 8)):
            random_post_for(g, qa[0])
    # Authors of quirk posts are accounts older than the quirk posts themselves.
    for u in [susp, gone, hidden, *qa]:
        u.created_utc = min(u.created_utc, float(NOW - 400 * DAY))

    long_para = (
        "Packaging in Python has a long history: distutils, setuptools, wheels, "
        "pyproject.toml and lock files. \U0001f4e6 This paragraph repeats on purpose. "
    )
    long_text = "# The long guide\n\n"
    while len(long_text) < LONG_SELFTEXT_LEN:
        long_text += long_para + "\n\n"
    long_text = long_text[:LONG_SELFTEXT_LEN]
    rtl_ar = "مرحبا بالعالم! سؤال عن بايثون والبرمجة"
    rtl_he = "שלום עולם! שאלה על פייתון ותכנות"
    emoji = "\U0001f40d\U0001f389\U0001f680\U0001f525\U0001f44d\U0001f3fd"

    # (subreddit, author, age in hours, score, title, selftext, edited, kind); an ``edited``
    # float is seconds after creation. Scores above every normal post's keep these posts
    # on top of hot[:30], top week[:10] and top year[:100].
    NUL = "\u0000"
    # fmt: off
    quirks: list[tuple[Subreddit, User | str, float, int, str, str, bool | float, str]] = [
        # r/python: special users, [deleted], [removed], NUL, 40k selftext, emoji, RTL.
        (py, susp, 2, 41_000, f"Python 3.15 is out {emoji} favourite feature?",
         f"Mine is the new REPL {emoji}\n\nWhat about you? \u2728", False, "self"),
        (py, gone, 3, 38_000, f"Reading a file with NUL bytes:{NUL} why does split fail?",
         f"My data looks like abc{NUL}def{NUL}ghi\n\nAny idea why?", 1800.0, "self"),
        (py, hidden, 4, 36_000, f"Python in Arabic and Hebrew: {rtl_ar} / {rtl_he}",
         f"{rtl_ar}\n\n{rtl_he}\n\nMixed: print('{rtl_he}')", True, "self"),
        (py, DELETED, 5, 34_000, "Question about asyncio cancellation", DELETED, False,
         "self"),
        (py, qa[0], 6, 52_000, "The complete guide to Python packaging (very long post)",
         long_text, 7200.0, "self"),
        (py, qa[1], 7, 30_000, "My CLI tool for tidying notebooks (GitHub)", "", False,
         "link"),
        (py, REMOVED, 8, 31_000, "Removed: please read the rules", REMOVED, False, "self"),
        (py, qa[3], 9, 29_000, "Edited many times: my asyncio cheat sheet",
         "Updated again.", True, "self"),
        # r/LearnPython.
        (lp, susp, 2.5, 27_000, f"I passed my first Python exam {emoji}",
         "Thanks everyone \U0001f64f", 600.0, "self"),
        (lp, gone, 3.5, 26_000, "Why does my loop never stop?", f"while True: ... {NUL}",
         True, "self"),
        (lp, hidden, 4.5, 25_000, f"Learning Python from {rtl_he}", rtl_ar, False, "self"),
        (lp, REMOVED, 5.5, 24_000, "[ Removed by moderator ]", REMOVED, False, "self"),
        (lp, qa[2], 6.5, 23_000, f"String with a NUL{NUL} in the title",
         f"text{NUL}with{NUL}nuls", 900.0, "self"),
        (lp, DELETED, 7.5, 22_500, "deleted post", DELETED, False, "self"),
        # r/datascience.
        (ds, DELETED, 2, 28_000, "My model is overfitting", DELETED, False, "self"),
        (ds, qa[1], 3, 27_500, f"Arabic NLP datasets? {rtl_ar}", rtl_he, 3600.0, "self"),
        (ds, susp, 4, 27_000, "Pandas 3.0 migration notes \U0001f4ca", "Lots of changes.",
         False, "self"),
        (ds, gone, 5, 26_500, "Interview question: explain p-values", "Go.", True, "self"),
        (ds, hidden, 6, 26_000, "Polars vs pandas in 2026", "Benchmarks inside.", 120.0,
         "self"),
        (ds, qa[0], 7, 25_500, f"NUL-separated CSV?{NUL}", f"sep='\\0' {NUL}", False,
         "self"),
        (ds, REMOVED, 8, 25_000, "removed", REMOVED, False, "self"),
    ]
    # fmt: on
    for sub, author, hours, score, title, selftext, edited, kind in quirks:
        created = float(NOW - int(hours * HOUR))
        ed = edited if isinstance(edited, bool) else float(int(created) + int(edited))
        add_post(
            g,
            sub,
            author,
            created,
            title=title,
            selftext=selftext,
            score=score,
            edited=ed,
            kind=kind,
        )

    # Quirk authors post recently in special subreddits, on their profile and elsewhere,
    # so that crawling the well-known subreddits discovers every state.
    generated_ok = [s for s in w.subreddits if s.state == "ok" and s.lower not in WELL_KNOWN_SUBS]
    extra: list[tuple[User, Subreddit | None]] = [
        (qa[0], w._subs_by_lower["secretclub"]),
        (qa[0], w._subs_by_lower["quarantinedsub"]),
        (qa[0], None),
        (qa[1], w._subs_by_lower["gatedsub"]),
        (qa[1], w._subs_by_lower["bannedsub"]),
        (qa[1], None),
        (qa[1], lp),
        (qa[2], w.ghost),
        (qa[2], ds),
        (qa[3], w._subs_by_lower["secretclub"]),
        (qa[3], None),
        (qa[3], py),
    ]
    if generated_ok:
        extra.append((qa[2], rng.choice(generated_ok)))
        extra.append((qa[3], rng.choice(generated_ok)))
    for i, (author, target) in enumerate(extra):
        created = float(NOW - 10 * HOUR - i * 3 * HOUR)
        add_post(g, target, author, created, score=50 + i)


def add_stickies(g: GenContext, ok_users: list[User]) -> None:
    """Add the weekly stickied threads.

    Two in r/python, one in each other well-known subreddit and one in about 30% of the rest.
    """
    rng = g.rng
    for sub in g.world.subreddits:
        if sub.lower in WELL_KNOWN_SUBS:
            n = 1 if sub.lower != "python" else 2
        else:
            n = 1 if rng.random() < 0.3 else 0
        for i in range(n):
            mod = rng.choice(ok_users)
            created = float(NOW - rng.randint(2 * DAY, 30 * DAY) - i * DAY)
            add_post(
                g,
                sub,
                mod,
                created,
                title=f"Weekly thread #{rng.randint(1, 400)}: ask anything",
                selftext="Use this thread for quick questions. Be nice.",
                score=rng.randint(5, 200),
                kind="self",
                edited=False,
                stickied=True,
            )
