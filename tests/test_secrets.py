"""Secrets never leave the process: a full crawl through a real Scrapyd, in OAuth mode, through
password-protected squid proxies, storing into PostgreSQL through a DSN with a password — the
secrets in Scrapyd's environment as docs/scrapyd.md says — and none of the client secret, the
token, a proxy password or the DSN password (nor their base64 forms) appears in the Scrapyd job
log (at DEBUG), Scrapyd's own log, the job's items, the stats file or the ``crawl_runs`` and
``proxies`` rows."""

from __future__ import annotations

import base64
import getpass
import json
from pathlib import Path

import psycopg

from scripts.proxies import ProxyHandle
from tests import pg
from tests.conftest import Tenant
from tests.scrapyd import PROJECT, client, running_scrapyd
from tests.test_proxies_e2e import proxy_list

USERNAME = "deployer"
PASSWORD = "deploy-pw-81"
CLIENT_SECRET = "oauth-secret-Vb27x"
DSN_PASSWORD = "dsn-pw-Qk4u9"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_scrapyd_job_leaks_no_secret(
    tenant: Tenant, tmp_path: Path, squid_proxies: list[ProxyHandle]
) -> None:
    tenant.configure(oauth_clients={"cid": CLIENT_SECRET}, block_public=True)
    with pg.throwaway_database(migrated=False) as plain:
        dbname = psycopg.conninfo.conninfo_to_dict(plain)["dbname"]
        # Trust authentication: the server never asks for the password, but it is in the DSN.
        dsn = f"postgresql://{getpass.getuser()}:{DSN_PASSWORD}@127.0.0.1:5432/{dbname}"
        env = {
            "REDDIT_CLIENT_ID": "cid",
            "REDDIT_CLIENT_SECRET": CLIENT_SECRET,
            "PROXY_LIST": proxy_list(squid_proxies),
            "DATABASE_URL": dsn,
        }
        stats_file = tmp_path / "stats.json"
        with running_scrapyd(
            tmp_path / "scrapyd", username=USERNAME, password=PASSWORD, env=env
        ) as scrapyd:
            deploy = client(
                ["scrapyd-deploy", "auth"],
                tmp_path,
                url=scrapyd.url,
                username=USERNAME,
                password=PASSWORD,
            )
            assert deploy.returncode == 0, deploy.stdout + deploy.stderr
            form = [
                ("project", PROJECT),
                ("spider", "reddit"),
                ("_version", str(json.loads(deploy.stdout)["version"])),
                ("subs", "python"),
                ("users_per_sub", "3"),
                ("setting", f"REDDIT_OAUTH_URL={tenant.oauth_url}"),
                ("setting", f"REDDIT_AUTH_URL={tenant.base_url}"),
                ("setting", "REDDIT_DEFAULT_RATE=0"),
                ("setting", "LOG_LEVEL=DEBUG"),
                ("setting", f"REDDIT_STATS_FILE={stats_file}"),
            ]
            job = scrapyd.api("schedule", data=form)["jobid"]
            entry = scrapyd.wait_for_job(job)
            log = scrapyd.fetch(entry["log_url"]).decode("utf-8", errors="replace")
            items = scrapyd.fetch(entry["items_url"]).decode("utf-8", errors="replace")
            server_log = scrapyd.server_log.read_text(encoding="utf-8", errors="replace")
        runs = pg.query(dsn, "SELECT finish_reason, args::text, stats::text FROM crawl_runs")
        proxies = pg.query(dsn, "SELECT * FROM proxies")

    # The crawl really used each secret: OAuth tokens, the proxies, the database.
    assert "'finish_reason': 'finished'" in log, log[-3000:]
    assert "Traceback" not in log and "] ERROR:" not in log, log[-5000:]
    tokens = [t["token"] for t in tenant.tokens()]
    assert tokens
    assert all(r["host"] in ("oauth", "auth") for r in tenant.requests())
    assert len(runs) == 1 and runs[0][0] == "finished"
    assert proxies and any(f"proxy/{p.host}:{p.port}/ok" in log for p in squid_proxies)
    assert "[scrapy.core.engine] DEBUG: Crawled (200)" in log
    assert '"kind": "post"' in items

    texts = {
        "job log": log,
        "items": items,
        "scrapyd log": server_log,
        "stats file": stats_file.read_text(encoding="utf-8"),
        "crawl_runs": repr(runs),
        "proxies": repr(proxies),
    }
    needles = [CLIENT_SECRET, b64(f"cid:{CLIENT_SECRET}"), DSN_PASSWORD, *tokens]
    for proxy in squid_proxies:
        needles += [proxy.password, b64(f"{proxy.user}:{proxy.password}")]
    for where, text in texts.items():
        for needle in needles:
            assert needle not in text, f"a secret in the {where}"
