"""Scrapy settings of the reddit_crawler project.

Every setting of our own is documented in README.md with its default. Spider
arguments (``-a subs=…``) can also be given as ``REDDIT_<NAME>`` settings.
"""

BOT_NAME = "reddit_crawler"
SPIDER_MODULES = ["reddit_crawler.spiders"]
NEWSPIDER_MODULE = "reddit_crawler.spiders"
COMMANDS_MODULE = "reddit_crawler.commands"

# -- Reddit --------------------------------------------------------------------------
REDDIT_BASE_URL = "https://www.reddit.com"
REDDIT_PROGRESS_INTERVAL = 30.0
REDDIT_STATS_FILE = ""

# -- Engine ----------------------------------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# Scrapy 2.19's remote-control extension executes code sent to a local port: never on.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False
ROBOTSTXT_OBEY = False
CONCURRENT_REQUESTS = 32
CONCURRENT_REQUESTS_PER_DOMAIN = 32
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 3
COOKIES_ENABLED = False
# Our items are tiny; fewer concurrent item tasks per response save CPU.
CONCURRENT_ITEMS = 4
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
USER_AGENT = "python:reddit_crawler:0.1 (by /u/reddit_crawler)"
DEFAULT_REQUEST_HEADERS = {"Accept": "application/json"}
LOG_LEVEL = "INFO"

EXTENSIONS = {
    "reddit_crawler.extensions.progress.Progress": 500,
}
