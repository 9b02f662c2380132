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
REDDIT_OAUTH_URL = "https://oauth.reddit.com"
REDDIT_AUTH_URL = ""  # empty: REDDIT_BASE_URL
REDDIT_AUTH = ""  # empty: oauth when REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET are set
REDDIT_USER_AGENT = ""  # empty: python:reddit_crawler:<version> (by /u/reddit_crawler)
REDDIT_DEFAULT_RATE = 100.0
REDDIT_PROBE_REQUESTS = 10
REDDIT_RATE_SPREAD = False
REDDIT_429_RETRIES = 5
PROXY_LIST = ""
PROXY_FILE = ""
PROXY_RETRIES = 5
PROXY_BACKOFF_BASE = 5.0
PROXY_BACKOFF_MAX = 300.0
REDDIT_PROGRESS_INTERVAL = 30.0
REDDIT_STATS_FILE = ""

# -- Engine ----------------------------------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# Scrapy 2.19's remote-control extension executes code sent to a local port: never on.
REMOTE_CONTROL_ENABLED = False
TELNETCONSOLE_ENABLED = False
ROBOTSTXT_OBEY = False
# Politeness is per rate-limit identity (middlewares/ratelimit.py), not by concurrency: with
# Reddit's 400-800 ms answers a crawl needs many requests in flight to use its allowance.
CONCURRENT_REQUESTS = 256
CONCURRENT_REQUESTS_PER_DOMAIN = 256  # per proxy when proxies are used (one slot each)
# Top-year listings are ~300 KB each: let more answers wait for parsing before Scrapy stops
# downloading (its default is 5 MB).
SCRAPER_SLOT_MAX_ACTIVE_SIZE = 100_000_000
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
# The retry budget of every request, shared by Scrapy's RetryMiddleware (5xx, network errors,
# timeouts) and the spider (a 200 that is not JSON, a redirect to the login/over-18 page).
RETRY_TIMES = 3
# A part that fails after its retries is recorded (failed_parts, reddit/failed/<part>) and
# picked up by refresh=stale: a warning, not an error.
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"
COOKIES_ENABLED = False
# Our items are tiny; fewer concurrent item tasks per response save CPU.
CONCURRENT_ITEMS = 4
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_FORMATTER = "reddit_crawler.logformatter.QuietItemsLogFormatter"
DEFAULT_REQUEST_HEADERS = {"Accept": "application/json"}
LOG_LEVEL = "INFO"

# 429 is handled by our RateLimitMiddleware (wait for its identity, never at once).
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408]

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
    # process_request in this order; process_response/process_exception in reverse,
    # so 407/dead proxies, then 401, then 429 are seen before Scrapy's RetryMiddleware (550).
    "reddit_crawler.middlewares.ratelimit.RateLimitMiddleware": 555,
    "reddit_crawler.middlewares.oauth.OAuthMiddleware": 557,
    "reddit_crawler.middlewares.proxies.ProxyMiddleware": 560,
    "reddit_crawler.middlewares.useragents.UserAgentMiddleware": 565,
}

ITEM_PIPELINES = {
    "reddit_crawler.pipelines.postgres.PostgresPipeline": 800,
}
POSTGRES_ENABLED = True
POSTGRES_DSN = ""  # empty: $DATABASE_URL, else postgresql:///reddit

EXTENSIONS = {
    "reddit_crawler.extensions.progress.Progress": 500,
}
