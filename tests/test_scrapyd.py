"""Scrapyd end to end: a real ``scrapyd`` on loopback, the project deployed with
``scrapyd-deploy``, ``reddit`` scheduled through ``schedule.json`` and through
``scrapyd-client schedule``, each job's log, items and PostgreSQL rows checked against the
stand-in's truth."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pg
from tests.conftest import Tenant
from tests.crawl import ROOT
from tests.scrapyd import PROJECT, Scrapyd, clean_env, client, running_scrapyd
from tests.test_storage_e2e import database_view, lowered

USERNAME = "deployer"
# '%' and '$' must reach the server unchanged through scrapy.cfg's ${SCRAPYD_PASSWORD}.
PASSWORD = "s3cret%pw$HOME"
SUBS = ["python", "learnpython"]
PLAN = {"users_per_sub": 5}


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    with running_scrapyd(
        tmp_path_factory.mktemp("scrapyd"), username=USERNAME, password=PASSWORD
    ) as server:
        yield server


@pytest.fixture(scope="module")
def version(scrapyd: Scrapyd, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Deploy with ``scrapyd-deploy auth``: URL and credentials from the environment."""
    home = tmp_path_factory.mktemp("deploy")
    result = client(
        ["scrapyd-deploy", "auth"], home, url=scrapyd.url, username=USERNAME, password=PASSWORD
    )
    assert result.returncode == 0, result.stdout + result.stderr
    response = json.loads(result.stdout)
    assert response["status"] == "ok" and response["project"] == PROJECT
    assert response["spiders"] == 1
    assert scrapyd.api("listspiders", project=PROJECT)["spiders"] == ["reddit"]
    return str(response["version"])


def test_deploy_targets_read_the_environment(tmp_path: Path) -> None:
    result = client(
        ["scrapyd-client", "targets"], tmp_path, url="http://127.0.0.1:6800", username="u"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    targets = dict(line.split() for line in result.stdout.splitlines())
    assert targets == {"default": "http://127.0.0.1:6800", "auth": "http://127.0.0.1:6800"}
    # os.path.expandvars leaves an unset variable as it is: SCRAPYD_URL is required.
    unset = client(["scrapyd-client", "targets"], tmp_path)
    assert "${SCRAPYD_URL}" in unset.stdout


def test_deploy_needs_the_credentials(scrapyd: Scrapyd, tmp_path: Path) -> None:
    # The default target sends no credentials: the server refuses the egg.
    refused = client(["scrapyd-deploy", "-v", "refused"], tmp_path, url=scrapyd.url)
    assert refused.returncode == 1
    assert "Deploy failed (401)" in refused.stderr
    # Credentials in the URL (percent-encoded) work with the default target too.
    quoted = PASSWORD.replace("%", "%25").replace("$", "%24")
    url = scrapyd.url.replace("http://", f"http://{USERNAME}:{quoted}@")
    accepted = client(["scrapyd-deploy", "-v", "url-credentials"], tmp_path, url=url)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert json.loads(accepted.stdout)["version"] == "url-credentials"


def test_egg_holds_the_project_and_its_data_only(scrapyd: Scrapyd, version: str) -> None:
    egg = scrapyd.home / "eggs" / PROJECT / f"{version}.egg"
    with zipfile.ZipFile(egg) as archive:
        names = archive.namelist()
        entry_points = archive.read("EGG-INFO/entry_points.txt").decode()
    assert {name.split("/")[0] for name in names} == {"EGG-INFO", "reddit_crawler"}
    migrations = sorted(
        n for n in names if re.fullmatch(r"reddit_crawler/db/migrations/\d{4}_\w+\.sql", n)
    )
    on_disk = sorted(p.name for p in (ROOT / "reddit_crawler/db/migrations").glob("*.sql"))
    assert [Path(n).name for n in migrations] == on_disk and on_disk
    assert "reddit_crawler/spiders/reddit.py" in names
    assert "settings = reddit_crawler.settings" in entry_points
    assert "EGG-INFO/zip-safe" in names
    # Outside the repository the venv cannot import the project: the crawls below run the egg.
    outside = subprocess.run(
        [sys.executable, "-c", "import reddit_crawler"],
        cwd=scrapyd.home,
        env=clean_env(scrapyd.home),
        capture_output=True,
        text=True,
        check=False,
    )
    assert outside.returncode != 0 and "ModuleNotFoundError" in outside.stderr


def test_build_artefacts_are_ignored_and_setup_py_is_not() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(path: str) -> bool:
        check = ["git", "check-ignore", "-q", "--no-index", path]
        return subprocess.run(check, cwd=ROOT, check=False).returncode == 0

    assert ignored("build/lib/reddit_crawler/items.py")
    assert ignored("reddit_crawler.egg-info/PKG-INFO")
    assert not ignored("setup.py")


def schedule_arguments(tenant: Tenant, dsn: str) -> list[tuple[str, str]]:
    return [
        ("subs", ",".join(SUBS)),
        *((key, str(value)) for key, value in PLAN.items()),
        ("setting", f"REDDIT_BASE_URL={tenant.base_url}"),
        ("setting", f"POSTGRES_DSN={dsn}"),
        ("setting", "REDDIT_DEFAULT_RATE=0"),
    ]


def check_job(scrapyd: Scrapyd, job: str, tenant: Tenant, dsn: str) -> None:
    """The job finished cleanly and stored exactly the stand-in's truth."""
    entry = scrapyd.wait_for_job(job)
    assert entry["spider"] == "reddit"
    assert scrapyd.api("status", job=job)["currstate"] == "finished"
    server_log = scrapyd.server_log.read_text(encoding="utf-8", errors="replace")
    assert re.search(rf"Process finished: .*job='{job}'", server_log), server_log[-3000:]
    assert not re.search(rf"Process died: .*job='{job}'", server_log)

    log = scrapyd.fetch(entry["log_url"]).decode("utf-8", errors="replace")
    assert "Traceback" not in log, log[-5000:]
    assert "] ERROR:" not in log and "] CRITICAL:" not in log, log[-5000:]
    assert "'finish_reason': 'finished'" in log

    truth = tenant.truth(SUBS, **PLAN)
    assert database_view(dsn) == lowered(truth)
    runs = pg.query(dsn, "SELECT finish_reason, finished_at IS NOT NULL, args FROM crawl_runs")
    assert len(runs) == 1 and runs[0][:2] == ("finished", True)
    assert runs[0][2]["subs"] == ",".join(SUBS)
    assert pg.scalar(dsn, "SELECT count(*) FROM subreddit_snapshots") == len(SUBS)

    # items_dir is set: Scrapyd's feed of the job holds the same posts.
    items = [json.loads(line) for line in scrapyd.fetch(entry["items_url"]).splitlines() if line]
    assert sorted({i["id"] for i in items if i["kind"] == "post"}) == truth["posts"]


def test_schedule_json_crawls_into_postgres(scrapyd: Scrapyd, version: str, tenant: Tenant) -> None:
    # The database exists but is empty: the egg's own migrations create the schema.
    with pg.throwaway_database(migrated=False) as dsn:
        form = [
            ("project", PROJECT),
            ("spider", "reddit"),
            ("_version", version),
            *schedule_arguments(tenant, dsn),
        ]
        job = scrapyd.api("schedule", data=form)["jobid"]
        check_job(scrapyd, job, tenant, dsn)


def test_scrapyd_client_schedule_passes_arguments_and_settings(
    scrapyd: Scrapyd, version: str, tenant: Tenant, tmp_path: Path
) -> None:
    with pg.throwaway_database(migrated=False) as dsn:
        args = [("_version", version), *schedule_arguments(tenant, dsn)]
        # scrapyd-client 2.0.3 requires -p although it reads [deploy] project as its default.
        command = ["scrapyd-client", "schedule", "-t", "auth", "-p", PROJECT, "reddit"]
        command += [f"--arg={key}={value}" for key, value in args]
        result = client(
            command,
            tmp_path,
            url=scrapyd.url,
            username=USERNAME,
            password=PASSWORD,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        match = re.fullmatch(rf"{PROJECT} / reddit => (\w+)\n", result.stdout)
        assert match, result.stdout
        check_job(scrapyd, match.group(1), tenant, dsn)
