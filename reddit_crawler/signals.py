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

``items_lost``
    Sent by the same pipeline, with ``items=[…]``, when the writer failed a whole flush
    (``postgres/lost``): those items are not stored. Distributed crawling gives their units
    back to the queue so another attempt stores them.
"""

from __future__ import annotations

items_stored = object()
items_lost = object()

__all__ = ["items_lost", "items_stored"]
