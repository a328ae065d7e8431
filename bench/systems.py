"""The systems under test: Headend and its peers, each started fresh, pinned to CPU0, and stopped.

Every system serves the same looped source. Its *server* pids are what the bench measures (never the
ffmpeg that feeds it: that is reported as *source*, and runs on CPU1 for every system).

- ``headend``: ``headend serve`` (its own ffmpeg child through a wrapper that pins it to CPU1).
- ``vlc``: ffmpeg → pipe → ``cvlc --sout '#std{access=http,mux=ts,...}'`` as ``nobody`` (VLC refuses root).
- ``asgi``: the same relay behind uvicorn + Starlette ``StreamingResponse`` (``bench/asgi_relay.py``).
- ``nginx``: ffmpeg's HLS muxer writing to /dev/shm, served by a private nginx (1 worker, sendfile).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from collections import Counter
from pathlib import Path

from bench.media import Source, ffmpeg_wrapper, loop_argv
from bench.procs import PYTHON, ROOT, Proc, Procs
from bench.sampler import descendants

SERVER_CPU = 0
SOURCE_CPU = 1
HEADEND_BIN = str(ROOT / ".venv" / "bin" / "headend")


class BenchError(RuntimeError):
    """Something the bench needs did not work; the message says what (command and output)."""


def wait_port(port: int, timeout: float, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise BenchError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_text()[-3000:]}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise BenchError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


def ensure_free(port: int) -> None:
    """Refuse to start a system on a port something else already listens on."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        if sock.connect_ex(("127.0.0.1", port)) == 0:
            raise BenchError(f"127.0.0.1:{port} is already in use (use --port-base to move the bench)")


def log_summary(text: str) -> dict[str, object]:
    """What a server wrote to stderr: line count, severities, the most frequent distinct lines."""
    lines = [line for line in text.splitlines() if line.strip()]
    severities = Counter(
        word for line in lines for word in ("Traceback", "CRITICAL", "ERROR", "WARNING") if word in line.upper()
    )
    common = Counter(line.strip()[:240] for line in lines).most_common(8)
    return {"lines": len(lines), "severities": dict(severities), "top": [f"{n}x {line}" for line, n in common]}


class System(ABC):
    name: str = ""
    label: str = ""
    ts_path: str = ""
    hls_path: str = ""

    def __init__(self, procs: Procs, source: Source, port: int, workdir: Path) -> None:
        self.procs = procs
        self.source = source
        self.port = port
        self.workdir = workdir
        self.main: Proc | None = None
        self.helpers: list[Proc] = []
        self._log_mark = 0

    @abstractmethod
    def start(self) -> None: ...

    def server_pids(self) -> list[int]:
        return [self.main.pid] if self.main is not None else []

    def source_pids(self) -> list[int]:
        pids = [s.pid for s in descendants(self.main.pid, "ffmpeg")] if self.main is not None else []
        return pids + [p.pid for p in self.helpers if p.alive()]

    def log_text(self) -> str:
        """What the server logged (stderr; nginx: its error log)."""
        return self.main.log_text() if self.main is not None else ""

    def mark_ready(self) -> None:
        """Log lines written before now (start-up, readiness probes) are summarized apart."""
        self._log_mark = len(self.log_text())

    def stop(self) -> dict[str, object]:
        """Stop everything; returns the server's stderr summary and how long the stop took."""
        info: dict[str, object] = {}
        if self.main is not None:
            info["stop_s"] = self.procs.stop(self.main)
            info["exit_code"] = self.main.popen.returncode
            text, mark = self.log_text(), self._log_mark
            info["stderr"] = log_summary(text[mark:])
            info["stderr_before_ready"] = log_summary(text[:mark])
        for helper in self.helpers:
            self.procs.stop(helper)
        self.main, self.helpers, self._log_mark = None, [], 0
        return info

    def versions(self) -> dict[str, str]:
        return {}


class Headend(System):
    name, label = "headend", "Headend"
    hls_path = "/stream/1.m3u8"
    ts_path = "/stream/1.ts"

    def __init__(self, procs: Procs, source: Source, port: int, workdir: Path, env: dict[str, str] | None = None):
        super().__init__(procs, source, port, workdir)
        self.extra_env = env or {}
        self.channel_id = 1

    def env(self) -> dict[str, str]:
        return {
            "HEADEND_PATHS_DATA_DIR": str(self.workdir / "headend-data"),
            "HEADEND_HTTP_PORT": str(self.port),
            "HEADEND_HTTP_HOST": "127.0.0.1",
            "HEADEND_DELIVERY_TEST_ROUTES": "1",
            "HEADEND_LOG_LEVEL": "warning",
            "HEADEND_INGEST_FFMPEG": str(ffmpeg_wrapper(SOURCE_CPU)),
            **self.extra_env,
        }

    def prepare(self) -> None:
        """Create the data dir and the channel once (a fresh SQLite database)."""
        data = self.workdir / "headend-data"
        marker = data / ".bench-channel"
        if marker.exists():
            self._use_channel(int(marker.read_text(encoding="utf-8")))
            return
        data.mkdir(parents=True, exist_ok=True)
        argv = [HEADEND_BIN, "channel", "add", "Bench", "--number", "1", "--source", str(self.source.path), "--json"]
        out = subprocess.run(argv, capture_output=True, env={**os.environ, **self.env()}, timeout=120, check=False)
        if out.returncode != 0:
            raise BenchError(
                f"`{' '.join(argv)}` failed ({out.returncode}):\n{out.stdout.decode()}{out.stderr.decode()}"
            )
        try:
            self._use_channel(int(json.loads(out.stdout)[0]["id"]))
        except (ValueError, KeyError, IndexError, TypeError):
            self._use_channel(1)
        marker.write_text(str(self.channel_id), encoding="utf-8")

    def _use_channel(self, channel_id: int) -> None:
        self.channel_id = channel_id
        self.ts_path, self.hls_path = f"/stream/{channel_id}.ts", f"/stream/{channel_id}.m3u8"

    def start(self) -> None:
        ensure_free(self.port)
        self.prepare()
        self.main = self.procs.start("headend", [HEADEND_BIN, "serve"], cpu=SERVER_CPU, env=self.env())
        wait_port(self.port, 60.0, self.main)

    def ffmpeg_pids(self) -> list[tuple[int, int]]:
        """(pid, start_time) of the server's ffmpeg children."""
        if self.main is None:
            return []
        return [(s.pid, s.start_time) for s in descendants(self.main.pid, "ffmpeg")]

    def versions(self) -> dict[str, str]:
        out = subprocess.run([HEADEND_BIN, "--version"], capture_output=True, timeout=60, check=False)
        return {"headend": out.stdout.decode().strip()}


class Vlc(System):
    name, label = "vlc", "VLC 3 HTTP output"
    ts_path = "/ch.ts"

    def start(self) -> None:
        ensure_free(self.port)
        read_end, write_end = os.pipe()
        try:
            feeder = self.procs.start(
                "vlc-feed", [*loop_argv(self.source), "-f", "mpegts", "pipe:1"], cpu=SOURCE_CPU, stdout=write_end
            )
            self.helpers.append(feeder)
            sout = f"#std{{access=http,mux=ts,dst=127.0.0.1:{self.port}{self.ts_path}}}"
            argv = [
                "runuser",
                "-u",
                "nobody",
                "--",
                "env",
                "HOME=/tmp",
                "cvlc",
                "-q",
                "--no-stats",
                "-",
                "--sout",
                sout,
            ]
            self.main = self.procs.start("vlc", argv, cpu=SERVER_CPU, stdin=read_end)
        finally:
            os.close(read_end)
            os.close(write_end)
        wait_port(self.port, 20.0, self.main)

    def server_pids(self) -> list[int]:
        if self.main is None:
            return []
        return [s.pid for s in descendants(self.main.pid, "vlc")]  # not runuser itself

    def source_pids(self) -> list[int]:
        return [p.pid for p in self.helpers if p.alive()]

    def versions(self) -> dict[str, str]:
        out = subprocess.run(
            ["runuser", "-u", "nobody", "--", "env", "HOME=/tmp", "cvlc", "--version"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return {"vlc": out.stdout.decode(errors="replace").splitlines()[0] if out.stdout else "?"}


class AsgiRelay(System):
    name, label = "asgi", "uvicorn + Starlette StreamingResponse"
    ts_path = "/ch.ts"

    def start(self) -> None:
        ensure_free(self.port)
        argv = [PYTHON, "-m", "uvicorn", "bench.asgi_relay:app", "--host", "127.0.0.1", "--port", str(self.port),
                "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
                "--backlog", "4096"]  # fmt: skip
        env = {"BENCH_RELAY_SOURCE": str(self.source.path), "BENCH_RELAY_FFMPEG": str(ffmpeg_wrapper(SOURCE_CPU))}
        self.main = self.procs.start("asgi-relay", argv, cpu=SERVER_CPU, env=env)
        wait_port(self.port, 30.0, self.main)


_NGINX_CONF = """\
worker_processes 1;
worker_rlimit_nofile 20000;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_requests 1000000; keepalive_timeout 75s;
    open_file_cache max=1000 inactive=20s; open_file_cache_valid 1s;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    client_body_temp_path {prefix}/tmp/body; proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi; uwsgi_temp_path {prefix}/tmp/uwsgi; scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {www};
        # ffmpeg replaces the playlist by rename: never serve it from the descriptor cache
        location ~ \\.m3u8$ {{ open_file_cache off; add_header Cache-Control no-cache; }}
    }}
}}
"""


class NginxHls(System):
    name, label = "nginx", "nginx 1 worker (sendfile) + ffmpeg HLS in tmpfs"
    hls_path = "/live.m3u8"

    def start(self) -> None:
        ensure_free(self.port)
        prefix = self.workdir / "nginx"
        www = Path("/dev/shm") / f"headend-bench-{os.getpid()}-hls"
        shutil.rmtree(www, ignore_errors=True)
        www.mkdir(parents=True)
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(_NGINX_CONF.format(prefix=prefix, port=self.port, www=www), encoding="utf-8")
        self.www = www
        hls = ["-f", "hls", "-hls_time", "2", "-hls_list_size", "6",
               "-hls_flags", "delete_segments+independent_segments",
               "-hls_segment_filename", str(www / "seg%d.ts"), str(www / "live.m3u8")]  # fmt: skip
        self.helpers.append(self.procs.start("hls-writer", [*loop_argv(self.source), *hls], cpu=SOURCE_CPU))
        argv = ["nginx", "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log"), "-g", "daemon off;"]
        self.main = self.procs.start("nginx", argv, cpu=SERVER_CPU)
        wait_port(self.port, 20.0, self.main)

    def server_pids(self) -> list[int]:
        if self.main is None:
            return []
        return [self.main.pid, *(s.pid for s in descendants(self.main.pid, "nginx"))]

    def source_pids(self) -> list[int]:
        return [p.pid for p in self.helpers if p.alive()]

    def log_text(self) -> str:
        error_log = self.workdir / "nginx" / "error.log"
        return error_log.read_text(encoding="utf-8", errors="replace") if error_log.exists() else ""

    def stop(self) -> dict[str, object]:
        info = super().stop()
        shutil.rmtree(getattr(self, "www", Path("/nonexistent")), ignore_errors=True)
        return info

    def versions(self) -> dict[str, str]:
        out = subprocess.run(["nginx", "-v"], capture_output=True, timeout=30, check=False)
        return {"nginx": out.stderr.decode().strip().removeprefix("nginx version: ")}
