"""Awaiting a worker thread's result from the reactor thread, without blocking it.

Used by the PostgreSQL pipeline (its writer thread) and the distributed worker (its Redis
thread). Reads no settings.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import TypeVar

from scrapy.utils.asyncio import is_asyncio_available, run_in_thread

T = TypeVar("T")


async def await_future(future: Future[T]) -> T:
    """The future's result, awaited on the reactor (asyncio or not)."""
    if is_asyncio_available():
        return await asyncio.wrap_future(future)
    return await run_in_thread(future.result)
