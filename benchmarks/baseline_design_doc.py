"""The old system's v3.2.0 plan ("Reddit Scraper Phase 1: Async API Optimization"), faithfully.

The baseline of ``benchmarks/bench_crawl.py``. What the design document specifies, kept:

* ``PublicRedditAPI`` on one aiohttp ``ClientSession`` (``TCPConnector(limit=20,
  limit_per_host=10, ttl_dns_cache=300)``, ``ClientTimeout(total=30, connect=15)``, 15 s per
  request), a random browser User-Agent per request (fake-useragent), the proxy given as
  ``proxy="http://user:pass@host:port"``;
* ``_request_with_retry``: 404 → the JSON error (banned / not found), 403 → forbidden,
  429 → ``await asyncio.sleep(min(5 + retries * 2, 30))`` and again (``retries`` up to 5),
  other errors → ``raise_for_status`` → a client error, retried after ``base_delay``;
* per subreddit the five calls (about, rules, hot 30, top week 10, top year 100) through one
  ``asyncio.gather(..., return_exceptions=True)``; a failed about ends the subreddit;
* its users in batches of five, each batch one ``asyncio.gather`` of ``process_single_user``,
  which fetches the user's about and submitted (30) through ``asyncio.gather``;
* one thread per proxy ("1 main thread per proxy, each processes subreddits sequentially",
  round-robin distribution of the subreddits); without proxies, one thread going direct.

What the document leaves open, chosen here (none of it slows the baseline down):

* ``max_retries`` 5 and ``base_delay`` 1 s (the document names both, gives no value);
* users are selected as our crawler selects them (unique authors of hot, then top week, then
  top year, in order of first appearance, no ``[deleted]``/``[removed]``, at most
  ``--users-per-sub``), and — like our crawler — a user already processed in this run is
  skipped (a shared set), so both fetch the same requests; the set is filtered before the
  batches are cut;
* each thread runs its own event loop and its own ``PublicRedditAPI`` (an aiohttp session
  belongs to one loop); the database writes (``save_user``, ``save_posts``) are not done;
* the base URL is ``--base-url`` instead of ``https://www.reddit.com`` (the stand-in).

Usage::

    python benchmarks/baseline_design_doc.py --base-url http://127.0.0.1:P/t/T \
        --subs a,b,c --users-per-sub 10 [--proxies user:pw@127.0.0.1:3128,...]

Prints one JSON line: wall seconds, requests sent, 429 answers seen, subreddits and users done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import threading
import time
from typing import Any

import aiohttp
from fake_useragent import UserAgent

logger = logging.getLogger("baseline")


class ProxyManager:
    """Proxies as ``{'proxy': 'user:pass@host:port'}`` configs, their stats, User-Agents."""

    def __init__(self, proxies: list[str]) -> None:
        self.proxies = [{"proxy": p, "success": 0, "errors": 0} for p in proxies]
        self._ua = UserAgent(
            browsers=["Chrome", "Firefox", "Edge", "Safari"], platforms=["desktop"]
        )
        self._lock = threading.Lock()

    def generate_user_agent(self) -> str:
        return self._ua.random

    def update_proxy_stats(self, proxy_config: dict[str, Any], success: bool) -> None:
        with self._lock:
            proxy_config["success" if success else "errors"] += 1


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.rate_limited = 0
        self.failed = 0

    def add(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)


class PublicRedditAPI:
    def __init__(
        self,
        proxy_manager: ProxyManager,
        base_url: str,
        counters: Counters,
        max_retries: int = 5,
        base_delay: float = 1.0,
    ) -> None:
        self.proxy_manager = proxy_manager
        self.base_url = base_url.rstrip("/")
        self.counters = counters
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> PublicRedditAPI:
        connector = aiohttp.TCPConnector(limit=20, limit_per_host=10, ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(total=30, connect=15)
        self.session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.session:
            await self.session.close()

    async def ensure_session(self) -> None:
        if self.session is None or self.session.closed:
            connector = aiohttp.TCPConnector(limit=20, limit_per_host=10)
            self.session = aiohttp.ClientSession(connector=connector)

    async def _request_with_retry(
        self, url: str, proxy_config: dict[str, Any] | None
    ) -> dict[str, Any] | list[Any] | None:
        await self.ensure_session()
        assert self.session is not None
        proxy_url = f"http://{proxy_config['proxy']}" if proxy_config else None
        retries = 0
        while retries < self.max_retries:
            try:
                start_time = time.time()
                user_agent = self.proxy_manager.generate_user_agent()
                self.counters.add("requests")
                async with self.session.get(
                    url,
                    headers={"User-Agent": user_agent},
                    proxy=proxy_url,
                    timeout=aiohttp.ClientTimeout(total=15),
                ) as response:
                    response_time_ms = int((time.time() - start_time) * 1000)
                    status_code = response.status
                    logger.debug("REDDIT API: %s [%s] %sms", url, status_code, response_time_ms)
                    if status_code == 404:
                        json_response = await response.json(content_type=None)
                        reason = (
                            json_response.get("reason") if isinstance(json_response, dict) else None
                        )
                        if reason == "banned":
                            return {"error": "banned", "status": 404}
                        return {"error": "not_found", "status": 404}
                    if status_code == 403:
                        return {"error": "forbidden", "status": 403}
                    if status_code == 429:
                        self.counters.add("rate_limited")
                        rate_limit_delay = min(5 + (retries * 2), 30)
                        logger.warning("Rate limited - waiting %ss", rate_limit_delay)
                        if retries >= 5:
                            return {"error": "rate_limited", "status": 429}
                        await asyncio.sleep(rate_limit_delay)
                        retries += 1
                        continue
                    response.raise_for_status()
                    if proxy_config:
                        self.proxy_manager.update_proxy_stats(proxy_config, True)
                    return await response.json(content_type=None)
            except aiohttp.ClientError as e:
                retries += 1
                if proxy_config:
                    self.proxy_manager.update_proxy_stats(proxy_config, False)
                if retries < self.max_retries:
                    logger.warning("Request failed (%s/%s): %s", retries, self.max_retries, e)
                    await asyncio.sleep(self.base_delay)
                else:
                    logger.error("Request failed after %s retries: %s", self.max_retries, e)
                    break
        self.counters.add("failed")
        return None

    @staticmethod
    def _posts(response: Any) -> list[dict[str, Any]]:
        if not isinstance(response, dict) or "error" in response:
            return []
        children = (response.get("data") or {}).get("children") or []
        return [c["data"] for c in children if isinstance(c, dict) and "data" in c]

    async def get_subreddit_info(self, name: str, proxy_config: Any) -> dict[str, Any] | None:
        response = await self._request_with_retry(
            f"{self.base_url}/r/{name}/about.json", proxy_config
        )
        if not isinstance(response, dict):
            return None
        if "error" in response:
            return response
        return response.get("data") if response.get("kind") == "t5" else None

    async def get_subreddit_rules(self, name: str, proxy_config: Any) -> list[dict[str, Any]]:
        response = await self._request_with_retry(
            f"{self.base_url}/r/{name}/about/rules.json", proxy_config
        )
        if not isinstance(response, dict) or "error" in response:
            return []
        return list(response.get("rules") or [])

    async def get_subreddit_hot_posts(
        self, name: str, limit: int = 30, proxy_config: Any = None
    ) -> list[dict[str, Any]]:
        url = f"{self.base_url}/r/{name}/hot.json?limit={limit}"
        return self._posts(await self._request_with_retry(url, proxy_config))

    async def get_subreddit_top_posts(
        self, name: str, time_filter: str = "year", limit: int = 100, proxy_config: Any = None
    ) -> list[dict[str, Any]]:
        url = f"{self.base_url}/r/{name}/top.json?t={time_filter}&limit={limit}"
        return self._posts(await self._request_with_retry(url, proxy_config))

    async def get_user_info(self, username: str, proxy_config: Any) -> dict[str, Any] | None:
        response = await self._request_with_retry(
            f"{self.base_url}/user/{username}/about.json", proxy_config
        )
        if not isinstance(response, dict):
            return None
        if "error" in response:
            return response
        return response.get("data") if response.get("kind") == "t2" else None

    async def get_user_posts(
        self, username: str, limit: int = 30, proxy_config: Any = None
    ) -> list[dict[str, Any]]:
        url = f"{self.base_url}/user/{username}/submitted.json?limit={limit}"
        return self._posts(await self._request_with_retry(url, proxy_config))


def select_users(listings: list[list[dict[str, Any]]], cap: int) -> list[str]:
    """Unique authors in order of first appearance over the listings, no deleted/removed."""
    seen: set[str] = set()
    users: list[str] = []
    for posts in listings:
        for post in posts:
            author = post.get("author")
            if not isinstance(author, str) or author in ("[deleted]", "[removed]"):
                continue
            if author.lower() in seen:
                continue
            seen.add(author.lower())
            users.append(author)
            if len(users) >= cap:
                return users
    return users


class RedditScraper:
    def __init__(
        self, base_url: str, proxies: list[str], subs: list[str], users_per_sub: int
    ) -> None:
        self.base_url = base_url
        self.proxy_manager = ProxyManager(proxies)
        self.subs = subs
        self.users_per_sub = users_per_sub
        self.counters = Counters()
        self._processed_users: set[str] = set()
        self._users_lock = threading.Lock()
        self.subs_done = 0
        self.users_done = 0
        self.discovered: set[str] = set()
        self._lock = threading.Lock()

    # -- per user ---------------------------------------------------------------------------
    async def process_single_user(
        self, api: PublicRedditAPI, username: str, proxy: Any
    ) -> dict[str, Any] | None:
        try:
            user_info, user_posts = await asyncio.gather(
                api.get_user_info(username, proxy),
                api.get_user_posts(username, 30, proxy),
                return_exceptions=True,
            )
            if isinstance(user_info, BaseException) or not user_info or "error" in user_info:
                return None
            if isinstance(user_posts, BaseException):
                user_posts = []
            subs = {p.get("subreddit") for p in user_posts if p.get("subreddit")}
            return {"user_info": user_info, "subreddits": subs}
        except Exception as e:
            logger.debug("Error processing u/%s: %s", username, e)
            return None

    def _claim(self, users: list[str]) -> list[str]:
        with self._users_lock:
            fresh = [u for u in users if u.lower() not in self._processed_users]
            self._processed_users.update(u.lower() for u in fresh)
        return fresh

    # -- per subreddit ----------------------------------------------------------------------
    async def process_subreddit(self, api: PublicRedditAPI, name: str, proxy: Any) -> set[str]:
        results = await asyncio.gather(
            api.get_subreddit_info(name, proxy),
            api.get_subreddit_rules(name, proxy),
            api.get_subreddit_hot_posts(name, 30, proxy),
            api.get_subreddit_top_posts(name, "week", 10, proxy),
            api.get_subreddit_top_posts(name, "year", 100, proxy),
            return_exceptions=True,
        )
        subreddit_info, _rules, hot_30, top_10_weekly, top_100_yearly = results
        if (
            not subreddit_info
            or isinstance(subreddit_info, BaseException)
            or "error" in subreddit_info
        ):
            logger.error("Failed to fetch r/%s", name)
            return set()
        hot_30 = [] if isinstance(hot_30, BaseException) else hot_30
        top_10_weekly = [] if isinstance(top_10_weekly, BaseException) else top_10_weekly
        top_100_yearly = [] if isinstance(top_100_yearly, BaseException) else top_100_yearly
        users = self._claim(
            select_users([hot_30, top_10_weekly, top_100_yearly], self.users_per_sub)
        )
        discovered: set[str] = set()
        done = 0
        for i in range(0, len(users), 5):
            batch = users[i : i + 5]
            tasks = [self.process_single_user(api, username, proxy) for username in batch]
            for result in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(result, BaseException) or not result:
                    continue
                done += 1
                discovered.update(result["subreddits"])
        with self._lock:
            self.subs_done += 1
            self.users_done += done
        return discovered

    # -- threads ------------------------------------------------------------------------------
    async def _thread_main(self, proxy: Any, subs: list[str]) -> None:
        async with PublicRedditAPI(self.proxy_manager, self.base_url, self.counters) as api:
            for name in subs:
                found = await self.process_subreddit(api, name, proxy)
                with self._lock:
                    self.discovered.update(found)

    def run(self) -> None:
        configs: list[Any] = list(self.proxy_manager.proxies) or [None]
        threads = []
        for i, proxy in enumerate(configs):
            share = self.subs[i :: len(configs)]  # round-robin distribution
            thread = threading.Thread(
                target=asyncio.run, args=(self._thread_main(proxy, share),), name=f"proxy-{i}"
            )
            threads.append(thread)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--subs", required=True, help="comma-separated subreddit names")
    parser.add_argument("--users-per-sub", type=int, default=25)
    parser.add_argument("--proxies", default="", help="comma-separated user:pass@host:port")
    parser.add_argument("--log-level", default="ERROR")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(threadName)s %(message)s")
    proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    subs = [s.strip() for s in args.subs.split(",") if s.strip()]
    scraper = RedditScraper(args.base_url, proxies, subs, args.users_per_sub)
    started = time.monotonic()
    scraper.run()
    wall = time.monotonic() - started
    print(
        json.dumps(
            {
                "wall": wall,
                "requests": scraper.counters.requests,
                "rate_limited": scraper.counters.rate_limited,
                "failed": scraper.counters.failed,
                "subs_done": scraper.subs_done,
                "users_done": scraper.users_done,
                "threads": max(len(proxies), 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
