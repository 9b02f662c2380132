"""reddit_crawler: a Scrapy project that crawls Reddit into PostgreSQL."""

__version__ = "0.1.0"
