"""Random names and text for the world generator.

Generated subreddit and user names (unique case-insensitively against a ``taken`` map), post
titles and self-text paragraphs, all drawn from the :mod:`standin.vocab` word lists with the
generator's own ``random.Random``. The order of the draws is part of the world's identity:
the same seed must keep giving the same names.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from standin.vocab import ADJECTIVES, GEN_SUFFIXES, GEN_TOPICS, NOUNS, SENTENCES, TITLES

_T = TypeVar("_T")

#: Longest generated names (Reddit allows 21 characters for subreddits, 20 for users).
SUB_NAME_MAX = 21
USER_NAME_MAX = 20


def _draw_unique(
    count: int,
    taken: dict[str, None],
    max_len: int,
    draw: Callable[[int], tuple[str, _T]],
    reserved_prefix: str | None = None,
) -> list[tuple[str, _T]]:
    """Call ``draw(attempt)`` until ``count`` new names are found; record them in ``taken``.

    A drawn name is cut to ``max_len`` and dropped if it is shorter than 3 characters, already
    taken (case-insensitively) or starts with ``reserved_prefix`` (lower case).
    """
    out: list[tuple[str, _T]] = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        name, extra = draw(attempts)
        name = name[:max_len]
        low = name.lower()
        if len(name) < 3 or low in taken:
            continue
        if reserved_prefix is not None and low.startswith(reserved_prefix):
            continue
        taken[low] = None
        out.append((name, extra))
    return out


def sub_names(
    rng: random.Random, count: int, taken: dict[str, None]
) -> list[tuple[str, list[str]]]:
    """``count`` new subreddit names, each with the topic words of its stem."""

    def draw(attempts: int) -> tuple[str, list[str]]:
        stem_l, stem_d, words = rng.choice(GEN_TOPICS)
        suf_l, suf_d = rng.choice(GEN_SUFFIXES)
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
        return name, list(words)

    return _draw_unique(count, taken, SUB_NAME_MAX, draw, reserved_prefix="u_")


def user_names(rng: random.Random, count: int, taken: dict[str, None]) -> list[str]:
    """``count`` new user names in the usual Reddit styles."""

    def draw(_attempts: int) -> tuple[str, None]:
        adj, noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
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
        return name, None

    return [name for name, _ in _draw_unique(count, taken, USER_NAME_MAX, draw)]


def topics_pick(rng: random.Random, topics: list[str]) -> tuple[str, str]:
    """Two different topics (the same one twice if there is only one)."""
    a, b = rng.sample(topics, 2) if len(topics) > 1 else (topics[0], topics[0])
    return a, b


def title(rng: random.Random, topics: list[str]) -> str:
    """A post title about ``topics``."""
    a, b = topics_pick(rng, topics)
    tpl = rng.choice(TITLES)
    return tpl.format(a=a, b=b, A=a[:1].upper() + a[1:])


def selftext(rng: random.Random, topics: list[str], paragraphs: int) -> str:
    """``paragraphs`` paragraphs of one to four sentences about ``topics``."""
    paras: list[str] = []
    for _ in range(paragraphs):
        sentences = []
        for _ in range(rng.randint(1, 4)):
            a, b = topics_pick(rng, topics)
            sentences.append(rng.choice(SENTENCES).format(a=a, b=b))
        paras.append(" ".join(sentences))
    return "\n\n".join(paras)
