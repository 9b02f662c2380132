"""Exceptions shared by the project's components. Reads no settings."""


class ConfigError(Exception):
    """Bad input found before the crawl starts (argument, setting, database, proxy, credentials).

    Raise it from a component's ``from_crawler`` with a one-line message that names the bad
    value (passwords masked): ``scrapy crawl`` prints ``error: <message>`` and exits with
    status 2 before any request is sent.
    """
