"""Deterministic world generation for the Reddit stand-in.

A :class:`World` is generated from :class:`WorldParams` with a private ``random.Random(seed)``
(never the global generator) and a fixed clock :data:`NOW` (2026-11-01T00:00:00Z), so the same
parameters always give the same subreddits, users, posts and listings, whatever the wall time.

Fixed names that exist in every world (see :data:`WELL_KNOWN_SUBS`, :data:`SPECIAL_SUBS`,
:data:`SPECIAL_USERS`):

- subreddits ``python``, ``LearnPython`` (looked up as ``learnpython``), ``datascience``: normal,
  with many posts (``python`` has at least :data:`PYTHON_MIN_TOP_YEAR` posts in ``top?t=year``);
- ``secretclub`` (private), ``quarantinedsub`` (quarantined), ``gatedsub`` (gated),
  ``bannedsub`` (banned);
- ``vanishedsub``: users have posted in it, but it is not in the world (every endpoint 302s);
- ``doesnotexist``: never in the world and never referenced;
- users ``suspended_user``, ``deleted_user`` (404) and ``hidden_posts_user`` (submitted 403).

The quirk posts (see :func:`_add_quirk_posts`) are placed so that they appear, for every seed,
within the default listing sizes of the three well-known subreddits (hot 30, top week 10,
top year 100), and their authors are among the first 25 users selected from each of them.
"""

from __future__ import annotations

import math
import random
import re
import weakref
from dataclasses import dataclass, field
from typing import Final

NOW: Final[int] = 1_793_491_200  # 2026-11-01T00:00:00Z
HOUR: Final[int] = 3600
DAY: Final[int] = 86400
YEAR: Final[int] = 365 * DAY

#: ``t=`` windows of ``/r/<name>/top.json`` in seconds (``None``: no limit).
TOP_WINDOWS: Final[dict[str, int | None]] = {
    "hour": HOUR,
    "day": DAY,
    "week": 7 * DAY,
    "month": 30 * DAY,
    "year": YEAR,
    "all": None,
}
#: Reddit never returns more than about 1000 items of one listing.
LISTING_CAP: Final[int] = 1000

SUB_STATES: Final[tuple[str, ...]] = ("ok", "private", "quarantined", "gated", "banned")
USER_STATES: Final[tuple[str, ...]] = ("ok", "suspended", "not_found", "private_posts")

#: lower-case name -> display_name of the well-known normal subreddits.
WELL_KNOWN_SUBS: Final[dict[str, str]] = {
    "python": "python",
    "learnpython": "LearnPython",
    "datascience": "datascience",
}
#: special subreddit name -> state.
SPECIAL_SUBS: Final[dict[str, str]] = {
    "secretclub": "private",
    "quarantinedsub": "quarantined",
    "gatedsub": "gated",
    "bannedsub": "banned",
}
#: Posted in by users, but not in the world (every endpoint answers 302).
GHOST_SUB: Final[str] = "vanishedsub"
#: Never in the world, never referenced.
NONEXISTENT_SUB: Final[str] = "doesnotexist"
#: special user name -> state.
SPECIAL_USERS: Final[dict[str, str]] = {
    "suspended_user": "suspended",
    "deleted_user": "not_found",
    "hidden_posts_user": "private_posts",
}
DELETED: Final[str] = "[deleted]"
REMOVED: Final[str] = "[removed]"
PYTHON_MIN_TOP_YEAR: Final[int] = 320
MIN_SUBREDDITS: Final[int] = len(WELL_KNOWN_SUBS) + len(SPECIAL_SUBS)
MIN_USERS: Final[int] = 10
LONG_SELFTEXT_LEN: Final[int] = 40_000

_B36: Final[str] = "0123456789abcdefghijklmnopqrstuvwxyz"
_URL_WORD_RE: Final = re.compile(r"[a-z0-9]+")


def base36(n: int) -> str:
    """Return ``n`` (>= 0) in lower-case base 36, as Reddit writes ids."""
    if n == 0:
        return "0"
    out: list[str] = []
    while n:
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out))


@dataclass(frozen=True)
class WorldParams:
    """Generation parameters; equal parameters give byte-identical worlds."""

    seed: int = 1
    n_subreddits: int = 40
    n_users: int = 300
    posts_per_user: tuple[int, int] = (5, 40)


@dataclass(slots=True)
class Rule:
    """One subreddit rule."""

    kind: str
    short_name: str
    description: str
    violation_reason: str
    created_utc: float
    priority: int


@dataclass(slots=True)
class Subreddit:
    """A subreddit (also used for the ghost subreddit, which is not in the lookup table)."""

    name: str  # display_name
    id: str
    state: str  # ok | private | quarantined | gated | banned | nonexistent (ghost)
    sub_type: str  # public | restricted | private
    created_utc: float
    subscribers: int
    active_user_count: int
    title: str
    public_description: str
    description: str
    over18: bool
    submission_type: str
    lang: str
    icon_img: str
    community_icon: str
    primary_color: str
    topics: list[str]
    flairs: list[str]
    rules: list[Rule] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    hot: list[Post] = field(default_factory=list)
    top_cache: dict[str, list[Post]] = field(default_factory=dict)

    @property
    def lower(self) -> str:
        return self.name.lower()


@dataclass(slots=True)
class User:
    """A Reddit account."""

    name: str
    id: str
    state: str  # ok | suspended | not_found | private_posts
    created_utc: float
    link_karma: int
    comment_karma: int
    awardee_karma: int
    awarder_karma: int
    profile_id: str
    verified: bool
    has_verified_email: bool
    is_gold: bool
    is_mod: bool
    premium: bool
    icon_img: str
    profile_title: str
    power: bool = False
    home: list[Subreddit] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)  # newest first after finalisation

    @property
    def profile_name(self) -> str:
        return f"u_{self.name}"


@dataclass(slots=True)
class Post:
    """A submission (t3). ``sub`` is ``None`` for posts on the author's profile."""

    sub: Subreddit | None
    author: str
    user: User | None  # None for [deleted]/[removed] authors
    title: str
    selftext: str
    created_utc: float
    score: int
    upvote_ratio: float
    num_comments: int
    edited: bool | float
    kind: str  # self | link | image
    url: str
    domain: str
    thumbnail: str
    flair: str | None
    over_18: bool
    spoiler: bool
    locked: bool
    stickied: bool
    num_crossposts: int
    seq: int
    id: str = ""
    num: int = 0
    hot: float = 0.0
    cached_json: bytes | None = None

    @property
    def fullname(self) -> str:
        return f"t3_{self.id}"

    @property
    def sub_name(self) -> str:
        """The t3 ``subreddit`` field: display_name, or ``u_<Name>`` for profile posts."""
        if self.sub is None:
            assert self.user is not None
            return self.user.profile_name
        return self.sub.name

    @property
    def is_profile(self) -> bool:
        return self.sub is None


class World:
    """A generated world plus the lookups and listings the server and the truth share."""

    def __init__(self, params: WorldParams) -> None:
        self.params = params
        self.subreddits: list[Subreddit] = []
        self.users: list[User] = []
        self.posts: list[Post] = []
        self.ghost: Subreddit | None = None
        self._subs_by_lower: dict[str, Subreddit] = {}
        self._users_by_lower: dict[str, User] = {}
        # Shared per-world caches used by the server (serialized bodies).
        self.body_cache: dict[tuple[str, ...], bytes] = {}
        self.index_cache: dict[tuple[str, ...], dict[str, int]] = {}

    # -- lookups -------------------------------------------------------------------------
    def lookup_sub(self, name: str) -> Subreddit | None:
        """Case-insensitive lookup; ``None`` if the subreddit is not in the world."""
        return self._subs_by_lower.get(name.lower())

    def lookup_user(self, name: str) -> User | None:
        """Case-insensitive lookup; ``None`` if the user is unknown."""
        return self._users_by_lower.get(name.lower())

    def sub_state(self, name: str) -> str:
        """ok | private | quarantined | gated | banned | nonexistent."""
        sub = self.lookup_sub(name)
        return "nonexistent" if sub is None else sub.state

    def user_state(self, name: str) -> str:
        """ok | suspended | not_found | private_posts (unknown users are not_found)."""
        user = self.lookup_user(name)
        return "not_found" if user is None else user.state

    # -- listings ------------------------------------------------------------------------
    def hot(self, sub: Subreddit) -> list[Post]:
        return sub.hot

    def top(self, sub: Subreddit, t: str) -> list[Post]:
        """Top posts for window ``t`` (hour/day/week/month/year/all; unknown -> day)."""
        if t not in TOP_WINDOWS:
            t = "day"
        cached = sub.top_cache.get(t)
        if cached is None:
            window = TOP_WINDOWS[t]
            posts = (
                sub.posts
                if window is None
                else [p for p in sub.posts if p.created_utc >= NOW - window]
            )
            cached = sorted(posts, key=lambda p: (-p.score, -p.num))[:LISTING_CAP]
            sub.top_cache[t] = cached
        return cached

    def submitted(self, user: User) -> list[Post]:
        """The user's submitted listing, newest first."""
        return user.posts[:LISTING_CAP]

    # -- summary -------------------------------------------------------------------------
    def summary(self) -> dict[str, object]:
        """JSON-able summary: names with their states and the special names."""
        subs = [
            {
                "display_name": s.name,
                "name": s.lower,
                "state": s.state,
                "posts": len(s.posts),
                "hot": len(s.hot),
                "top_week": len(self.top(s, "week")),
                "top_year": len(self.top(s, "year")),
            }
            for s in self.subreddits
        ]
        users = [{"name": u.name, "state": u.state, "posts": len(u.posts)} for u in self.users]
        return {
            "params": {
                "seed": self.params.seed,
                "n_subreddits": self.params.n_subreddits,
                "n_users": self.params.n_users,
                "posts_per_user": list(self.params.posts_per_user),
            },
            "now": NOW,
            "n_posts": len(self.posts),
            "subreddits": subs,
            "users": users,
            "case_differs": [s.name for s in self.subreddits if s.name != s.lower],
            "special": {
                "well_known": dict(WELL_KNOWN_SUBS),
                "subreddits": dict(SPECIAL_SUBS),
                "referenced_nonexistent": GHOST_SUB,
                "nonexistent": NONEXISTENT_SUB,
                "users": dict(SPECIAL_USERS),
            },
        }


# ------------------------------------------------------------------------------------------
# Vocabulary
# ------------------------------------------------------------------------------------------

# fmt: off
_WELL_KNOWN_TOPICS: Final[dict[str, list[str]]] = {
    "python": [
        "asyncio", "decorators", "generators", "type hints", "pip", "virtualenvs", "the GIL",
        "f-strings", "dataclasses", "pytest", "packaging", "pattern matching", "CPython", "PyPy",
        "comprehensions", "context managers", "uv", "ruff", "Django", "FastAPI",
    ],
    "learnpython": [
        "for loops", "functions", "classes", "recursion", "dictionaries", "string slicing",
        "file I/O", "exceptions", "modules", "lists", "while loops", "input()", "indentation",
        "variable scope", "tuples", "sets",
    ],
    "datascience": [
        "pandas", "feature engineering", "A/B tests", "SQL", "dashboards", "regression", "XGBoost",
        "notebooks", "data cleaning", "time series", "Bayesian stats", "interviews", "Polars",
        "visualisation", "clustering",
    ],
}
_GEN_TOPICS: Final[list[tuple[str, str, list[str]]]] = [
    # (lower stem, Display stem, topic words)
    ("rust", "Rust", ["the borrow checker", "lifetimes", "cargo", "traits", "async Rust"]),
    ("golang", "Golang", ["goroutines", "channels", "generics", "modules", "interfaces"]),
    ("cooking", "Cooking", ["sourdough", "knife skills", "braising", "spices", "cast iron"]),
    ("garden", "Garden", ["tomatoes", "compost", "raised beds", "pruning", "seedlings"]),
    ("hiking", "Hiking", ["boots", "trail maps", "ultralight packs", "switchbacks", "blisters"]),
    ("chess", "Chess", ["openings", "endgames", "blitz", "the Sicilian", "tactics"]),
    ("guitar", "Guitar", ["barre chords", "pedals", "tone", "fingerpicking", "amps"]),
    ("synth", "Synth", ["modular", "oscillators", "filters", "sequencers", "patches"]),
    ("coffee", "Coffee", ["espresso", "grinders", "pour-over", "roasting", "latte art"]),
    ("linux", "Linux", ["systemd", "kernels", "dotfiles", "package managers", "Wayland"]),
    ("homelab", "HomeLab", ["Proxmox", "NAS builds", "VLANs", "rack servers", "UPS units"]),
    ("sql", "SQL", ["joins", "indexes", "window functions", "query plans", "CTEs"]),
    ("dataviz", "DataViz", ["colour maps", "small multiples", "D3", "charts", "dashboards"]),
    ("stats", "Stats", ["p-values", "priors", "bootstrapping", "regressions", "variance"]),
    ("ml", "ML", ["transformers", "overfitting", "embeddings", "fine-tuning", "GPUs"]),
    ("robotics", "Robotics", ["servos", "ROS", "kinematics", "lidar", "PID loops"]),
    ("space", "Space", ["rockets", "orbits", "Mars", "telescopes", "launch windows"]),
    ("history", "History", ["Rome", "archives", "primary sources", "the Silk Road", "maps"]),
    ("books", "Books", ["sci-fi", "audiobooks", "reading lists", "classics", "e-readers"]),
    ("boardgame", "BoardGame", ["Catan", "worker placement", "expansions", "solo play"]),
    ("knitting", "Knitting", ["yarn", "cables", "sweaters", "needles", "patterns"]),
    ("camping", "Camping", ["tents", "campfires", "sleeping bags", "stoves", "bears"]),
    ("aquarium", "Aquarium", ["shrimp", "filters", "plants", "water changes", "cichlids"]),
    ("pottery", "Pottery", ["glazes", "kilns", "wheel throwing", "clay", "trimming"]),
    ("vim", "Vim", ["macros", "plugins", "motions", "registers", "neovim"]),
    ("kotlin", "Kotlin", ["coroutines", "Compose", "Gradle", "null safety", "KMP"]),
    ("haskell", "Haskell", ["monads", "type classes", "laziness", "GHC", "lenses"]),
    ("birding", "Birding", ["binoculars", "warblers", "migration", "field guides", "owls"]),
    ("running", "Running", ["marathons", "intervals", "shoes", "shin splints", "tempo runs"]),
    ("origami", "Origami", ["cranes", "tessellations", "crease patterns", "paper", "modulars"]),
]
_GEN_SUFFIXES: Final[list[tuple[str, str]]] = [
    ("", ""), ("tips", "Tips"), ("help", "Help"), ("dev", "Dev"), ("101", "101"), ("club", "Club"),
    ("talk", "Talk"), ("questions", "Questions"), ("pics", "Pics"), ("nerds", "Nerds"),
    ("builders", "Builders"), ("lovers", "Lovers"),
]
_ADJECTIVES: Final[list[str]] = [
    "quiet", "happy", "brave", "lazy", "sneaky", "cosmic", "rusty", "tiny", "grumpy", "sleepy",
    "clever", "wild", "silent", "mighty", "fuzzy", "lucky", "salty", "spicy", "nimble", "odd",
]
_NOUNS: Final[list[str]] = [
    "otter", "panda", "falcon", "badger", "wizard", "pickle", "toaster", "kraken", "walrus",
    "ninja", "cactus", "penguin", "llama", "goblin", "robot", "turnip", "heron", "moth",
]
_LINK_DOMAINS: Final[list[str]] = [
    "github.com", "youtube.com", "medium.com", "en.wikipedia.org", "arstechnica.com",
    "blog.example.org", "news.ycombinator.com",
]
_FLAIRS: Final[list[str]] = [
    "Discussion", "Help", "Showcase", "News", "Meta", "Tutorial", "Question", "Resource",
]
_TITLES: Final[list[str]] = [
    "How do I get started with {a}?",
    "{A} vs {b}: which should I use?",
    "Finally understood {a} after 3 weeks",
    "Why is {a} so slow for me?",
    "I built a small tool for {a}, feedback welcome",
    "Is {a} still worth learning in 2026?",
    "TIL about {a}",
    "Struggling with {a} and {b}",
    "Best resources for {a}?",
    "Unpopular opinion: {a} is overrated",
    "Help! {A} broke after an update",
    "What's your favourite trick with {a}?",
    "Showcase: my weekend project using {a} and {b}",
    "Question about {a} (beginner)",
]
_SENTENCES: Final[list[str]] = [
    "I have been working with {a} for a while now and {b} keeps confusing me.",
    "Any tips on {a} would be really appreciated.",
    "Here is what I tried so far: {a}, then {b}.",
    "The documentation on {a} did not help much.",
    "Edit: solved it, the problem was {a}.",
    "Thanks in advance!",
    "My setup uses {a} together with {b}.",
    "Is there a better way to handle {a}?",
    "I read three blog posts about {a} and they all disagree.",
    "Compared to {b}, {a} feels much more natural once it clicks.",
]
# fmt: on


# ------------------------------------------------------------------------------------------
# Generation
# ------------------------------------------------------------------------------------------


class _Gen:
    """Holds the random generator and counters while a world is built."""

    def __init__(self, params: WorldParams) -> None:
        self.p = params
        self.rng = random.Random(params.seed)
        self.world = World(params)
        self.seq = 0
        self.used_ids: dict[str, None] = {}

    # -- small helpers -------------------------------------------------------------------
    def new_id(self, lo: int, hi: int) -> str:
        while True:
            ident = base36(self.rng.randrange(lo, hi))
            if ident not in self.used_ids:
                self.used_ids[ident] = None
                return ident

    def topics_pick(self, topics: list[str]) -> tuple[str, str]:
        a, b = self.rng.sample(topics, 2) if len(topics) > 1 else (topics[0], topics[0])
        return a, b

    def title(self, topics: list[str]) -> str:
        a, b = self.topics_pick(topics)
        tpl = self.rng.choice(_TITLES)
        return tpl.format(a=a, b=b, A=a[:1].upper() + a[1:])

    def selftext(self, topics: list[str], paragraphs: int) -> str:
        paras: list[str] = []
        for _ in range(paragraphs):
            sentences = []
            for _ in range(self.rng.randint(1, 4)):
                a, b = self.topics_pick(topics)
                sentences.append(self.rng.choice(_SENTENCES).format(a=a, b=b))
            paras.append(" ".join(sentences))
        return "\n\n".join(paras)

    # -- subreddits ----------------------------------------------------------------------
    def make_sub(self, display: str, state: str, topics: list[str], size: int) -> Subreddit:
        rng = self.rng
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
            id=self.new_id(36**4 * 2, 36**6),
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
            icon_img=""
            if rng.random() < 0.4
            else f"https://b.thumbs.redditmedia.com/{display}.png",
            community_icon=""
            if rng.random() < 0.3
            else f"https://styles.redditmedia.com/t5_x/styles/communityIcon_{display}.png",
            primary_color=rng.choice(["", "#0079d3", "#ff4500", "#46d160", "#373c3f"]),
            topics=topics,
            flairs=rng.sample(_FLAIRS, rng.randint(0, 4)),
        )
        n_rules = rng.randint(2, 6)
        rule_names = [
            ("Be respectful", "No personal attacks, harassment or bigotry."),
            ("No spam", "Self-promotion is limited to one post in ten."),
            ("Stay on topic", f"Posts must be about {topics[0]} or closely related."),
            ("Search first", "Check the FAQ and search before asking common questions."),
            ("No low-effort posts", "Memes and one-line questions will be removed."),
            ("Use flair", "Flair your post so people can find it."),
            ("No piracy", "Do not link to or ask for pirated content."),
        ]
        for prio, (short, desc) in enumerate(rng.sample(rule_names, n_rules)):
            sub.rules.append(
                Rule(
                    kind=rng.choice(["all", "all", "link", "comment"]),
                    short_name=short,
                    description=desc,
                    violation_reason=short,
                    created_utc=float(int(created) + rng.randint(DAY, 2000 * DAY)),
                    priority=prio,
                )
            )
        return sub

    def gen_sub_names(self, count: int, taken: dict[str, None]) -> list[tuple[str, list[str]]]:
        rng = self.rng
        out: list[tuple[str, list[str]]] = []
        attempts = 0
        while len(out) < count:
            attempts += 1
            stem_l, stem_d, words = rng.choice(_GEN_TOPICS)
            suf_l, suf_d = rng.choice(_GEN_SUFFIXES)
            style = rng.random()
            if style < 0.4:
                name = stem_l + suf_l
            elif style < 0.75:
                name = stem_d + suf_d
            elif style < 0.9 and suf_l:
                name = f"{stem_l}_{suf_l}"
            else:
                name = stem_d + suf_l
            if attempts > 200:  # many subreddits: add digits
                name = f"{name}{rng.randint(2, 9999)}"
            name = name[:21]
            low = name.lower()
            if len(name) < 3 or low in taken or low.startswith("u_"):
                continue
            taken[low] = None
            out.append((name, list(words)))
        return out

    # -- users ---------------------------------------------------------------------------
    def gen_user_names(self, count: int, taken: dict[str, None]) -> list[str]:
        rng = self.rng
        out: list[str] = []
        while len(out) < count:
            adj, noun = rng.choice(_ADJECTIVES), rng.choice(_NOUNS)
            style = rng.random()
            if style < 0.3:
                name = f"{adj}_{noun}{rng.randint(1, 999)}"
            elif style < 0.55:
                name = f"{adj.capitalize()}{noun.capitalize()}"
            elif style < 0.7:
                name = f"{adj}-{noun}-{rng.randint(1, 99)}"
            elif style < 0.85:
                name = f"{adj.capitalize()}_{noun.capitalize()}_{rng.randint(1970, 2012)}"
            elif style < 0.93:
                name = f"throwaway{rng.randint(1000, 99999)}"
            else:
                name = f"xX{noun}Xx{rng.randint(1, 99)}"
            name = name[:20]
            low = name.lower()
            if len(name) < 3 or low in taken:
                continue
            taken[low] = None
            out.append(name)
        return out

    def make_user(self, name: str, state: str) -> User:
        rng = self.rng
        link_karma = int(rng.lognormvariate(5, 2))
        comment_karma = int(rng.lognormvariate(6, 2))
        awardee = rng.choice([0, 0, 0, rng.randint(1, 500)])
        awarder = rng.choice([0, 0, 0, rng.randint(1, 200)])
        return User(
            name=name,
            id=self.new_id(36**7, 36**8),
            state=state,
            created_utc=float(NOW - rng.randint(30 * DAY, 12 * YEAR)),
            link_karma=link_karma,
            comment_karma=comment_karma,
            awardee_karma=awardee,
            awarder_karma=awarder,
            profile_id=self.new_id(36**4 * 10, 36**6),
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

    # -- posts ---------------------------------------------------------------------------
    def make_post(
        self,
        sub: Subreddit | None,
        author: User | None,
        created: float,
        *,
        author_name: str | None = None,
        title: str | None = None,
        selftext: str | None = None,
        score: int | None = None,
        edited: bool | float | None = None,
        kind: str | None = None,
        stickied: bool = False,
    ) -> Post:
        rng = self.rng
        topics = sub.topics if sub is not None else ["my projects", "life updates", "my cat"]
        if sub is not None:  # nobody posts before the subreddit exists
            created = max(created, sub.created_utc + DAY)
        if kind is None:
            r = rng.random()
            kind = "self" if r < 0.6 else ("link" if r < 0.85 else "image")
        if title is None:
            title = self.title(topics)
        if selftext is None:
            selftext = self.selftext(topics, rng.randint(1, 4)) if kind == "self" else ""
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
        self.seq += 1
        url = ""
        domain = ""
        thumbnail = ""
        if kind == "self":
            if sub is not None:
                domain = f"self.{sub.name}"
            else:
                domain = f"self.u_{author.name if author is not None else author_name}"
            thumbnail = "self" if rng.random() < 0.8 else ""
        elif kind == "link":
            domain = rng.choice(_LINK_DOMAINS)
            words = _URL_WORD_RE.findall(title.lower())[:4]
            url = f"https://{domain}/{'-'.join(words)}-{self.seq}"
            thumbnail = rng.choice(
                ["default", "default", "", f"https://b.thumbs.redditmedia.com/l{self.seq}.jpg"]
            )
        else:
            domain = "i.redd.it"
            url = f"https://i.redd.it/img{self.seq:07d}.jpeg"
            thumbnail = f"https://b.thumbs.redditmedia.com/t{self.seq}.jpg"
        over_18 = bool(sub is not None and sub.over18)
        spoiler = rng.random() < 0.03
        if over_18 and kind != "self":
            thumbnail = "nsfw"
        elif spoiler and kind != "self":
            thumbnail = "spoiler"
        flair = None
        if sub is not None and sub.flairs and rng.random() < 0.5:
            flair = rng.choice(sub.flairs)
        name = author_name if author_name is not None else (author.name if author else DELETED)
        return Post(
            sub=sub,
            author=name,
            user=author,
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
            seq=self.seq,
        )

    def post_age(self, user: User) -> float:
        rng = self.rng
        span = NOW - user.created_utc
        age = rng.uniform(0, span) if rng.random() < 0.15 else rng.expovariate(1 / (150 * DAY))
        return NOW - max(60.0, min(age, span - HOUR))

    def add(self, post: Post) -> Post:
        self.world.posts.append(post)
        return post

    def random_post_for(self, user: User, *, recent_days: float | None = None) -> Post:
        rng = self.rng
        if recent_days is None:
            created = self.post_age(user)
        else:
            created = NOW - rng.uniform(HOUR, recent_days * DAY)
        if rng.random() < 0.07 or not user.home:
            return self.add(self.make_post(None, user, created, author_name=user.name))
        weights = [3.0] + [1.0] * (len(user.home) - 1)
        sub = rng.choices(user.home, weights=weights)[0]
        return self.add(self.make_post(sub, user, created))

    # -- main ----------------------------------------------------------------------------
    def build(self) -> World:
        rng = self.rng
        w = self.world
        p = self.p
        # Subreddits.
        taken: dict[str, None] = {
            n: None for n in [*WELL_KNOWN_SUBS, *SPECIAL_SUBS, GHOST_SUB, NONEXISTENT_SUB]
        }
        for low, display in WELL_KNOWN_SUBS.items():
            sub = self.make_sub(display, "ok", _WELL_KNOWN_TOPICS[low], 900_000)
            sub.flairs = ["Discussion", "Help", "Showcase", "News", "Tutorial"]
            w.subreddits.append(sub)
        for low, state in SPECIAL_SUBS.items():
            words = rng.choice(_GEN_TOPICS)[2]
            w.subreddits.append(self.make_sub(low, state, list(words), 20_000))
        n_gen = max(0, p.n_subreddits - MIN_SUBREDDITS)
        for name, words in self.gen_sub_names(n_gen, taken):
            state = "ok"
            if rng.random() < 0.1:
                state = rng.choice(["private", "quarantined", "gated", "banned"])
            w.subreddits.append(self.make_sub(name, state, words, rng.randint(500, 300_000)))
        w._subs_by_lower = {s.lower: s for s in w.subreddits}
        ghost = self.make_sub(GHOST_SUB, "nonexistent", ["old memes", "lost posts"], 1000)
        w.ghost = ghost

        # Users.
        utaken: dict[str, None] = {n: None for n in SPECIAL_USERS}
        for name, state in SPECIAL_USERS.items():
            w.users.append(self.make_user(name, state))
        for name in self.gen_user_names(max(0, p.n_users - len(SPECIAL_USERS)), utaken):
            r = rng.random()
            state = "ok"
            if r < 0.03:
                state = "suspended"
            elif r < 0.06:
                state = "not_found"
            elif r < 0.09:
                state = "private_posts"
            w.users.append(self.make_user(name, state))
        w._users_by_lower = {u.name.lower(): u for u in w.users}

        # Home subreddits, weighted towards the well-known ones.
        pool = [*w.subreddits, ghost]
        weights = []
        for s in pool:
            if s.lower in WELL_KNOWN_SUBS:
                weights.append(10.0)
            elif s.lower in SPECIAL_SUBS or s is ghost:
                weights.append(0.6)
            else:
                weights.append(rng.uniform(1.0, 4.0))
        lo, hi = p.posts_per_user
        for user in w.users:
            k = rng.choice([1, 2, 2, 3, 3, 3, 4, 5])
            home: list[Subreddit] = []
            for _ in range(k * 3):
                s = rng.choices(pool, weights=weights)[0]
                if s not in home:
                    home.append(s)
                if len(home) == k:
                    break
            user.home = home
            n_posts = rng.randint(lo, hi)
            if rng.random() < 0.03:
                user.power = True
                n_posts = rng.randint(max(hi, 1) * 4, max(hi, 1) * 8)
            for _ in range(n_posts):
                self.random_post_for(user)

        # [deleted] / [removed] posts in every subreddit.
        for sub in [*w.subreddits, ghost]:
            for _ in range(rng.randint(1, 6)):
                author = DELETED if rng.random() < 0.6 else REMOVED
                created = NOW - rng.expovariate(1 / (200 * DAY))
                text = author if rng.random() < 0.7 else ""
                self.add(
                    self.make_post(
                        sub, None, created, author_name=author, selftext=text, kind="self"
                    )
                )

        generated_users = [u for u in w.users if u.name not in SPECIAL_USERS]
        ok_users = [u for u in generated_users if u.state == "ok"]
        if len(ok_users) < 4:  # tiny worlds: make sure there are enough normal authors
            for u in generated_users[:4]:
                u.state = "ok"
            ok_users = [u for u in generated_users if u.state == "ok"]
        self._top_up(ok_users)
        self._add_quirk_posts(ok_users)
        self._add_stickies(ok_users)
        self._finalise()
        return w

    def _top_up(self, ok_users: list[User]) -> None:
        """Guarantee enough recent posts in the well-known subreddits."""
        rng = self.rng
        w = self.world
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
                self.add(self.make_post(sub, user, created))

    def _add_quirk_posts(self, ok_users: list[User]) -> None:
        """Posts with every quirk, on top of the well-known subreddits' listings."""
        rng = self.rng
        w = self.world
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
            hi = max(self.p.posts_per_user[1], 30)
            for _ in range(rng.randint(hi * 4, hi * 8)):
                self.random_post_for(qa[0])
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
            user = author if isinstance(author, User) else None
            name = author if isinstance(author, str) else None
            self.add(
                self.make_post(
                    sub,
                    user,
                    created,
                    author_name=name,
                    title=title,
                    selftext=selftext,
                    score=score,
                    edited=ed,
                    kind=kind,
                )
            )

        # Quirk authors post recently in special subreddits, on their profile and elsewhere,
        # so that crawling the well-known subreddits discovers every state.
        generated_ok = [
            s for s in w.subreddits if s.state == "ok" and s.lower not in WELL_KNOWN_SUBS
        ]
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
            author_name = author.name if target is None else None
            self.add(self.make_post(target, author, created, author_name=author_name, score=50 + i))

    def _add_stickies(self, ok_users: list[User]) -> None:
        rng = self.rng
        for sub in self.world.subreddits:
            if sub.lower in WELL_KNOWN_SUBS:
                n = 1 if sub.lower != "python" else 2
            else:
                n = 1 if rng.random() < 0.3 else 0
            for i in range(n):
                mod = rng.choice(ok_users)
                created = float(NOW - rng.randint(2 * DAY, 30 * DAY) - i * DAY)
                self.add(
                    self.make_post(
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
                )

    def _finalise(self) -> None:
        rng = self.rng
        w = self.world
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


# Recently used worlds stay alive (LRU); worlds still referenced elsewhere (by tenants) are
# found through the weak map, so equal parameters always share one World object.
_WORLD_CACHE: dict[WorldParams, World] = {}
_WORLD_CACHE_MAX: Final[int] = 8
_WORLD_REFS: weakref.WeakValueDictionary[WorldParams, World] = weakref.WeakValueDictionary()


def generate_world(params: WorldParams) -> World:
    """Generate a world (uncached)."""
    lo, hi = params.posts_per_user
    if not 0 <= lo <= hi:
        raise ValueError("posts_per_user must be [lo, hi] with 0 <= lo <= hi")
    if params.n_users < MIN_USERS:
        raise ValueError(f"n_users must be >= {MIN_USERS}")
    return _Gen(params).build()


def get_world(params: WorldParams) -> World:
    """Return the shared world for ``params`` (cached; regenerating gives identical data)."""
    world = _WORLD_CACHE.pop(params, None) or _WORLD_REFS.get(params)
    if world is None:
        world = generate_world(params)
        _WORLD_REFS[params] = world
    while len(_WORLD_CACHE) >= _WORLD_CACHE_MAX:
        _WORLD_CACHE.pop(next(iter(_WORLD_CACHE)))
    _WORLD_CACHE[params] = world
    return world
