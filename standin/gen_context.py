"""State shared by the world generator while one world is built.

A :class:`GenContext` holds the world being filled, its private ``random.Random(seed)`` (never
the global generator), the post sequence counter and the ids already handed out. The
``standin.gen_*`` modules take it as their first argument.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from standin.model import Post, WorldParams, base36

if TYPE_CHECKING:
    from standin.world import World


class GenContext:
    """The random generator and counters while a world is built."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.p: WorldParams = world.params
        self.rng = random.Random(world.params.seed)
        self.seq = 0
        self.used_ids: dict[str, None] = {}

    def new_id(self, lo: int, hi: int) -> str:
        """A base-36 id drawn from ``[lo, hi)``, unique among the ids of this world."""
        while True:
            ident = base36(self.rng.randrange(lo, hi))
            if ident not in self.used_ids:
                self.used_ids[ident] = None
                return ident

    def next_seq(self) -> int:
        """The next post sequence number (1, 2, ...)."""
        self.seq += 1
        return self.seq

    def add(self, post: Post) -> Post:
        """Add ``post`` to the world (ids, listings and owners are set when finalised)."""
        self.world.posts.append(post)
        return post
