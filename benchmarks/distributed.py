"""The ``distributed`` scenario of ``bench_crawl.py``: one worker versus three, through Redis.

Each run publishes the plan with ``scrapy enqueue`` (a fresh crawl name) and starts the
workers (``scrapy crawl reddit -a crawl=NAME`` with ``REDIS_URL``) at once; wall time runs
from the enqueue to the last worker's exit. Two settings of the stand-in:

* ``limits`` — the design document's latencies x 0.1 and P=3 squid proxies with ``ip_limit``
  R per W seconds each, shared by all workers (their pace shared in Redis): the limits bound
  the crawl whatever the number of workers, so the point is zero 429s at the same speed;
* ``cpu`` — no latency, no limit, a bigger world: the crawl is bound by the crawler's CPU,
  which three processes spread over the machine's cores.

Every run must fetch exactly the plan's requests (the stand-in's ground truth), each URL
once. Printed: wall medians [min-max], the speed-up (1 worker's wall / 3 workers'), 429s.
Needs Redis at ``$BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import os
import resource
import secrets
import subprocess
import time
from collections import Counter
from typing import Any

import redis

from benchmarks.common import PYTHON, ROOT, clean_env, client, latency_config
from reddit_crawler.distributed.frontier import Frontier

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
WORKERS = (1, 3)
LIMITS = {"proxies": 3, "limit": 45, "window": 10, "latency_scale": 0.1, "subs": 12, "users": 25}
CPU = {"world": {"n_subreddits": 200, "n_users": 3000}, "subs": 60, "users": 25}


def run_distributed(
    bench: Any, tenant: str, subs: list[str], users: int, workers: int, settings: dict[str, Any]
) -> dict[str, Any]:
    """One distributed crawl; returns wall, CPU, requests, 429s, duplicates."""
    crawl = f"bench-{secrets.token_hex(4)}"
    common = {"REDIS_URL": REDIS_URL, "REDIS_POLL_INTERVAL": "0.2", **settings}
    stats_dir = bench.workdir / crawl
    stats_dir.mkdir()
    enqueue = [PYTHON, "-m", "scrapy", "enqueue", "-a", f"crawl={crawl}",
               "-a", "subs=" + ",".join(subs), "-a", f"users_per_sub={users}", "-a", "depth=0",
               "-s", "POSTGRES_ENABLED=false", "-s", f"REDIS_URL={REDIS_URL}"]  # fmt: skip
    env = clean_env()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    started = time.monotonic()
    subprocess.run(enqueue, cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    procs = []
    for i in range(workers):
        cmd = worker_command(bench.lab.url(tenant), crawl, stats_dir / f"w{i}.json", common)
        log = open(stats_dir / f"w{i}.log", "w")  # noqa: SIM115  (closed below)
        procs.append((subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=log, stdout=log), log))
    codes = []
    for proc, log in procs:
        codes.append(proc.wait(timeout=600))
        log.close()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    Frontier(redis.Redis.from_url(REDIS_URL, decode_responses=True), crawl).clear()
    log = bench.lab.requests(tenant)
    counted = [e for e in log if not e.get("limited")]
    urls = Counter((e["path"], tuple(sorted((e.get("query") or {}).items()))) for e in counted)
    return {
        "ok": all(code == 0 for code in codes),
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "counted": len(counted),
        "429": len(log) - len(counted),
        "duplicates": sum(n - 1 for n in urls.values()),
        "_t0": t0,
    }


def worker_command(base_url: str, crawl: str, stats: Any, settings: dict[str, Any]) -> list[str]:
    """A worker as users start one, with the settings ``bench_crawl`` gives every crawl."""
    merged = {"REDDIT_BASE_URL": base_url, "POSTGRES_ENABLED": "false",
              "REDDIT_STATS_FILE": str(stats), "REDDIT_DEFAULT_RATE": "0", "LOG_LEVEL": "INFO",
              **settings}  # fmt: skip
    cmd = [PYTHON, "-m", "scrapy", "crawl", "reddit", "-a", f"crawl={crawl}"]
    for key, value in merged.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def distributed(bench: Any, runs: int, results: dict[str, Any]) -> list[tuple[str, bool]]:
    from benchmarks.bench_crawl import say, seeds_of_default_world

    lab = bench.lab
    say("== distributed ==")
    proxies = [h.url for h in lab.proxies(LIMITS["proxies"])]
    limits = {"limit": LIMITS["limit"], "window": LIMITS["window"]}
    setups = {
        "limits": (
            {**latency_config(LIMITS["latency_scale"]), "ip_limit": limits},
            seeds_of_default_world(lab, LIMITS["subs"]),
            LIMITS["users"],
            {"PROXY_LIST": ",".join(proxies)},
        ),
        "cpu": (dict(CPU["world"]), _cpu_seeds(lab, CPU["subs"]), CPU["users"], {}),
    }
    verdicts: list[tuple[str, bool]] = []
    results["distributed"] = {}
    for name, (config, subs, users, settings) in setups.items():
        summary = _setup(bench, runs, name, config, subs, users, settings)
        results["distributed"][name] = summary
        n429, speedup = summary["429"], summary["speedup"]
        required = " (0 required)" if name == "limits" else ""
        text = f"distributed {name}: 3 workers {speedup:.2f}x as fast as 1, {n429} 429s{required}"
        verdicts.append((text, n429 == 0 or name != "limits"))
    return verdicts


def _setup(
    bench: Any,
    runs: int,
    name: str,
    config: dict[str, Any],
    subs: list[str],
    users: int,
    settings: dict[str, Any],
) -> dict[str, Any]:
    from benchmarks.bench_crawl import Row, print_raw, print_rows, say

    lab = bench.lab
    probe = lab.tenant(f"d-{name}-truth", **config)
    truth = client.truth(lab.base, probe, subs, users_per_sub=users, depth=0)
    total = int(truth["requests"]["total"])
    say(f"  {name}: {len(subs)} subreddits x {users} users, depth 0: {total} requests")
    rows = {n: Row(f"{name}, {n} worker(s)") for n in WORKERS}
    for i in range(runs):
        for n in WORKERS:
            r = run_distributed(
                bench, lab.tenant(f"d-{name}-{n}", **config), subs, users, n, settings
            )
            if not (r["ok"] and r["counted"] == total and r["duplicates"] == 0):
                bench.ok = False
                bench.notes.append(
                    f"distributed {name} x{n}: {r['counted']}/{total} requests, "
                    f"{r['duplicates']} duplicates, ok={r['ok']}"
                )
            rows[n].runs.append(r)
            say(
                f"  run {i + 1} {name} x{n}: wall {r['wall']:6.2f} s  cpu {r['cpu']:6.2f} s  "
                f"429s {r['429']}  requests {r['counted']}  duplicates {r['duplicates']}"
            )
    table = list(rows.values())
    columns = [("wall", "wall s", ".2f"), ("cpu", "cpu s", ".2f"), ("429", "429s", ".0f")]
    print_rows(table, columns)
    print_raw(table, ["wall", "cpu", "429", "counted", "duplicates"])
    one, three = (rows[n].spread("wall").median for n in WORKERS)
    n429 = sum(r["429"] for row in table for r in row.runs)
    say(f"  {name}: speed-up of 3 workers over 1: {one / three:.2f}x; 429s in all runs {n429}")
    say()
    walls = {row.name: [r["wall"] for r in row.runs] for row in table}
    return {"requests": total, "speedup": one / three, "429": n429, "walls": walls}


def _cpu_seeds(lab: Any, n: int) -> list[str]:
    from benchmarks.common import ok_subreddits

    probe = lab.tenant("d-cpu-world", **CPU["world"])
    return ok_subreddits(client.world_summary(lab.base, probe), n)
