"""Downloader middlewares: rate limits and 429s, OAuth, proxies, user agents."""
