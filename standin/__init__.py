"""Offline Reddit stand-in: a deterministic fake Reddit served over HTTP by aiohttp.

Used by tests, the demo and benchmarks instead of the real Reddit API. The package is split into:

- :mod:`standin.world`: deterministic world generation (subreddits, users, posts, listings);
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
