"""The servers of S8/S9: Headend with a big catalogue (``bench.api_server``) and a static nginx peer.

Both run pinned to CPU0 and are stopped by :class:`~bench.procs.Procs` whatever happens. The nginx peer
serves, from files, the exact bytes Headend answered (fetched once per run with :func:`fetch`): the
``get_live_streams`` JSON and its gzip (``gzip_static``), the login JSON and the M3U. It has its own
``-c``/``-p`` config on a loopback port (1 worker, sendfile, open_file_cache); the system nginx is untouched.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.http1 import LOOPBACK
from bench.procs import PYTHON, Proc, Procs
from bench.sampler import descendants, rss_kib
from bench.systems import SERVER_CPU, BenchError, ensure_free, log_summary, wait_port

GZIP = "Accept-Encoding: gzip"


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET on loopback: status, lower-cased headers, body (as sent: not decompressed)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30.0)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


class ApiServer:
    """Common part: one main process, its stderr, its pid(s)."""

    name = ""

    def __init__(self, procs: Procs, port: int, workdir: Path) -> None:
        self.procs = procs
        self.port = port
        self.workdir = workdir
        self.main: Proc | None = None

    def server_pids(self) -> list[int]:
        return [self.main.pid] if self.main is not None else []

    def rss_mib(self) -> float:
        return sum(rss_kib(pid) or 0 for pid in self.server_pids()) / 1024

    def log_text(self) -> str:
        return self.main.log_text() if self.main is not None else ""

    def stop(self) -> dict[str, Any]:
        info: dict[str, Any] = {}
        if self.main is not None:
            info["stop_s"] = self.procs.stop(self.main)
            info["exit_code"] = self.main.popen.returncode
            info["stderr"] = log_summary(self.log_text())
        self.main = None
        return info


class ApiHeadend(ApiServer):
    """``python -m bench.api_server``: ``channels`` channels and one line per (name, count)."""

    name = "headend"

    def __init__(self, procs: Procs, port: int, workdir: Path, channels: int, lines: dict[str, int],
                 extra: tuple[str, ...] = ()) -> None:  # fmt: skip
        super().__init__(procs, port, workdir)
        self.channels = channels
        self.lines = lines
        self.extra = extra
        self.info: dict[str, Any] = {}
        self._runs = 0

    def start(self) -> dict[str, Any]:
        ensure_free(self.port)
        self._runs += 1
        data = self.workdir / f"api-headend-{self.port}-{self._runs}"
        shutil.rmtree(data, ignore_errors=True)
        argv = [PYTHON, "-m", "bench.api_server", "--port", str(self.port), "--data-dir", str(data),
                "--channels", str(self.channels), *(f"--line={n}:{c}" for n, c in self.lines.items()),
                *self.extra]  # fmt: skip
        self.main = self.procs.start("api-headend", argv, cpu=SERVER_CPU, stdout=subprocess.PIPE)
        self.info = _ready_line(self.main, timeout=90.0)
        wait_port(self.port, 10.0, self.main)
        return self.info

    def password(self, user: str) -> str:
        for line in self.info.get("lines", []):
            if line["username"] == user:
                return str(line["password"])
        raise BenchError(f"api_server made no line {user!r}: {self.info}")

    def query(self, script: str, user: str, **params: str) -> str:
        return f"/{script}?" + urlencode({"username": user, "password": self.password(user), **params})


def _ready_line(proc: Proc, timeout: float) -> dict[str, Any]:
    """The JSON line ``bench.api_server`` prints once it serves (other stdout lines before it, such as the
    first-admin banner Headend prints on a fresh data dir, are skipped)."""
    lines: queue.Queue[bytes] = queue.Queue()
    stream = proc.popen.stdout
    assert stream is not None

    def read() -> None:
        for raw in iter(stream.readline, b""):
            if raw.lstrip().startswith(b"{"):
                lines.put(raw)
                return
        lines.put(b"")

    threading.Thread(target=read, daemon=True).start()
    try:
        raw = lines.get(timeout=timeout)
    except queue.Empty:
        raise BenchError(f"api_server printed nothing in {timeout:g} s:\n{proc.log_text()[-3000:]}") from None
    if not raw:
        raise BenchError(f"api_server exited ({proc.popen.poll()}):\n{proc.log_text()[-3000:]}")
    info: dict[str, Any] = json.loads(raw)
    return info


_NGINX_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_requests 1000000; keepalive_timeout 75s;
    open_file_cache max=100 inactive=60s; open_file_cache_valid 60s;
    types {{ application/json json; audio/x-mpegurl m3u; }}
    client_body_temp_path {prefix}/tmp/body; proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi; uwsgi_temp_path {prefix}/tmp/uwsgi; scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen {host}:{port} backlog=4096;
        root {www};
        location / {{ gzip_static on; gzip_vary on; add_header Cache-Control "private, no-cache"; }}
    }}
}}
"""


class NginxStatic(ApiServer):
    """nginx serving files: ``/live_streams.json`` (+ ``.gz``), ``/login.json``, ``/playlist.m3u``."""

    name = "nginx"

    def __init__(self, procs: Procs, port: int, workdir: Path) -> None:
        super().__init__(procs, port, workdir)
        self.prefix = workdir / f"nginx-api-{port}"
        # the worker runs as nobody: the bench's private temp dir (0700) is not readable to it
        self.www = Path("/dev/shm") / f"headend-bench-{os.getpid()}-api-{port}"

    def put(self, name: str, body: bytes) -> None:
        self.www.mkdir(parents=True, exist_ok=True)
        (self.www / name).write_bytes(body)

    def start(self) -> None:
        ensure_free(self.port)
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(
            _NGINX_CONF.format(prefix=self.prefix, host=LOOPBACK, port=self.port, www=self.www), encoding="utf-8"
        )
        argv = ["nginx", "-c", str(conf), "-p", str(self.prefix), "-e", str(self.prefix / "error.log"),
                "-g", "daemon off;"]  # fmt: skip
        self.main = self.procs.start("nginx-api", argv, cpu=SERVER_CPU)
        wait_port(self.port, 20.0, self.main)

    def server_pids(self) -> list[int]:
        if self.main is None:
            return []
        return [self.main.pid, *(s.pid for s in descendants(self.main.pid, "nginx"))]

    def log_text(self) -> str:
        log = self.prefix / "error.log"
        return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""

    def stop(self) -> dict[str, Any]:
        info = super().stop()
        shutil.rmtree(self.www, ignore_errors=True)
        return info
