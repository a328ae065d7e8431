"""Closed-loop throughput with ``wrk`` (one thread, pinned to CPU1), with the server's CPU over the run.

wrk reports through a Lua ``done()`` hook that prints one JSON line (requests, bytes, errors by kind,
latency percentiles), so nothing depends on wrk's human-readable output. Loopback only; every run is bounded
by ``-d`` and by a timeout around the process.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.http1 import LOOPBACK
from bench.procs import Procs
from bench.sampler import Meter

CLIENT_CPU = 1

_DONE_LUA = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"bytes":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"mean_us":%.1f,"max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
"""


def done_lua() -> str:
    """The ``done()`` hook that prints the WRK_JSON summary line :func:`parse` reads."""
    return _DONE_LUA


def lua_script(tmp: Path) -> Path:
    path = tmp / "wrk-done.lua"
    if not path.exists():
        path.write_text(_DONE_LUA, encoding="utf-8")
    return path


def parse(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith("WRK_JSON "):
            raw: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
            seconds = raw["duration_us"] / 1e6
            errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
            return {
                **raw,
                "seconds": seconds,
                "rps": raw["requests"] / seconds if seconds else 0.0,
                "bytes_per_request": raw["bytes"] / raw["requests"] if raw["requests"] else 0.0,
                "errors": errors,
                "latency_s": {k: raw[f"{k}_us"] / 1e6 for k in ("p50", "p90", "p99", "p999", "max", "mean")},
            }
    raise ValueError(f"wrk printed no summary:\n{stdout[-2000:]}")


def run_wrk(
    procs: Procs,
    tmp: Path,
    *,
    port: int,
    path: str,
    connections: int,
    seconds: float,
    headers: tuple[str, ...] = (),
    server_pids: list[int] | None = None,
    script: Path | None = None,
) -> dict[str, Any]:
    """One wrk run; with ``server_pids`` also their CPU (% of one core) and RSS over the run. ``script``: a Lua
    script of one's own (e.g. a ``request()`` that rotates paths) that must end with :func:`done_lua`."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    argv += ["-s", str(script or lua_script(tmp))]
    for header in headers:
        argv += ["-H", header]
    argv.append(f"http://{LOOPBACK}:{port}{path}")
    meter = Meter({"server": server_pids or []})
    proc = procs.start("wrk", argv, cpu=CLIENT_CPU, stdout=subprocess.PIPE)
    meter.begin()
    try:
        out, _ = proc.popen.communicate(timeout=seconds + 30.0)
    except subprocess.TimeoutExpired:
        out = b""
    window = meter.end()
    procs.stop(proc)
    text = out.decode("utf-8", "replace")
    try:
        result = parse(text)
    except ValueError as exc:
        return {"error": f"{exc}\n{proc.log_text()[-1000:]}", "argv": argv[:-1]}
    cpu = window.get("cpu_pct", {})
    assert isinstance(cpu, dict)
    server_cpu = float(cpu.get("server", 0.0))
    result["server_cpu_pct"] = server_cpu
    result["cpu_ms_per_request"] = 1000.0 * server_cpu / 100.0 / result["rps"] if result["rps"] else None
    result["meter"] = window
    return result
