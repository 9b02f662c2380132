"""Real forward HTTP proxies for tests, the demo and benchmarks: one Debian ``squid`` per proxy.

Each proxy listens on ``127.0.0.1:<free port>``, requires HTTP basic auth (its own user and
random password), sends its outgoing connections from its own loopback address
``127.0.0.(2+i)`` (so an origin on 127.0.0.1 sees every proxy as a distinct client IP),
forwards plain HTTP (and CONNECT) to 127.0.0.0/8 destinations on any port, caches nothing,
adds no ``Via``/``X-Forwarded-For`` and keeps client connections alive. Every instance has its
own directory (config, passwd file, pid file, ``access.log``, ``cache.log``, ``squid.out``), so
several coexist and none touches /var/log/squid, /var/spool/squid or the system squid on :3128.

Library::

    from scripts.proxies import start_proxies, stop_all

    proxies = start_proxies(3, workdir)      # started in parallel, each answering when returned
    proxies[0].url                           # 'user1:<password>@127.0.0.1:<port>' (crawler format)
    proxies[0].http_url                      # 'http://user1:<password>@127.0.0.1:<port>'
    proxies[0].bad_url()                     # same proxy, wrong password -> 407 from squid
    proxies[0].source_ip                     # '127.0.0.2': what the origin sees
    proxies[1].kill()                        # dies at once (SIGKILL): simulates a crash
    proxies[1].restart()                     # back on the same port with the same credentials
    stop_all(proxies)

CLI (prints one proxy string a line once all answer, runs until SIGTERM/SIGINT)::

    python scripts/proxies.py start 3 --workdir /tmp/proxies [--json]

Needs ``squid`` (``apt-get install squid``); the passwd file is written here (APR1-MD5, the
``htpasswd -m`` format), so no ``htpasswd`` is needed. Run as root, squid runs as the ``proxy``
user (squid refuses to run as root); otherwise as the current user. Standard library only: the
CLI runs without the project's venv.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import glob
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = "apt-get install squid"
NCSA_HELPER_CANDIDATES = ("/usr/lib/squid/basic_ncsa_auth", "/usr/lib/squid3/basic_ncsa_auth")
DEFAULT_FIRST_SOURCE = 2  # proxy i sends from 127.0.0.(2 + i); 127.0.0.1 stays the origin's
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
BIND_RETRIES = 3
SERVICE_PREFIX = "rcsquid"  # squid -n <prefix><hex>: names its segments /dev/shm/<name>-*

CONFIG = """\
# Written by scripts/proxies.py: a throw-away forward proxy for tests and benchmarks.
http_port 127.0.0.1:{port}
visible_hostname {service}
pid_filename {dir}/squid.pid
cache_log {dir}/cache.log
access_log stdio:{dir}/access.log
cache_store_log none
logfile_rotate 0
coredump_dir {dir}
netdb_filename none
pinger_enable off
icp_port 0
htcp_port 0
workers 1
shutdown_lifetime 0 seconds

# No caching at all (no cache_dir: no disk cache either).
cache deny all
cache_mem 0 MB

auth_param basic program {helper} {dir}/passwd
auth_param basic children 4 startup=1 idle=1
auth_param basic realm {service}
auth_param basic credentialsttl 1 minute

acl clients src 127.0.0.0/8 ::1
acl local_dst dst 127.0.0.0/8
acl authed proxy_auth REQUIRED
http_access deny !clients
http_access deny !local_dst
http_access allow authed
http_access deny all

tcp_outgoing_address {source_ip}
forwarded_for delete
via off
reply_header_access X-Cache deny all
reply_header_access X-Cache-Lookup deny all
client_persistent_connections on
server_persistent_connections on
"""


class ProxyError(RuntimeError):
    """A proxy could not be started (squid missing, bad config, nothing answering)."""


class SquidMissing(ProxyError):
    pass


def find_squid() -> tuple[str, str]:
    """Paths of the ``squid`` binary and of its ``basic_ncsa_auth`` helper."""
    squid = shutil.which("squid") or next(
        (p for p in ("/usr/sbin/squid", "/usr/local/sbin/squid") if os.access(p, os.X_OK)), None
    )
    helper = next((p for p in NCSA_HELPER_CANDIDATES if os.access(p, os.X_OK)), None)
    if not squid or not helper:
        missing = "squid" if not squid else "squid's basic_ncsa_auth helper"
        raise SquidMissing(f"{missing} is not installed: run `{INSTALL_HINT}`")
    return squid, helper


# --- passwd file ------------------------------------------------------------------------------

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def apr1_hash(password: str, salt: str | None = None) -> str:
    """``$apr1$salt$hash``: Apache's MD5 crypt, what ``htpasswd -m`` and
    ``openssl passwd -apr1`` write and squid's ``basic_ncsa_auth`` checks."""
    if salt is None:
        salt = "".join(secrets.choice(_ITOA64) for _ in range(8))
    pw, sl, magic = password.encode(), salt[:8].encode(), b"$apr1$"
    final = hashlib.md5(pw + sl + pw).digest()
    ctx = pw + magic + sl
    for left in range(len(pw), 0, -16):
        ctx += final[: min(16, left)]
    i = len(pw)
    while i:
        ctx += b"\0" if i & 1 else pw[:1]
        i >>= 1
    final = hashlib.md5(ctx).digest()
    for i in range(1000):
        step = pw if i & 1 else final
        if i % 3:
            step += sl
        if i % 7:
            step += pw
        step += final if i & 1 else pw
        final = hashlib.md5(step).digest()

    def to64(value: int, count: int) -> str:
        out = []
        for _ in range(count):
            out.append(_ITOA64[value & 0x3F])
            value >>= 6
        return "".join(out)

    encoded = "".join(
        to64((final[a] << 16) | (final[b] << 8) | final[c], 4)
        for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5))
    ) + to64(final[11], 2)
    return f"$apr1${sl.decode()}${encoded}"


# --- one proxy ---------------------------------------------------------------------------------

_live: set[ProxyHandle] = set()
_live_lock = threading.Lock()


def _sweep_stale_shm() -> None:
    """Remove the /dev/shm segments of our squids that are gone without cleaning up (their
    starter was SIGKILLed): those whose service name no running process carries."""
    stale = glob.glob(f"/dev/shm/{SERVICE_PREFIX}*-*")
    if not stale:
        return
    running = set()
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = Path(cmdline).read_bytes().split(b"\0")
            running.update(a.decode() for a in args if a.startswith(SERVICE_PREFIX.encode()))
    for path in stale:
        if Path(path).name.split("-")[0] not in running:
            with contextlib.suppress(OSError):
                os.unlink(path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> tuple[int, int] | None:
    """(uid, gid) squid runs as when we are root (it refuses root); None: as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("proxy", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise ProxyError("running as root and neither a 'proxy' nor a 'nobody' user exists")


def _can_use(path: Path, ids: tuple[int, int]) -> bool:
    """Whether that user can reach ``path`` (every parent searchable) - checked as that user."""
    result = subprocess.run(
        ["test", "-x", str(path)],
        user=ids[0],
        group=ids[1],
        extra_groups=[],
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return result.returncode == 0


@dataclass(eq=False)
class ProxyHandle:
    """One running squid. ``url`` is the crawler's proxy string ``user:password@host:port``."""

    host: str
    port: int
    user: str
    password: str
    source_ip: str
    dir: Path  # config, passwd, pid file and logs (a symlink while running, see _rundir)
    _squid: str = field(repr=False)
    _helper: str = field(repr=False)
    _rundir: Path = field(repr=False)  # where squid writes: ``dir`` or a /tmp dir it can reach
    _ids: tuple[int, int] | None = field(repr=False)
    _service: str = field(default="", repr=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    # -- addresses

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.user}:{self.password}@{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.url}"

    def bad_url(self, password: str = "wrong-password") -> str:
        """The same proxy with a wrong password (squid answers 407)."""
        return f"{self.user}:{password}@{self.host}:{self.port}"

    @property
    def access_log(self) -> Path:
        return self._rundir / "access.log"

    @property
    def cache_log(self) -> Path:
        return self._rundir / "cache.log"

    # -- life cycle

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        """Whether the squid process runs (it may still be starting)."""
        return self._proc is not None and self._proc.poll() is None

    def accepts(self, timeout: float = 1.0) -> bool:
        """Whether something accepts TCP connections on the proxy's port."""
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout):
                return True
        except OSError:
            return False

    def _write_files(self) -> None:
        self._rundir.mkdir(parents=True, exist_ok=True)
        (self._rundir / "passwd").write_text(f"{self.user}:{apr1_hash(self.password)}\n")
        self._service = SERVICE_PREFIX + secrets.token_hex(5)  # names its shm segments in /dev/shm
        (self._rundir / "squid.conf").write_text(
            CONFIG.format(
                port=self.port,
                service=self._service,
                dir=self._rundir,
                helper=self._helper,
                source_ip=self.source_ip,
            )
        )
        with contextlib.suppress(FileNotFoundError):  # logs of a restarted one go on
            (self._rundir / "squid.pid").unlink()
        if self._ids is not None:
            uid, gid = self._ids
            os.chown(self._rundir, uid, gid)
            os.chmod(self._rundir, 0o755)
            for item in self._rundir.iterdir():
                os.chown(item, uid, gid)
            os.chmod(self._rundir / "passwd", 0o600)

    def _spawn(self) -> None:
        self._write_files()
        cmd = [self._squid, "-N", "-f", str(self._rundir / "squid.conf"), "-n", self._service]
        setpriv = shutil.which("setpriv")
        if setpriv and threading.current_thread() is threading.main_thread():
            # Die with the process that started them (pytest killed by a CI timeout, …). The
            # signal follows the *thread* that forked, hence only from the main thread.
            cmd = [setpriv, "--pdeathsig", "KILL", "--", *cmd]
        kwargs: dict[str, object] = {}
        if self._ids is not None:
            kwargs.update(user=self._ids[0], group=self._ids[1], extra_groups=[])
        with open(self._rundir / "squid.out", "ab") as out:
            self._proc = subprocess.Popen(  # type: ignore[call-overload]
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self._rundir,
                start_new_session=True,  # away from our terminal's Ctrl-C; stopped by us
                **kwargs,
            )
        with _live_lock:
            _live.add(self)

    def _probe(self) -> bool:
        """Squid answers: a request without credentials gets its 407."""
        try:
            with socket.create_connection((self.host, self.port), timeout=1.0) as s:
                s.sendall(b"GET http://127.0.0.1:9/ HTTP/1.0\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.1 407")
        except OSError:
            return False

    def _log_tail(self, lines: int = 15) -> str:
        texts = []
        for name in ("cache.log", "squid.out"):
            with contextlib.suppress(OSError):
                texts += (self._rundir / name).read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(texts)

    def _signal(self, sig: int) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        try:
            os.killpg(self._proc.pid, sig)  # the group we created (helpers get their own)
        except ProcessLookupError:
            pass
        except PermissionError:
            self._proc.send_signal(sig)

    def _reap(self, timeout: float) -> None:
        if self._proc is None:
            return
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self._proc.wait(5)
        self._cleanup()

    def _cleanup(self) -> None:
        # A squid that did not exit cleanly leaves its shared-memory segments behind.
        for path in glob.glob(f"/dev/shm/{self._service}-*"):
            with contextlib.suppress(OSError):
                os.unlink(path)
        with contextlib.suppress(OSError):
            (self._rundir / "squid.pid").unlink()
        with _live_lock:
            _live.discard(self)

    def kill(self) -> None:
        """Kill squid at once (SIGKILL): a proxy that dies. The port refuses from now on."""
        self._signal(signal.SIGKILL)
        self._reap(5)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop squid (SIGTERM, SIGKILL after ``timeout``). Idempotent."""
        self._signal(signal.SIGTERM)
        self._reap(timeout)

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """Start again on the same port with the same credentials (after ``stop``/``kill``)."""
        if self.alive():
            self.stop()
        self._spawn()
        _wait_ready([self], timeout, allow_rebind=False)

    def finish(self) -> None:
        """After the last stop: move the files of a /tmp run dir into ``dir`` (see start)."""
        if self._rundir == self.dir or not self._rundir.exists():
            return
        if self.dir.is_symlink():
            self.dir.unlink()
        shutil.copytree(self._rundir, self.dir, dirs_exist_ok=True)
        shutil.rmtree(self._rundir, ignore_errors=True)
        with contextlib.suppress(OSError):  # the squid-proxies-* dir, once empty
            self._rundir.parent.rmdir()
        self._rundir = self.dir


# --- many proxies ------------------------------------------------------------------------------


def _wait_ready(handles: list[ProxyHandle], timeout: float, *, allow_rebind: bool = True) -> None:
    deadline = time.monotonic() + timeout
    pending = list(handles)
    rebinds = 0
    while pending:
        for h in list(pending):
            if h._proc is not None and h._proc.poll() is not None:
                tail = h._log_tail()
                if allow_rebind and "Address already in use" in tail and rebinds < BIND_RETRIES:
                    rebinds += 1  # lost the free-port race: another port
                    h._cleanup()
                    h.port = _free_port()
                    h._spawn()
                    continue
                h._cleanup()
                raise ProxyError(
                    f"squid for {h.address} exited with {h._proc.returncode} while starting "
                    f"(files in {h.dir}):\n{tail}"
                )
            if h._probe():
                pending.remove(h)
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(h.address for h in pending)
            raise ProxyError(f"squid not answering after {timeout:.0f}s: {names}")
        time.sleep(0.05)


def start_proxies(
    n: int,
    workdir: str | os.PathLike[str],
    *,
    first_source: int = DEFAULT_FIRST_SOURCE,
    timeout: float = START_TIMEOUT,
) -> list[ProxyHandle]:
    """Start ``n`` squids in parallel; return once every one answers.

    Proxy ``i`` has user ``user<first_source - 1 + i>``, a random password and source address
    ``127.0.0.<first_source + i>``. Each gets a directory ``<workdir>/squid-<user>-*``. When
    run as root and the ``proxy`` user cannot reach ``workdir`` (pytest's
    ``/tmp/pytest-of-root`` is mode 0700), squid writes into a directory under the system temp
    dir instead, ``<workdir>/squid-<user>-*`` is a symlink to it, and ``stop_all`` moves the
    files back.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    if first_source < 2 or first_source + n - 1 > 254:
        raise ValueError("source addresses must stay within 127.0.0.2 … 127.0.0.254")
    squid, helper = find_squid()
    _sweep_stale_shm()
    ids = _run_as()
    base = Path(workdir).resolve()
    base.mkdir(parents=True, exist_ok=True)
    run_base = base
    if ids is not None and not _can_use(base, ids):
        run_base = Path(tempfile.mkdtemp(prefix="squid-proxies-"))
        os.chmod(run_base, 0o711)

    handles: list[ProxyHandle] = []
    try:
        for i in range(n):
            octet = first_source + i
            user = f"user{octet - 1}"
            final = Path(tempfile.mkdtemp(prefix=f"squid-{user}-", dir=base))
            rundir = final
            if run_base != base:
                rundir = run_base / final.name
                final.rmdir()
                final.symlink_to(rundir)
            handle = ProxyHandle(
                host="127.0.0.1",
                port=_free_port(),
                user=user,
                password=secrets.token_hex(8),
                source_ip=f"127.0.0.{octet}",
                dir=final,
                _squid=squid,
                _helper=helper,
                _rundir=rundir,
                _ids=ids,
            )
            handle._spawn()  # all spawned first, then waited for together
            handles.append(handle)
        _wait_ready(handles, timeout)
    except BaseException:
        stop_all(handles)
        raise
    return handles


def start_proxy(workdir: str | os.PathLike[str], *, source: int, **kwargs: float) -> ProxyHandle:
    """One proxy sending from ``127.0.0.<source>`` (user ``user<source - 1>``)."""
    return start_proxies(1, workdir, first_source=source, **kwargs)[0]


def stop_all(
    handles: list[ProxyHandle], timeout: float = STOP_TIMEOUT, *, graceful: bool = True
) -> None:
    """Stop them all in parallel (SIGTERM: ~2 s; ``graceful=False``: SIGKILL, at once, and
    harmless here: no disk cache, logs written line by line), then move /tmp run dirs back
    into the workdir."""
    for h in handles:
        h._signal(signal.SIGTERM if graceful else signal.SIGKILL)
    for h in handles:
        h._reap(timeout)
        h.finish()


@atexit.register
def _stop_leftovers() -> None:
    with _live_lock:
        left = list(_live)
    stop_all(left)


# --- CLI ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start N proxies, print them, run until SIGTERM/SIGINT")
    start.add_argument("n", type=int)
    start.add_argument("--workdir", help="where their files go (default: a new temp dir)")
    start.add_argument("--first-source", type=int, default=DEFAULT_FIRST_SOURCE)
    start.add_argument("--timeout", type=float, default=START_TIMEOUT)
    start.add_argument("--json", action="store_true", help="one JSON object a line")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    workdir = args.workdir or tempfile.mkdtemp(prefix="proxies-")
    try:
        handles = start_proxies(
            args.n, workdir, first_source=args.first_source, timeout=args.timeout
        )
    except ProxyError as exc:
        print(f"proxies: {exc}", file=sys.stderr)
        return 2
    try:
        for h in handles:
            if args.json:
                fields = ("url", "host", "port", "user", "password", "source_ip", "dir")
                line = json.dumps({k: str(getattr(h, k)) for k in fields} | {"port": h.port})
            else:
                line = h.url
            print(line, flush=True)
        print(f"proxies: {len(handles)} running, files in {workdir}", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            for h in handles:
                if not h.alive() and h._proc is not None and h._proc.returncode is not None:
                    print(f"proxies: {h.address} exited", file=sys.stderr, flush=True)
                    h._proc = None
    finally:
        stop_all(handles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
