"""Item pipelines of the project (``ITEM_PIPELINES``); reads no settings itself."""

from reddit_crawler.pipelines.postgres import PostgresPipeline

__all__ = ["PostgresPipeline"]
