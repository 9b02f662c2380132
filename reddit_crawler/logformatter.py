"""Log formatter: no per-item "Scraped from" records.

Scrapy builds a DEBUG record for every item even when the log level drops it; our posts carry
texts of up to 40,000 characters and a crawl yields about fifteen items per response, so those
records cost a fifth of the crawler's CPU and would flood a DEBUG log. Items are counted in the
stats (``reddit/items/<kind>``) and the progress line instead. Reads no settings.
"""

from __future__ import annotations

from typing import Any

from scrapy.logformatter import LogFormatter, LogFormatterResult


class QuietItemsLogFormatter(LogFormatter):
    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult | None:  # type: ignore[override]
        return None
