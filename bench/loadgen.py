"""The load-generator process: ``python -m bench.loadgen {ts,hls} ...`` (the orchestrator pins it to CPU1).

It talks to the orchestrator through stdout, one word per line, flushed:
``READY`` (every client connected), ``MEASURE_START`` and ``MEASURE_END`` (the window the orchestrator
measures CPU over), then writes its result as JSON to ``--out``. It stops on its own after
ramp + warm-up + window + a fixed margin, whatever the server does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from bench.http1 import check_loopback, install_uvloop, raise_nofile
from bench.players import HlsLoad
from bench.viewers import TsLoad

SETTLE_TIMEOUT_S = 15.0


def _say(word: str) -> None:
    sys.stdout.write(word + "\n")
    sys.stdout.flush()


async def run_ts(args: argparse.Namespace) -> dict[str, object]:
    load = TsLoad(args.host, args.port, args.path, args.n, args.ingest_bps, ramp_per_s=args.ramp)
    t0 = time.perf_counter()
    try:
        await load.ramp()
        await load.wait_first_bytes(SETTLE_TIMEOUT_S)
        ramp_s = time.perf_counter() - t0
        _say("READY")
        await asyncio.sleep(args.warmup)
        load.begin()
        _say("MEASURE_START")
        await asyncio.sleep(args.seconds)
        load.end()
        _say("MEASURE_END")
        return {**load.result(), "ramp_s": ramp_s}
    finally:
        load.close()


async def run_hls(args: argparse.Namespace) -> dict[str, object]:
    load = HlsLoad(args.host, args.port, args.path, args.n, ramp_per_s=args.ramp)
    t0 = time.perf_counter()
    stop_at = t0 + args.n / args.ramp + args.warmup + args.seconds + 1.0
    tasks = await load.run(stop_at)
    try:
        ramp_s = time.perf_counter() - t0
        _say("READY")
        await asyncio.sleep(args.warmup)
        load.window.start = time.perf_counter()
        _say("MEASURE_START")
        await asyncio.sleep(args.seconds)
        load.window.end = time.perf_counter()
        _say("MEASURE_END")
        async with asyncio.timeout(15.0):
            await asyncio.gather(*tasks, return_exceptions=True)
        return {**load.result(), "ramp_s": ramp_s}
    except TimeoutError:
        return {**load.result(), "ramp_s": time.perf_counter() - t0, "note": "players did not finish in time"}
    finally:
        for task in tasks:
            task.cancel()
        load.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("kind", choices=["ts", "hls"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ramp", type=float, default=500.0, help="new connections per second")
    parser.add_argument("--ingest-bps", type=float, default=0.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    check_loopback(args.host)
    raise_nofile()
    uv = install_uvloop()
    runner = run_ts if args.kind == "ts" else run_hls
    result = asyncio.run(runner(args))
    result["uvloop"] = uv
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
