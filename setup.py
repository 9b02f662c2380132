"""Packaging for Scrapyd: ``scrapyd-deploy`` builds an egg from this file (see docs/scrapyd.md).

Committed on purpose: without it ``scrapyd-deploy`` writes its own ``setup.py`` that packs
every package it finds (``standin``, ``tests``, ``scripts``, ``benchmarks`` too) and leaves the
SQL migrations out. Scrapyd runs the project from the zipped egg; the migrations are package
data read with ``importlib.resources``, which reads from a zip. The project's dependencies
(Scrapy, psycopg, fake-useragent and its bundled data) are not in the egg: they must be
installed in the Python environment that runs ``scrapyd``.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"',
    (HERE / "reddit_crawler" / "__init__.py").read_text(encoding="utf-8"),
    re.MULTILINE,
).group(1)

setup(
    name="reddit_crawler",
    version=VERSION,
    description="A Scrapy project that crawls Reddit into PostgreSQL",
    python_requires=">=3.11",
    packages=find_packages(include=["reddit_crawler", "reddit_crawler.*"]),
    package_data={"reddit_crawler.db": ["migrations/*.sql"]},
    entry_points={"scrapy": ["settings = reddit_crawler.settings"]},
    # Scrapyd imports the project from the zipped egg; nothing in it needs a real file.
    zip_safe=True,
)
