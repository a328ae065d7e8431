"""One measured load run (S1 or S3) against one freshly started system.

Sequence: start the system → wait until it serves → wait for a quiet machine → start the load generator
(``bench.loadgen``, pinned to CPU1) → CPU of server, source and client over exactly the generator's
measurement window (it announces the window on stdout), RSS sampled every second → stop everything.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import queue
import subprocess
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.players import parse_playlist
from bench.procs import PYTHON, Proc, Procs
from bench.sampler import Meter, busy_cores, loadavg
from bench.systems import SOURCE_CPU, BenchError, System
from bench.zap import zap

T = TypeVar("T")
NOISE_CORES = 0.3  # other tenants' CPU that makes a run wait before it starts
QUIET_MAX_WAIT_S = 20.0
NOISE_CPU0_PCT = 15.0  # CPU0 time outside the system under test during the window: the run is noisy


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh uvloop loop (plain asyncio without uvloop)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def wait_ts(system: System, timeout: float = 30.0) -> float:
    """Zap until a keyframe arrives (this also starts an on-demand channel); returns the seconds it took."""
    t0 = time.monotonic()
    last = ""
    while time.monotonic() - t0 < timeout:
        result = run_async(zap("127.0.0.1", system.port, system.ts_path, timeout=min(15.0, timeout)))
        if result.ok:
            return time.monotonic() - t0
        last = result.error
        time.sleep(0.5)
    raise BenchError(f"{system.name}: GET {system.ts_path} gave no keyframe within {timeout:g} s (last: {last})")


def wait_hls(system: System, segments: int = 2, timeout: float = 40.0) -> float:
    """Poll the playlist until it lists ``segments`` segments; returns the seconds it took."""
    t0 = time.monotonic()
    last = ""
    while time.monotonic() - t0 < timeout:
        conn = http.client.HTTPConnection("127.0.0.1", system.port, timeout=5.0)
        try:
            conn.request("GET", system.hls_path)
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            playlist = parse_playlist(body) if resp.status == 200 else None
            if playlist is not None and len(playlist.segments) >= segments:
                return time.monotonic() - t0
            last = f"HTTP {resp.status}: {body[:200]!r}"
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()
        time.sleep(0.5)
    raise BenchError(f"{system.name}: GET {system.hls_path} did not list {segments} segments in {timeout:g} s ({last})")


def quiet_wait(exclude: list[int]) -> dict[str, float]:
    """Wait (bounded) until the rest of the machine uses less than NOISE_CORES; report what was seen."""
    t0 = time.monotonic()
    busy = busy_cores(1.0, exclude)
    while busy > NOISE_CORES and time.monotonic() - t0 < QUIET_MAX_WAIT_S:
        time.sleep(2.0)
        busy = busy_cores(1.0, exclude)
    return {"busy_cores": busy, "waited_s": time.monotonic() - t0}


@dataclass(frozen=True)
class LoadSpec:
    kind: str  # "ts" (S1) or "hls" (S3)
    n: int
    warmup: float
    seconds: float
    ramp_per_s: float = 500.0
    ingest_bps: float = 0.0


def _reader(stream: Any, lines: queue.Queue[str | None]) -> None:
    for raw in stream:
        lines.put(raw.decode("utf-8", "replace").strip())
    lines.put(None)


def _follow(client: Proc, meter: Meter, system: System, deadline: float) -> dict[str, object]:
    """Drive the meter from the generator's stdout; returns the meter's window.

    The source pids are looked up again when the window opens: an on-demand channel may have stopped and
    restarted its ffmpeg between the readiness probe and the load.
    """
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(client.popen.stdout, lines), daemon=True).start()
    measuring, window = False, {}
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            if measuring:
                meter.sample_rss()
            continue
        if line is None:
            break
        if line == "MEASURE_START":
            meter.groups["source"] = system.source_pids()
            meter.begin()
            measuring = True
        elif line == "MEASURE_END":
            window, measuring = meter.end(), False
    return window


def run_load(system: System, spec: LoadSpec, procs: Procs, tmp: Path) -> dict[str, Any]:
    record: dict[str, Any] = {"system": system.name, "kind": spec.kind, "n": spec.n, "loadavg_before": loadavg()}
    path = system.ts_path if spec.kind == "ts" else system.hls_path
    client: Proc | None = None
    t_start = time.monotonic()
    try:
        system.start()
        record["ready_s"] = wait_ts(system) if spec.kind == "ts" else wait_hls(system)
        system.mark_ready()
        record["quiet"] = quiet_wait(system.server_pids() + system.source_pids())
        idle = Meter({"server": system.server_pids()})
        idle.sample_rss()
        record["rss_idle_mib"] = idle.rss_samples["server"][0] / 1024
        out = tmp / f"loadgen-{system.name}-{spec.kind}-{spec.n}-{time.time_ns()}.json"
        argv = [PYTHON, "-m", "bench.loadgen", spec.kind, "--port", str(system.port), "--path", path,
                "--n", str(spec.n), "--warmup", str(spec.warmup), "--seconds", str(spec.seconds),
                "--ramp", str(spec.ramp_per_s), "--ingest-bps", str(spec.ingest_bps), "--out", str(out)]  # fmt: skip
        client = procs.start("loadgen", argv, cpu=SOURCE_CPU, stdout=subprocess.PIPE)
        groups = {"server": system.server_pids(), "source": system.source_pids(), "client": [client.pid]}
        meter = Meter(groups)
        deadline = time.monotonic() + spec.n / spec.ramp_per_s + spec.warmup + spec.seconds + 60.0
        record["measure"] = _follow(client, meter, system, deadline)
        try:
            client.popen.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        if not out.exists():
            raise BenchError(f"the load generator wrote no result:\n{client.log_text()[-3000:]}")
        record["client"] = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
        record["pids"] = {k: v for k, v in meter.groups.items() if k != "client"}
    finally:
        if client is not None:
            procs.stop(client)
        record["stop"] = system.stop()
    record["elapsed_s"] = time.monotonic() - t_start
    measure = record.get("measure") or {}
    cpu = measure.get("cpu_pct", {})
    cpu0 = measure.get("cpu0", {})
    if cpu and cpu0:
        record["foreign_cpu0_pct"] = max(0.0, cpu0["task_pct"] - cpu.get("server", 0.0))
    record["noisy"] = record.get("foreign_cpu0_pct", 0.0) > NOISE_CPU0_PCT
    return record
