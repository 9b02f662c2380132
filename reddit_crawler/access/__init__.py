"""Access to Reddit: auth mode, proxy list, per-identity rate-limit state.

Pure logic shared by the downloader middlewares in :mod:`reddit_crawler.middlewares`.
"""
