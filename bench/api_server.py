"""Headend for the client-API benchmarks (S8, S9): a big catalogue, a few lines, until SIGTERM.

    python -m bench.api_server --port 18090 --data-dir /tmp/x --channels 10000 --line s8:5000 --line s9:10000

Builds :class:`~headend.settings.Settings` in code (a fresh data dir, loopback port, log level warning; the
environment's ``HEADEND_*`` variables are ignored), starts ``Headend(settings)`` under uvloop, creates the
channels and one line per ``--line NAME:COUNT`` (entitled to the first COUNT channels) with the helpers of
``tests/api/bulk.py``, prints one JSON line (port, pid, credentials) on stdout and serves until SIGTERM.

``--diag FILE`` adds bench-only probes, written to FILE on exit: GC pauses (``gc.callbacks``), event-loop
lag, and the time spent in credential verification (auth-cache misses), last-seen flushes and catalog-version
reads (wrapped methods: nothing in ``src/`` changes). Timestamps are ``time.monotonic()``, which every
process on the machine shares, so a client can line its slow requests up with them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.api.bulk import bulk_channels, bulk_line

from headend import settings as settings_mod
from headend.logs import setup_logging
from headend.runtime import Headend
from headend.services import Services
from headend.settings import Settings

LAG_TICK_S = 0.005
LAG_RECORD_S = 0.004  # a tick later than this is recorded
GC_RECORD_S = 0.0005


class Probes:
    """Bench-only instrumentation of a running Headend (see the module docstring)."""

    def __init__(self) -> None:
        self.gc: list[tuple[float, int, float]] = []  # (start, generation, seconds) for pauses ≥ GC_RECORD_S
        self.gc_counts = [0, 0, 0]
        self.gc_total_s = [0.0, 0.0, 0.0]
        self.lag: list[tuple[float, float]] = []  # (when, seconds late)
        self.calls: dict[str, list[tuple[float, float]]] = {}  # name -> (start, seconds)
        self._gc_start = 0.0
        self._lag_task: asyncio.Task[None] | None = None

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.monotonic()
            return
        took = time.monotonic() - self._gc_start
        gen = info.get("generation", 0)
        self.gc_counts[gen] += 1
        self.gc_total_s[gen] += took
        if took >= GC_RECORD_S:
            self.gc.append((self._gc_start, gen, took))

    async def _watch_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_TICK_S
            await asyncio.sleep(LAG_TICK_S)
            late = loop.time() - due
            if late >= LAG_RECORD_S:
                self.lag.append((time.monotonic() - late, late))

    def wrap(self, owner: object, method: str, name: str) -> None:
        """Time every call of ``owner.method`` (an async method) under ``name``."""
        inner: Callable[..., Awaitable[Any]] = getattr(owner, method)
        calls = self.calls.setdefault(name, [])

        async def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.monotonic()
            try:
                return await inner(*args, **kwargs)
            finally:
                calls.append((t0, time.monotonic() - t0))

        setattr(owner, method, timed)

    def start(self, services: Services) -> None:
        gc.callbacks.append(self._on_gc)
        self._lag_task = asyncio.get_running_loop().create_task(self._watch_lag())
        self.wrap(services.authenticator, "_verify", "auth_verify")
        self.wrap(services.subscribers, "flush_last_seen", "last_seen_flush")
        self.wrap(services.channels, "catalog_version", "catalog_version")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task

    def to_json(self) -> dict[str, Any]:
        return {
            "gc": self.gc,
            "gc_counts": self.gc_counts,
            "gc_total_s": self.gc_total_s,
            "lag": self.lag,
            "calls": self.calls,
            "lag_tick_s": LAG_TICK_S,
        }


def build_settings(args: argparse.Namespace) -> Settings:
    base = settings_mod.load(env={})
    return settings_mod.replace(
        base,
        http={"host": "127.0.0.1", "port": args.port},
        paths={"data_dir": Path(args.data_dir)},
        log={"level": "warning"},
        subscribers={"auth_cache_s": args.auth_cache_s},
    )


def _line_spec(text: str) -> tuple[str, int]:
    name, _, count = text.partition(":")
    if not name or not count.isdigit():
        raise argparse.ArgumentTypeError(f"--line wants NAME:COUNT, not {text!r}")
    return name, int(count)


async def serve(args: argparse.Namespace) -> dict[str, Any] | None:
    """Run until SIGTERM; returns the probes' record (``--diag``) once Headend has shut down."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    headend = Headend(build_settings(args))
    probes = Probes() if args.diag else None
    try:
        t0 = time.monotonic()
        await headend.start()
        services = headend.services
        assert services is not None
        ids = await bulk_channels(services, args.channels)
        lines = []
        for name, count in args.line:
            password = secrets.token_urlsafe(12)
            await bulk_line(services, ids[:count], name, password)
            lines.append({"username": name, "password": password, "channels": min(count, len(ids))})
        if args.gc_freeze:
            gc.collect()
            gc.freeze()
        if args.last_seen_flush_s is not None:
            setattr(services.subscribers, "_last_seen_flush_s", args.last_seen_flush_s)  # noqa: B010 (private)
        if probes is not None:
            probes.start(services)
        ready = {"port": headend.port, "pid": os.getpid(), "channels": len(ids), "lines": lines}
        ready["setup_s"] = time.monotonic() - t0
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await headend.aclose()  # its last-seen flush is timed too
        if probes is not None:
            await probes.stop()
    return None if probes is None else probes.to_json()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.api_server", description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--channels", type=int, default=10_000)
    p.add_argument("--line", type=_line_spec, action="append", default=[], help="NAME:COUNT (repeatable)")
    p.add_argument("--auth-cache-s", type=float, default=5.0, help="subscribers.auth_cache_s (default 5, as shipped)")
    p.add_argument("--gc-freeze", action="store_true", help="gc.freeze() after set-up (an experiment)")
    p.add_argument("--last-seen-flush-s", type=float, help="flush last-seen times this often (shipped: 60 s)")
    p.add_argument("--diag", help="write GC / loop-lag / auth probes to this JSON file on exit")
    args = p.parse_args(argv)
    setup_logging(settings_mod.LogSettings(level="warning"))
    import uvloop

    probes = uvloop.run(serve(args))
    if args.diag and probes is not None:
        Path(args.diag).write_text(json.dumps(probes), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
