"""A real Scrapyd on loopback for tests, and scrapyd-client's commands as subprocesses.

:func:`running_scrapyd` starts ``python -m scrapyd`` (the venv's, so the crawl processes
it spawns import the project's dependencies from the same venv) in its own folder with its
own ``scrapyd.conf``: loopback, a free port, its own eggs/logs/items/dbs folders, HTTP basic
auth. Its working directory and environment keep the repository out of the crawl's
``sys.path``: the crawl imports ``reddit_crawler`` from the deployed egg only.

:func:`client` runs ``scrapyd-deploy`` / ``scrapyd-client`` from the repository root with
the deploy target's environment variables (``SCRAPYD_URL``, ``SCRAPYD_USERNAME``,
``SCRAPYD_PASSWORD``; see ``scrapy.cfg``).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.crawl import ROOT

BIN = Path(sys.executable).parent
PROJECT = "reddit_crawler"
# Variables that would change what the server or the client does behind the test's back.
_DROP_PREFIXES = ("REDDIT_", "PROXY_", "SCRAPY_", "SCRAPYD_")
_DROP = {"DATABASE_URL", "PYTHONPATH"}
_PROXY_VARS = {"http_proxy", "https_proxy", "all_proxy"}
# Never send loopback requests through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

CONFIG = """\
[scrapyd]
bind_address = 127.0.0.1
http_port = {port}
username = {username}
password = {password}
eggs_dir = {home}/eggs
logs_dir = {home}/logs
items_dir = {home}/items
dbs_dir = {home}/dbs
jobs_to_keep = 5
finished_to_keep = 20
poll_interval = 0.5
max_proc = 2
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(home: Path) -> dict[str, str]:
    """The test's environment without project, Scrapy(d) or proxy variables; ``HOME`` moved
    to ``home`` so no ``~/.scrapyd.conf``, ``~/.scrapy.cfg`` or ``~/.netrc`` takes part."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_DROP_PREFIXES)
        and key not in _DROP
        and key.lower() not in _PROXY_VARS
    }
    pgpass = Path(os.environ.get("HOME", "~")).expanduser() / ".pgpass"
    if "PGPASSFILE" not in env and pgpass.is_file():
        env["PGPASSFILE"] = str(pgpass)
    env["HOME"] = str(home)
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


@dataclass
class Scrapyd:
    url: str
    home: Path
    username: str
    password: str
    proc: subprocess.Popen[bytes]

    @property
    def server_log(self) -> Path:
        return self.home / "scrapyd.log"

    def fetch(self, path: str, data: list[tuple[str, str]] | None = None) -> bytes:
        """GET ``path`` (POST a form when ``data`` is given) with the server's credentials."""
        body = None if data is None else urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.url + path, data=body)
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        with _OPENER.open(request, timeout=30) as response:
            raw: bytes = response.read()
            return raw

    def api(self, endpoint: str, data: list[tuple[str, str]] | None = None, **params: str) -> Any:
        """A JSON endpoint (``schedule``, ``listjobs``, …); raises unless status is ok."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        result = json.loads(self.fetch(f"/{endpoint}.json{query}", data))
        if result.get("status") != "ok":
            raise RuntimeError(f"{endpoint}.json: {result}")
        return result

    def wait_for_job(self, job: str, timeout: float = 120) -> dict[str, Any]:
        """Poll ``listjobs.json`` until ``job`` is finished; return its entry."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.api("listjobs", project=PROJECT)
            for entry in jobs["finished"]:
                if entry["id"] == job:
                    return dict(entry)
            time.sleep(0.25)
        raise TimeoutError(f"job {job} not finished after {timeout} s: {jobs}")

    def running_pids(self) -> list[int]:
        try:
            jobs = self.api("listjobs")
        except Exception:
            return []
        return [entry["pid"] for entry in jobs["running"] if entry.get("pid")]


def start(
    home: Path,
    *,
    username: str,
    password: str,
    timeout: float = 30,
    env: dict[str, str] | None = None,
) -> Scrapyd:
    """Start Scrapyd in ``home`` and wait until ``daemonstatus.json`` answers. ``env`` is
    added to its environment (which its crawl processes inherit): where secrets belong."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = CONFIG.format(
        port=port, home=home, username=username, password=password.replace("%", "%%")
    )
    (home / "scrapyd.conf").write_text(config, encoding="utf-8")
    with open(home / "scrapyd.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scrapyd", "--pidfile", str(home / "twistd.pid")],
            cwd=home,  # scrapyd.conf is read from here; the repository is not on sys.path
            env={**clean_env(home), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Scrapyd(f"http://127.0.0.1:{port}", home, username, password, proc)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"scrapyd exited ({proc.returncode}):\n{_tail(server)}")
        try:
            server.api("daemonstatus")
            return server
        except (OSError, ValueError, RuntimeError):
            if time.monotonic() > deadline:
                stop(server)
                raise RuntimeError(f"scrapyd did not answer:\n{_tail(server)}") from None
            time.sleep(0.1)


def stop(server: Scrapyd) -> None:
    """Stop the crawls the server still runs (if any), then the server."""
    for pid in server.running_pids():
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=5)


@contextmanager
def running_scrapyd(
    home: Path, *, username: str, password: str, env: dict[str, str] | None = None
) -> Iterator[Scrapyd]:
    server = start(home, username=username, password=password, env=env)
    try:
        yield server
    finally:
        stop(server)


def client(
    args: list[str],
    home: Path,
    *,
    url: str | None = None,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``scrapyd-deploy …`` / ``scrapyd-client …`` (the venv's) from the repository root
    with the deploy target's environment variables (unset when ``None``)."""
    env = clean_env(home)
    for key, value in (
        ("SCRAPYD_URL", url),
        ("SCRAPYD_USERNAME", username),
        ("SCRAPYD_PASSWORD", password),
    ):
        if value is not None:
            env[key] = value
    command = [str(BIN / args[0]), *args[1:]]
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _tail(server: Scrapyd, chars: int = 4000) -> str:
    try:
        return server.server_log.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return ""
