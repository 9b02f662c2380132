"""Signals of the project (sent through the crawler's ``SignalManager``, like Scrapy's own).

``items_stored``
    Sent by :class:`~reddit_crawler.pipelines.postgres.PostgresPipeline` on the reactor
    thread after each flush has completed, with ``items=[…]``: the item objects that flush
    handled durably — written in a committed transaction, or dead-lettered (rejected by
    PostgreSQL, or not storable at all, with the dead-letter line written). Every item the
    pipeline receives is reported exactly once, never before its flush committed; items
    lost because the writer itself failed (``postgres/lost``) are never reported. Connect
    with ``crawler.signals.connect(handler, signal=items_stored)``; the handler gets
    ``items`` as a keyword argument (a list, in no guaranteed order) and should be quick:
    it runs on the reactor thread. Distributed crawling uses it to acknowledge work only
    once it is stored.
"""

from __future__ import annotations

items_stored = object()

__all__ = ["items_stored"]
