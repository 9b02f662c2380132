"""Crawl benchmarks: our crawler against the stand-in through real squid proxies.

Three scenarios, each run ``--runs`` times (default 3), medians printed with [min-max], every
raw run too, and the targets with PASS/FAIL. One stand-in for the whole command, a fresh
tenant per run (its rate-limit clock starts when it is configured, right before the run).

* ``rate-limited`` — P=3 squid proxies (distinct source IPs), ``ip_limit`` R requests per
  fixed W-second window per IP, the design document's latencies x 0.1, N seed subreddits x
  U users, depth 0. Spread bound = counted requests ÷ (P x R / W) seconds. Target: our wall
  ≤ 0.75 x the bound with zero 429s. The baseline (``baseline_design_doc.py``, the
  document's v3.2.0 plan) runs the same plan through the same proxies, for reference.
* ``latency-bound`` — no rate limit, the document's latencies (400-800 ms), the same plan
  and the same 3 proxies for both. Target: our wall ≤ 0.25 x the baseline's.
* ``cpu`` — zero latency, no proxy, a bigger world; CPU seconds (user + system) of the crawl
  process per request versus ``bare_spider.py`` fetching exactly the URLs our crawl fetched
  in the same run (from the stand-in's request log), with the same engine settings
  (``CONCURRENT_REQUESTS``, ``CONCURRENT_ITEMS`` …). Target ≤ 1.5x. Also ours with
  ``CONCURRENT_ITEMS=100`` (Scrapy's default) and the bare spider with 100.
* ``distributed`` — one worker versus three through Redis (``scrapy enqueue`` + workers), under
  per-proxy limits and CPU-bound; prints the speed-up and the 429s (see
  :mod:`benchmarks.distributed`). Target: zero 429s under the limits.

Our crawler always runs as ``scrapy crawl reddit`` (as ``tests/crawl.py`` runs it) with
``POSTGRES_ENABLED=false``, no feed, ``REDDIT_DEFAULT_RATE=0`` (without a configured limit the
stand-in sends no rate-limit headers; Reddit always does) and otherwise the project's settings.
Wall time is from process start to exit (interpreter and Scrapy start-up included), for the
baseline too. Usage (from the project root; needs squid)::

    .venv/bin/python benchmarks/bench_crawl.py [--runs 3]
        [--scenario all|rate-limited|latency-bound|cpu|distributed]
        [--json results.json] [--workdir DIR]

Exit status 1 when a target is missed (or a run did not complete its plan).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    BENCH_DIR,
    DOC_LATENCY_MS,
    PYTHON,
    ROOT,
    Lab,
    Spread,
    clean_env,
    client,
    crawl_command,
    latency_config,
    log_url,
    ok_subreddits,
    run_crawl,
    run_timed,
)


def distributed(bench: Bench, runs: int, results: dict[str, Any]) -> list[tuple[str, bool]]:
    """See :mod:`benchmarks.distributed` (needs Redis)."""
    from benchmarks.distributed import distributed as run

    return run(bench, runs, results)


SCENARIOS = ("rate-limited", "latency-bound", "cpu", "distributed")

# -- the plans -----------------------------------------------------------------------------------
PROXIES = 3
PLAN_SUBS = 12  # N seed subreddits (the first ok ones of the default world) …
PLAN_USERS = 25  # … x U users each (the crawler's default users_per_sub)
RL_LIMIT = 45  # R requests per window per proxy IP
RL_WINDOW = 10  # W seconds
RL_LATENCY_SCALE = 0.1
TARGET_RL = 0.75
TARGET_LB = 0.25
CPU_WORLD = {"n_subreddits": 200, "n_users": 3000}
CPU_SUBS = 100
CPU_USERS = 25
TARGET_CPU = 1.5


def project_setting(name: str) -> Any:
    return getattr(importlib.import_module("reddit_crawler.settings"), name)


@dataclass
class Row:
    """One measured variant: its raw runs (dicts of numbers) across the runs."""

    name: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    def spread(self, key: str) -> Spread:
        return Spread.of(float(r[key]) for r in self.runs)


def flag(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def say(text: str = "") -> None:
    print(text, flush=True)


def in_flight(log: list[dict[str, Any]], latency_ms: dict[str, float]) -> tuple[int, float]:
    """Peak and mean requests in flight at the server (arrival + the endpoint's latency)."""

    def kind(entry: dict[str, Any]) -> str:
        path = entry["path"]
        if path.startswith("/user/"):
            return "user_about" if "/about" in path else "user_submitted"
        for part, k in (
            ("/about/rules", "sub_rules"),
            ("/about", "sub_about"),
            ("/hot", "sub_hot"),
        ):
            if part in path:
                return k
        return "sub_top"

    events: list[tuple[float, int]] = []
    busy = 0.0
    for e in log:
        lat = latency_ms.get(kind(e), 0.0) / 1000.0 if not e.get("limited") else 0.0
        events += [(e["time"], 1), (e["time"] + lat, -1)]
        busy += lat
    events.sort()
    peak = level = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    span = (max(t for t, _ in events) - min(t for t, _ in events)) if events else 0.0
    return peak, (busy / span if span > 0 else 0.0)


def windows_of(
    log: list[dict[str, Any]], t0: float, window: float
) -> tuple[list[int], list[float]]:
    """Counted requests per rate-limit window (the stand-in's fixed windows, found from each
    entry's ``window_left``), and how long after each window opened (or, for the window
    running when our process started, after ``t0``) its first request arrived."""
    groups: list[tuple[float, list[float]]] = []  # (window end, arrival times)
    entries = [e for e in log if not e.get("limited") and e.get("window_left") is not None]
    for e in sorted(entries, key=lambda e: e["time"] + e["window_left"]):
        end = e["time"] + e["window_left"]
        if not groups or end - groups[-1][0] > window / 2:
            groups.append((end, []))
        groups[-1][1].append(e["time"])
    counts = [len(times) for _, times in groups]
    lags = [min(times) - max(end - window, t0) for end, times in groups]
    return counts, lags


# -- runners -------------------------------------------------------------------------------------


class Bench:
    def __init__(self, lab: Lab, workdir: Path) -> None:
        self.lab = lab
        self.workdir = workdir
        self.ok = True
        self.notes: list[str] = []
        self._n = 0

    def _path(self, stem: str, suffix: str) -> Path:
        self._n += 1
        return self.workdir / f"{self._n:03d}-{stem}{suffix}"

    def ours(
        self,
        tenant: str,
        subs: list[str],
        users: int,
        *,
        proxies: list[str] = (),  # type: ignore[assignment]
        settings: dict[str, Any] | None = None,
        label: str = "ours",
    ) -> dict[str, Any]:
        stats_file = self._path(label, ".stats.json")
        cmd = crawl_command(
            self.lab.url(tenant), subs, users, stats_file, proxies=proxies, settings=settings
        )
        t0 = time.time()
        run = run_crawl(cmd, stats_file)
        self._path(label, ".log").write_text(run.timed.stderr)
        log = self.lab.requests(tenant)
        if not run.ok:
            self.ok = False
            self.notes.append(
                f"{label}: exit {run.timed.returncode}, finish_reason "
                f"{run.stats.get('finish_reason')!r} (log {self.workdir})"
            )
        return self._result(run.timed, log, t0, ok=run.ok, stats=run.stats)

    def baseline(
        self, tenant: str, subs: list[str], users: int, proxies: list[str]
    ) -> dict[str, Any]:
        cmd = [
            PYTHON,
            str(BENCH_DIR / "baseline_design_doc.py"),
            "--base-url",
            self.lab.url(tenant),
            "--subs",
            ",".join(subs),
            "--users-per-sub",
            str(users),
            "--proxies",
            ",".join(proxies),
        ]
        t0 = time.time()
        timed = run_timed(cmd, cwd=ROOT, env=clean_env())
        self._path("baseline", ".log").write_text(timed.stdout + timed.stderr)
        log = self.lab.requests(tenant)
        try:
            summary = json.loads(timed.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            summary = {}
        ok = timed.returncode == 0 and summary.get("subs_done") == len(subs)
        if not ok:
            self.ok = False
            self.notes.append(f"baseline: exit {timed.returncode}, {summary} (log {self.workdir})")
        return self._result(timed, log, t0, ok=ok, stats=summary)

    def bare(self, tenant: str, urls: list[str], settings: dict[str, Any]) -> dict[str, Any]:
        urls_file = self._path("bare-urls", ".txt")
        urls_file.write_text("\n".join(urls) + "\n")
        stats_file = self._path("bare", ".stats.json")
        cmd = [
            PYTHON,
            "-m",
            "scrapy",
            "runspider",
            str(BENCH_DIR / "bare_spider.py"),
            "-a",
            f"urls_file={urls_file}",
            "-a",
            f"stats_file={stats_file}",
        ]
        for key, value in settings.items():
            cmd += ["-s", f"{key}={value}"]
        # From a directory without scrapy.cfg: the project's settings must not load.
        cwd = Path(tempfile.mkdtemp(prefix="bare-", dir=self.workdir))
        t0 = time.time()
        timed = run_timed(cmd, cwd=cwd, env=clean_env())
        self._path("bare", ".log").write_text(timed.stderr)
        log = self.lab.requests(tenant)
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
        ok = timed.returncode == 0 and stats.get("bare/decoded", 0) == len(urls)
        if not ok:
            self.ok = False
            self.notes.append(f"bare: exit {timed.returncode}, decoded {stats.get('bare/decoded')}")
        return self._result(timed, log, t0, ok=ok, stats=stats)

    @staticmethod
    def _result(
        timed: Any, log: list[dict[str, Any]], t0: float, *, ok: bool, stats: dict[str, Any]
    ) -> dict[str, Any]:
        counted = [e for e in log if not e.get("limited")]
        times = [e["time"] - t0 for e in log]
        return {
            "ok": ok,
            "wall": timed.wall,
            "cpu": timed.cpu,
            "cpu_user": timed.cpu_user,
            "cpu_sys": timed.cpu_sys,
            "requests": len(log),
            "counted": len(counted),
            "429": len(log) - len(counted),
            "first": min(times) if times else 0.0,
            "last": max(times) if times else 0.0,
            "stats": {k: v for k, v in stats.items() if isinstance(v, (int, float, str))},
            "_log": log,
            "_t0": t0,
        }


def print_rows(rows: list[Row], columns: list[tuple[str, str, str]]) -> None:
    """A table of medians [min-max]; columns are (key, header, format)."""
    width = max(len(r.name) for r in rows) + 2
    say("  " + "variant".ljust(width) + "".join(h.rjust(24) for _, h, _ in columns))
    for row in rows:
        cells = "".join(row.spread(k).fmt(f).rjust(24) for k, _, f in columns)
        say("  " + row.name.ljust(width) + cells)


def print_raw(rows: list[Row], keys: list[str]) -> None:
    say("  raw runs:")
    for row in rows:
        for i, r in enumerate(row.runs, 1):
            cells = ", ".join(
                f"{k}={r[k]:.3f}" if isinstance(r[k], float) else f"{k}={r[k]}" for k in keys
            )
            say(f"    {row.name} #{i}: {cells}")


# -- scenarios -----------------------------------------------------------------------------------


def seeds_of_default_world(lab: Lab, n: int) -> list[str]:
    tenant = lab.tenant("probe")
    return ok_subreddits(client.world_summary(lab.base, tenant), n)


def rate_limited(bench: Bench, runs: int, results: dict[str, Any]) -> list[tuple[str, bool]]:
    lab = bench.lab
    proxies = [h.url for h in lab.proxies(PROXIES)]
    subs = seeds_of_default_world(lab, PLAN_SUBS)
    probe = lab.tenant("truth")
    total = client.truth(lab.base, probe, subs, users_per_sub=PLAN_USERS, depth=0)["requests"]
    total = int(total["total"])
    per_window = PROXIES * RL_LIMIT
    rate = per_window / RL_WINDOW
    windows = math.ceil(total / per_window)
    ideal = (windows - 1) * RL_WINDOW
    say("== rate-limited ==")
    say(
        f"  plan: {PLAN_SUBS} subreddits x {PLAN_USERS} users, depth 0: {total} requests "
        f"(stand-in's ground truth); {PROXIES} squid proxies, ip_limit {RL_LIMIT} per "
        f"{RL_WINDOW} s per IP, latencies x {RL_LATENCY_SCALE}"
    )
    say(
        f"  spread bound {total} / ({PROXIES} x {RL_LIMIT} / {RL_WINDOW} s) = "
        f"{total / rate:.1f} s; {windows} windows of allowance needed: a crawler using each "
        f"window fully ends near {ideal} s ({ideal / (total / rate):.2f}x the bound)"
    )
    config = {
        **latency_config(RL_LATENCY_SCALE),
        "ip_limit": {"limit": RL_LIMIT, "window": RL_WINDOW},
    }
    rows = {"ours": Row("ours"), "baseline": Row("baseline (design doc)")}
    for i in range(runs):
        for who in ("ours", "baseline"):
            tenant = lab.tenant(f"rl-{who}", **config)
            if who == "ours":
                r = bench.ours(tenant, subs, PLAN_USERS, proxies=proxies, label="rl-ours")
            else:
                r = bench.baseline(tenant, subs, PLAN_USERS, proxies)
            bound = r["counted"] / rate
            r["bound"] = bound
            r["ratio"] = r["wall"] / bound
            r["per_window"], r["window_lag"] = windows_of(r["_log"], r["_t0"], RL_WINDOW)
            if r["counted"] != total:
                bench.ok = False
                bench.notes.append(
                    f"rate-limited {who}: {r['counted']} counted requests, plan {total}"
                )
            rows[who].runs.append(r)
            say(
                f"  run {i + 1} {who:>8}: wall {r['wall']:6.2f} s  {r['ratio']:.3f}x bound  "
                f"429s {r['429']:3d}  requests {r['counted']} (+{r['429']} limited)  "
                f"per window {r['per_window']}  first request after each window opened (s) "
                f"{[round(x, 2) for x in r['window_lag']]}"
            )
    table = list(rows.values())
    say()
    print_rows(
        table,
        [("wall", "wall s", ".2f"), ("ratio", "x spread bound", ".3f"), ("429", "429s", ".0f")],
    )
    print_raw(table, ["wall", "ratio", "429", "counted", "cpu"])
    ours = rows["ours"]
    ratio = ours.spread("ratio").median
    n429 = ours.spread("429").median
    met = ratio <= TARGET_RL and max(r["429"] for r in ours.runs) == 0
    say(
        f"  target: ours ≤ {TARGET_RL}x the spread bound with zero 429s: median "
        f"{ratio:.3f}x, 429s in all runs {sum(r['429'] for r in ours.runs)} -> {flag(met)}"
    )
    say()
    results["rate-limited"] = {
        "plan": {"subs": subs, "users_per_sub": PLAN_USERS, "requests": total},
        "config": {"proxies": PROXIES, "limit": RL_LIMIT, "window": RL_WINDOW},
        "spread_bound_s": total / rate,
        "rows": _rows_json(table),
        "target": TARGET_RL,
        "median_ratio": ratio,
        "median_429": n429,
        "met": met,
    }
    return [
        (f"rate-limited: ours {ratio:.3f}x spread bound, {int(n429)} 429s (≤ {TARGET_RL}x, 0)", met)
    ]


def latency_bound(bench: Bench, runs: int, results: dict[str, Any]) -> list[tuple[str, bool]]:
    lab = bench.lab
    proxies = [h.url for h in lab.proxies(PROXIES)]
    subs = seeds_of_default_world(lab, PLAN_SUBS)
    config = latency_config(1.0)
    concurrency = project_setting("CONCURRENT_REQUESTS")
    say("== latency-bound ==")
    say(
        f"  plan: {PLAN_SUBS} subreddits x {PLAN_USERS} users, depth 0, no rate limit, the "
        f"document's latencies (ms) {DOC_LATENCY_MS}; both through the same {PROXIES} proxies "
        f"(the baseline: one thread per proxy)"
    )
    rows = {
        "ours": Row(f"ours (CONCURRENT_REQUESTS={concurrency})"),
        "baseline": Row("baseline (design doc)"),
    }
    for i in range(runs):
        for who in ("ours", "baseline"):
            tenant = lab.tenant(f"lb-{who}", **config)
            if who == "baseline":
                r = bench.baseline(tenant, subs, PLAN_USERS, proxies)
            else:
                r = bench.ours(tenant, subs, PLAN_USERS, proxies=proxies, label=f"lb-{who}")
            peak, mean = in_flight(r["_log"], DOC_LATENCY_MS)
            r["peak_in_flight"], r["mean_in_flight"] = peak, mean
            rows[who].runs.append(r)
            say(
                f"  run {i + 1} {who:>8}: wall {r['wall']:6.2f} s  requests {r['requests']}  "
                f"first at {r['first']:.2f} s, last at {r['last']:.2f} s  in flight: peak "
                f"{peak}, mean {mean:.1f}"
            )
    table = list(rows.values())
    for row in table:
        base = rows["baseline"].spread("wall").median
        for r in row.runs:
            r["vs_baseline"] = r["wall"] / base
    say()
    print_rows(
        table,
        [
            ("wall", "wall s", ".2f"),
            ("vs_baseline", "x baseline median", ".3f"),
            ("mean_in_flight", "mean in flight", ".1f"),
        ],
    )
    print_raw(table, ["wall", "requests", "first", "last", "peak_in_flight", "cpu"])
    ours_wall = rows["ours"].spread("wall").median
    base_wall = rows["baseline"].spread("wall").median
    ratio = ours_wall / base_wall
    met = ratio <= TARGET_LB
    say(
        f"  target: ours ≤ {TARGET_LB}x the baseline: {ours_wall:.2f} s / {base_wall:.2f} s = "
        f"{ratio:.3f}x -> {flag(met)}"
    )
    say()
    results["latency-bound"] = {
        "plan": {"subs": subs, "users_per_sub": PLAN_USERS},
        "rows": _rows_json(table),
        "target": TARGET_LB,
        "ratio": ratio,
        "met": met,
    }
    return [(f"latency-bound: ours {ratio:.3f}x the baseline (≤ {TARGET_LB}x)", met)]


def cpu(bench: Bench, runs: int, results: dict[str, Any]) -> list[tuple[str, bool]]:
    lab = bench.lab
    probe = lab.tenant("cpu-probe", **CPU_WORLD)
    subs = ok_subreddits(client.world_summary(lab.base, probe), CPU_SUBS)
    items = int(project_setting("CONCURRENT_ITEMS"))
    engine = {
        "CONCURRENT_REQUESTS": project_setting("CONCURRENT_REQUESTS"),
        "CONCURRENT_REQUESTS_PER_DOMAIN": project_setting("CONCURRENT_REQUESTS_PER_DOMAIN"),
        "CONCURRENT_ITEMS": items,
    }
    say("== cpu ==")
    say(
        f"  plan: world {CPU_WORLD}, {CPU_SUBS} subreddits x {CPU_USERS} users, depth 0, zero "
        f"latency, no proxy; CPU = user + system seconds of the crawl process (start-up "
        f"included) ÷ requests; bare spider: the URLs ours fetched in the same run, {engine}"
    )
    rows = {
        "ours": Row(f"ours (CONCURRENT_ITEMS={items})"),
        "ours100": Row("ours, CONCURRENT_ITEMS=100"),
        "bare": Row(f"bare spider (CONCURRENT_ITEMS={items})"),
        "bare100": Row("bare spider, CONCURRENT_ITEMS=100"),
    }
    for i in range(runs):
        urls: list[dict[str, Any]] = []
        for who in ("ours", "bare", "ours100", "bare100"):
            tenant = lab.tenant(f"cpu-{who}", **CPU_WORLD)
            if who == "ours":
                r = bench.ours(tenant, subs, CPU_USERS, label="cpu-ours")
                urls = r["_log"]
            elif who == "ours100":
                r = bench.ours(
                    tenant, subs, CPU_USERS, settings={"CONCURRENT_ITEMS": 100}, label="cpu-ours100"
                )
            else:
                settings = dict(engine)
                if who == "bare100":
                    settings["CONCURRENT_ITEMS"] = 100
                base = lab.url(tenant)
                r = bench.bare(tenant, [log_url(base, e) for e in urls], settings)
            r["ms_per_request"] = 1000 * r["cpu"] / max(r["requests"], 1)
            rows[who].runs.append(r)
            say(
                f"  run {i + 1} {who:>8}: cpu {r['cpu']:6.2f} s (user {r['cpu_user']:.2f}, sys "
                f"{r['cpu_sys']:.2f})  requests {r['requests']}  "
                f"{r['ms_per_request']:.3f} ms/request  wall {r['wall']:.2f} s"
            )
    table = list(rows.values())
    say()
    print_rows(
        table,
        [
            ("ms_per_request", "CPU ms/request", ".3f"),
            ("cpu", "CPU s", ".2f"),
            ("wall", "wall s", ".2f"),
        ],
    )
    print_raw(table, ["ms_per_request", "cpu", "cpu_user", "cpu_sys", "requests", "wall"])
    med = {k: v.spread("ms_per_request").median for k, v in rows.items()}
    ratio = med["ours"] / med["bare"]
    met = ratio <= TARGET_CPU
    saving = 1 - med["ours"] / med["ours100"]
    say(
        f"  target: ours ≤ {TARGET_CPU}x the bare spider: {med['ours']:.3f} / {med['bare']:.3f} "
        f"ms/request = {ratio:.3f}x -> {flag(met)}"
    )
    say(
        f"  CONCURRENT_ITEMS={items} vs 100: ours {med['ours']:.3f} vs {med['ours100']:.3f} "
        f"ms/request ({saving:.0%} less CPU); bare {med['bare']:.3f} vs {med['bare100']:.3f} "
        f"({1 - med['bare'] / med['bare100']:.0%} less); ours vs bare both at 100: "
        f"{med['ours100'] / med['bare100']:.3f}x"
    )
    say()
    results["cpu"] = {
        "plan": {"world": CPU_WORLD, "subs": len(subs), "users_per_sub": CPU_USERS},
        "engine": engine,
        "rows": _rows_json(table),
        "target": TARGET_CPU,
        "ratio": ratio,
        "concurrent_items_saving": saving,
        "met": met,
    }
    return [(f"cpu: ours {ratio:.3f}x the bare spider's CPU per request (≤ {TARGET_CPU}x)", met)]


def _rows_json(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "runs": [{k: v for k, v in run.items() if not k.startswith("_")} for run in r.runs],
        }
        for r in rows
    ]


RUNNERS: dict[str, Callable[[Bench, int, dict[str, Any]], list[tuple[str, bool]]]] = {
    "rate-limited": rate_limited,
    "latency-bound": latency_bound,
    "cpu": cpu,
    "distributed": lambda bench, runs, results: distributed(bench, runs, results),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="crawl benchmarks against the stand-in")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument(
        "--workdir", type=Path, help="keep logs here (default: a temp dir, removed)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    scenarios = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    say(
        f"bench_crawl: {', '.join(scenarios)}; {args.runs} runs each; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; logs in {workdir}"
    )
    lab = Lab(workdir / "lab")
    bench = Bench(lab, workdir)
    results: dict[str, Any] = {"runs": args.runs}
    verdicts: list[tuple[str, bool]] = []
    try:
        for name in scenarios:
            verdicts += RUNNERS[name](bench, args.runs, results)
    finally:
        lab.close()
    elapsed = time.monotonic() - started
    say("== summary ==")
    for text, met in verdicts:
        say(f"  {flag(met)}  {text}")
    for note in bench.notes:
        say(f"  note: {note}")
    say(f"  {elapsed:.0f} s in all; load average at the end {os.getloadavg()[0]:.2f}")
    results["elapsed_s"] = elapsed
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    if args.workdir is None and bench.ok:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if bench.ok and all(met for _, met in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
