"""Exceptions shared by the project's components, and how commands report them. Reads no
settings."""

from __future__ import annotations

import sys

# Exit status of a command refused before any work started (bad input, unusable service).
CONFIG_ERROR_EXIT = 2


class ConfigError(Exception):
    """Bad input found before the crawl starts (argument, setting, database, proxy, credentials).

    Raise it from a component's ``from_crawler`` with a one-line message that names the bad
    value (passwords masked): ``scrapy crawl`` prints ``error: <message>`` and exits with
    status 2 before any request is sent.
    """


def print_error(exc: BaseException, status: int = CONFIG_ERROR_EXIT) -> int:
    """Print ``error: <message>`` (one line, on stderr); returns the exit ``status``."""
    print(f"error: {exc}", file=sys.stderr, flush=True)
    return status
