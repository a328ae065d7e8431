"""S5 (warm zap) and S6 (cold start and idle stop), run from the orchestrator (pinned to CPU1).

S5: a holder viewer keeps the channel warm; then ``sequential`` zaps one after the other and ``waves``
rounds of ``concurrent`` simultaneous zaps. S6: Headend with a short ``relay.idle_grace_s``; each cycle
waits until the channel's ffmpeg is gone, zaps (request → first keyframe), hangs up and times how long
until that ffmpeg process (by pid and start time) has exited. Every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.load import quiet_wait, run_async, wait_ts
from bench.sampler import all_stats, exists, loadavg
from bench.stats import summary
from bench.systems import Headend, System
from bench.zap import ZapResult, hold, summarize, zap

HOST = "127.0.0.1"


async def _zaps(system: System, sequential: int, concurrent: int, waves: int, cap_s: float) -> dict[str, Any]:
    holder = await hold(HOST, system.port, system.ts_path)
    await asyncio.sleep(1.0)
    try:
        deadline = time.perf_counter() + cap_s
        seq: list[ZapResult] = []
        for _ in range(sequential):
            if time.perf_counter() > deadline:
                break
            seq.append(await zap(HOST, system.port, system.ts_path))
            await asyncio.sleep(0.02)
        conc: list[ZapResult] = []
        for _ in range(waves):
            if time.perf_counter() > deadline + 30.0:
                break
            conc += await asyncio.gather(*(zap(HOST, system.port, system.ts_path) for _ in range(concurrent)))
            await asyncio.sleep(0.5)
        return {
            "sequential": summarize(seq),
            "concurrent": {**summarize(conc), "width": concurrent, "waves": waves},
            "holder_alive": holder is not None and not holder.lost.done(),
            "capped": len(seq) < sequential,
        }
    finally:
        if holder is not None:
            holder.close()


def run_zap(system: System, sequential: int, concurrent: int, waves: int, cap_s: float) -> dict[str, Any]:
    record: dict[str, Any] = {"system": system.name, "loadavg_before": loadavg()}
    try:
        system.start()
        record["ready_s"] = wait_ts(system)
        system.mark_ready()
        record["quiet"] = quiet_wait(system.server_pids() + system.source_pids())
        record.update(run_async(_zaps(system, sequential, concurrent, waves, cap_s)))
    finally:
        record["stop"] = system.stop()
    return record


async def _wait_gone(pids: list[tuple[int, int]], timeout: float) -> float | None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if not any(exists(pid, start) for pid, start in pids):
            return time.perf_counter() - t0
        await asyncio.sleep(0.02)
    return None


async def _cold_cycles(headend: Headend, cycles: int, grace: float, cap_s: float) -> dict[str, Any]:
    stop_timeout = grace + 15.0
    deadline = time.perf_counter() + cap_s
    rows: list[dict[str, Any]] = []
    seen: list[tuple[int, int]] = []
    for _ in range(cycles):
        if time.perf_counter() > deadline:
            break
        settle = await _wait_gone(headend.ffmpeg_pids(), stop_timeout)
        was_cold = not headend.ffmpeg_pids()
        result = await zap(HOST, headend.port, headend.ts_path, timeout=15.0)
        pids = headend.ffmpeg_pids()
        seen += [p for p in pids if p not in seen]
        gone = await _wait_gone(pids, stop_timeout)
        rows.append({"cold": was_cold, "settle_s": settle, "zap": asdict(result), "ffmpeg": pids, "stopped_s": gone})
    return {"rows": rows, "ffmpeg_seen": seen}


def _leftovers(seen: list[tuple[int, int]], source: str) -> list[int]:
    """Recorded ffmpeg pids still alive, plus any ffmpeg reading the bench source that nobody owns."""
    alive = [pid for pid, start in seen if exists(pid, start)]
    for stat in all_stats():
        if stat.comm == "ffmpeg" and stat.pid not in alive:
            try:
                cmdline = Path(f"/proc/{stat.pid}/cmdline").read_bytes()
            except OSError:
                continue
            if source.encode() in cmdline and stat.ppid == 1:
                alive.append(stat.pid)
    return alive


def run_cold(headend: Headend, cycles: int, grace: float, cap_s: float) -> dict[str, Any]:
    record: dict[str, Any] = {"system": headend.name, "grace_s": grace, "loadavg_before": loadavg()}
    seen: list[tuple[int, int]] = []
    rows: list[dict[str, Any]] = []
    try:
        headend.start()
        record["quiet"] = quiet_wait(headend.server_pids())
        data = run_async(_cold_cycles(headend, cycles, grace, cap_s))
        seen = data["ffmpeg_seen"]
        rows = data["rows"]
        record["leaked_during"] = sorted({pid for r in rows if r["stopped_s"] is None for pid, _ in r["ffmpeg"]})
    finally:
        record["stop"] = headend.stop()
    time.sleep(0.5)
    record["leaked_after_stop"] = _leftovers(seen, str(headend.source.path))
    ok = [r for r in rows if r["zap"]["keyframe"] is not None and r["cold"]]
    record.update(
        {
            "cycles": len(rows),
            "cold_cycles": sum(1 for r in rows if r["cold"]),
            "ok": len(ok),
            "errors": sorted({r["zap"]["error"] for r in rows if r["zap"]["error"]})[:5],
            "keyframe_s": summary([r["zap"]["keyframe"] for r in ok]),
            "first_byte_s": summary([r["zap"]["first_byte"] for r in ok if r["zap"]["first_byte"] is not None]),
            "headers_s": summary([r["zap"]["headers"] for r in ok if r["zap"]["headers"] is not None]),
            "ffmpeg_stop_s": summary([r["stopped_s"] for r in rows if r["stopped_s"] is not None]),
            "ffmpeg_per_cycle": [len(r["ffmpeg"]) for r in rows],
            "rows": rows,
        }
    )
    return record
