"""Subreddit and rule generation.

:func:`add_subreddits` puts the well-known, the special and the generated subreddits into the
world (and makes the ghost subreddit, which users post in but which is not in the lookup
table); :func:`make_sub` makes one subreddit with its about fields and :func:`make_rules` its
rules.
"""

from __future__ import annotations

from standin import naming
from standin.gen_context import GenContext
from standin.model import (
    DAY,
    GHOST_SUB,
    MIN_SUBREDDITS,
    NONEXISTENT_SUB,
    SPECIAL_SUBS,
    WELL_KNOWN_SUBS,
    Rule,
    Subreddit,
)
from standin.vocab import FLAIRS, GEN_TOPICS, WELL_KNOWN_TOPICS


def add_subreddits(g: GenContext) -> None:
    """Fill ``world.subreddits`` and make ``world.ghost``."""
    rng = g.rng
    w = g.world
    taken: dict[str, None] = {
        n: None for n in [*WELL_KNOWN_SUBS, *SPECIAL_SUBS, GHOST_SUB, NONEXISTENT_SUB]
    }
    for low, display in WELL_KNOWN_SUBS.items():
        sub = make_sub(g, display, "ok", WELL_KNOWN_TOPICS[low], 900_000)
        sub.flairs = ["Discussion", "Help", "Showcase", "News", "Tutorial"]
        w.subreddits.append(sub)
    for low, state in SPECIAL_SUBS.items():
        words = rng.choice(GEN_TOPICS)[2]
        w.subreddits.append(make_sub(g, low, state, list(words), 20_000))
    n_gen = max(0, g.p.n_subreddits - MIN_SUBREDDITS)
    for name, words in naming.sub_names(rng, n_gen, taken):
        state = "ok"
        if rng.random() < 0.1:
            state = rng.choice(["private", "quarantined", "gated", "banned"])
        w.subreddits.append(make_sub(g, name, state, words, rng.randint(500, 300_000)))
    w.ghost = make_sub(g, GHOST_SUB, "nonexistent", ["old memes", "lost posts"], 1000)


def make_sub(g: GenContext, display: str, state: str, topics: list[str], size: int) -> Subreddit:
    """One subreddit about ``topics`` with about ``size`` subscribers, and its rules."""
    rng = g.rng
    sub_type = "public"
    if state == "private":
        sub_type = "private"
    elif state == "ok" and rng.random() < 0.1:
        sub_type = "restricted"
    created = float(rng.randint(1_201_000_000, 1_720_000_000))
    subscribers = int(size * rng.uniform(0.5, 2.0))
    topic_text = ", ".join(topics[:3])
    sub = Subreddit(
        name=display,
        id=g.new_id(36**4 * 2, 36**6),
        state=state,
        sub_type=sub_type,
        created_utc=created,
        subscribers=subscribers,
        active_user_count=max(1, subscribers // rng.randint(200, 2000)),
        title=f"{display}: all about {topics[0]}",
        public_description=f"A community for {topic_text} and more.",
        description=(
            f"Welcome to r/{display}!\n\nTalk about {topic_text}.\n\n"
            "* Be kind\n* Search before posting"
        ),
        over18=state == "gated",
        submission_type=rng.choice(["any", "any", "any", "self", "link"]),
        lang="en",
        icon_img="" if rng.random() < 0.4 else f"https://b.thumbs.redditmedia.com/{display}.png",
        community_icon=""
        if rng.random() < 0.3
        else f"https://styles.redditmedia.com/t5_x/styles/communityIcon_{display}.png",
        primary_color=rng.choice(["", "#0079d3", "#ff4500", "#46d160", "#373c3f"]),
        topics=topics,
        flairs=rng.sample(FLAIRS, rng.randint(0, 4)),
    )
    sub.rules = make_rules(g, topics[0], created)
    return sub


def make_rules(g: GenContext, topic: str, sub_created: float) -> list[Rule]:
    """Two to six rules (by priority) of a subreddit about ``topic`` created at ``sub_created``."""
    rng = g.rng
    n_rules = rng.randint(2, 6)
    rule_names = [
        ("Be respectful", "No personal attacks, harassment or bigotry."),
        ("No spam", "Self-promotion is limited to one post in ten."),
        ("Stay on topic", f"Posts must be about {topic} or closely related."),
        ("Search first", "Check the FAQ and search before asking common questions."),
        ("No low-effort posts", "Memes and one-line questions will be removed."),
        ("Use flair", "Flair your post so people can find it."),
        ("No piracy", "Do not link to or ask for pirated content."),
    ]
    return [
        Rule(
            kind=rng.choice(["all", "all", "link", "comment"]),
            short_name=short,
            description=desc,
            violation_reason=short,
            created_utc=float(int(sub_created) + rng.randint(DAY, 2000 * DAY)),
            priority=prio,
        )
        for prio, (short, desc) in enumerate(rng.sample(rule_names, n_rules))
    ]
