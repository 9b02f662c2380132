"""Helpers for tests and benchmarks: start/stop the stand-in and call its admin API.

Only the standard library is used (``subprocess``, ``urllib``), so these helpers work from
synchronous test code, Scrapy/Twisted tests and benchmark scripts alike::

    proc, base = start_standin(tmp_path)
    configure(base, "test_x", seed=3, latency_ms=5)   # a PUT replaces the whole config
    url = tenant_url(base, "test_x")          # -> http://127.0.0.1:PORT/t/test_x
    oauth = oauth_url(base, "test_x")         # -> http://127.0.0.1:PORT/t/test_x/oauth
    ...
    configure(base, "test_y", oauth_clients={"id": "secret"}, block_public=True)
    status, body = request_token(base, "test_y", "id", "secret")  # body["access_token"]
    tokens = get_tokens(base, "test_y")       # e.g. to grep logs for leaked tokens
    log = get_requests(base, "test_x")
    stop(proc)
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def start_standin(
    tmp_dir: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    timeout: float = 20.0,
    config: dict[str, Any] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """Launch ``python -m standin`` on a free port; return ``(process, base_url)``.

    Output goes to ``<tmp_dir>/standin.log``. Waits until the port file is written and
    ``/_standin/health`` answers. ``config`` configures tenant ``default``.
    """
    tmp = Path(tmp_dir)
    tmp.mkdir(parents=True, exist_ok=True)
    port_file = tmp / "standin.port"
    port_file.unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [
        sys.executable,
        "-m",
        "standin",
        "--host",
        host,
        "--port",
        "0",
        "--port-file",
        str(port_file),
    ]
    if config:
        cmd += ["--config", json.dumps(config)]
    with open(tmp / "standin.log", "ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(REPO_ROOT), env=env
        )
    deadline = time.monotonic() + timeout
    port = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"standin exited with {proc.returncode}; see {tmp / 'standin.log'}")
        try:
            text = port_file.read_text(encoding="ascii").strip()
            if text:
                port = int(text)
                break
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.02)
    if port is None:
        stop(proc)
        raise RuntimeError(f"standin did not start within {timeout}s")
    base_url = f"http://{host}:{port}"
    while time.monotonic() < deadline:
        try:
            if health(base_url):
                return proc, base_url
        except OSError:
            pass
        time.sleep(0.02)
    stop(proc)
    raise RuntimeError("standin is not answering /_standin/health")


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM the server and wait (SIGKILL after ``timeout``); return its exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    return proc.returncode


def tenant_url(base_url: str, tenant: str) -> str:
    """The Reddit base URL of a tenant, e.g. ``http://127.0.0.1:PORT/t/<tenant>``."""
    return f"{base_url.rstrip('/')}/t/{tenant}"


def oauth_url(base_url: str, tenant: str) -> str:
    """The OAuth host URL of a tenant, e.g. ``http://127.0.0.1:PORT/t/<tenant>/oauth``.

    The token endpoint is on the Reddit base URL: ``tenant_url(...) + "/api/v1/access_token"``.
    """
    return f"{tenant_url(base_url, tenant)}/oauth"


# -- HTTP -------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def fetch(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, dict[str, str], bytes]:
    """One request without following redirects: ``(status, headers, body)``.

    Header names are lower-cased. HTTP error statuses are returned, not raised.
    """
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        body = err.read()
        return err.code, {k.lower(): v for k, v in err.headers.items()}, body


def _admin(base_url: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"} if data is not None else {}
    status, _, raw = fetch(
        f"{base_url.rstrip('/')}{path}", method=method, data=data, headers=headers
    )
    result = json.loads(raw) if raw else None
    if status != 200:
        raise RuntimeError(f"{method} {path} -> {status}: {result}")
    return result


def health(base_url: str) -> bool:
    """True if ``/_standin/health`` answers 200."""
    return bool(_admin(base_url, "GET", "/_standin/health").get("ok"))


def configure(base_url: str, tenant: str, **config: Any) -> None:
    """``PUT /_standin/tenants/<tenant>`` with ``config`` (unknown keys -> RuntimeError)."""
    _admin(base_url, "PUT", f"/_standin/tenants/{tenant}", config)


def get_requests(base_url: str, tenant: str) -> list[dict[str, Any]]:
    """The tenant's request log, in arrival order."""
    result: list[dict[str, Any]] = _admin(base_url, "GET", f"/_standin/tenants/{tenant}/requests")[
        "requests"
    ]
    return result


def clear_requests(base_url: str, tenant: str) -> None:
    """Empty the tenant's request log (its config stays)."""
    _admin(base_url, "DELETE", f"/_standin/tenants/{tenant}/requests")


def reset(base_url: str, tenant: str) -> None:
    """Forget the tenant entirely (config back to defaults, log emptied)."""
    _admin(base_url, "DELETE", f"/_standin/tenants/{tenant}")


def world_summary(base_url: str, tenant: str) -> dict[str, Any]:
    """``GET /_standin/tenants/<tenant>/world``."""
    result: dict[str, Any] = _admin(base_url, "GET", f"/_standin/tenants/{tenant}/world")
    return result


def truth(base_url: str, tenant: str, subs: list[str], **params: int) -> dict[str, Any]:
    """``GET /_standin/tenants/<tenant>/truth`` (same keywords as ``expected_crawl``)."""
    query = urllib.parse.urlencode({"subs": ",".join(subs), **params})
    result: dict[str, Any] = _admin(base_url, "GET", f"/_standin/tenants/{tenant}/truth?{query}")
    return result


def get_tokens(base_url: str, tenant: str) -> list[dict[str, Any]]:
    """Tokens issued for the tenant: ``[{"token", "client_id", "issued", "expires"}]``."""
    result: list[dict[str, Any]] = _admin(base_url, "GET", f"/_standin/tenants/{tenant}/tokens")[
        "tokens"
    ]
    return result


def expire_tokens(base_url: str, tenant: str) -> int:
    """Expire every token of the tenant now; return how many were still valid."""
    result = _admin(base_url, "POST", f"/_standin/tenants/{tenant}/expire_tokens", {})
    return int(result["expired"])


def request_token(
    base_url: str, tenant: str, client_id: str, secret: str
) -> tuple[int, dict[str, Any]]:
    """``POST /api/v1/access_token`` (client credentials) of a tenant: ``(status, json body)``."""
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
    status, _, raw = fetch(
        f"{tenant_url(base_url, tenant)}/api/v1/access_token",
        method="POST",
        data=b"grant_type=client_credentials",
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    return status, json.loads(raw)
