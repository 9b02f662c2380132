"""A private PostgreSQL server for tests that restart the database under a running crawl.

``initdb`` in a temporary directory (run as the ``postgres`` user: PostgreSQL refuses root),
trust auth for ``root``, listening on 127.0.0.1 at a free port. The shared server of the
other tests is never restarted.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

BIN = Path("/usr/lib/postgresql") / sorted(os.listdir("/usr/lib/postgresql"))[-1] / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _runuser() -> str:
    """runuser, also when PATH lacks the sbin directories (a minimal shell)."""
    search = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
    return shutil.which("runuser", path=search) or "runuser"


def _as_postgres(*args: str) -> list[str]:
    return [_runuser(), "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@dataclass
class Cluster:
    data: Path
    port: int

    @property
    def dsn(self) -> str:
        return f"postgresql://root@127.0.0.1:{self.port}/crawl"

    def _ctl(self, *args: str) -> None:
        cmd = _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args)
        subprocess.run(cmd, check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-l", str(self.data / "server.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="rc-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    initdb = _as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "root")
    subprocess.run(initdb, check=True, capture_output=True)
    cluster = Cluster(data, _free_port())
    cluster.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cluster.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
