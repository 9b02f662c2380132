"""Offline Reddit stand-in: a deterministic fake Reddit served over HTTP by aiohttp.

Used by tests, the demo and benchmarks instead of the real Reddit API. The package is split into:

- :mod:`standin.world`: the :class:`~standin.world.World` (lookups, listings) and the cached
  entry points ``generate_world``/``get_world``;
- :mod:`standin.model`: the clock, the fixed names and the records (subreddits, users, posts);
- :mod:`standin.generate`: deterministic world generation, in steps kept in
  :mod:`standin.gen_subreddits`, :mod:`standin.gen_users`, :mod:`standin.gen_posts` and
  :mod:`standin.gen_quirks` (with :mod:`standin.gen_context`, :mod:`standin.naming` and the
  word lists of :mod:`standin.vocab`);
- :mod:`standin.shapes`: JSON bodies in Reddit's real response shapes;
- :mod:`standin.server`: the aiohttp application (tenants, hosts, admin API, Reddit endpoints);
- :mod:`standin.tenant`: tenant config validation and the request log entry;
- :mod:`standin.access`: public-access block, OAuth tokens and rate limits;
- :mod:`standin.faults`: fault injection (5xx, resets, bad bodies, slow answers, redirects);
- :mod:`standin.truth`: the ground truth of a crawl plan over a world;
- :mod:`standin.client`: helpers to start/stop the server and call its admin API.

Start it with ``python -m standin --host 127.0.0.1 --port 0 --port-file PATH``.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "1.1.0"
