"""Headend for the client-API benchmarks (S8, S9): a big catalogue, a few lines, until SIGTERM.

    python -m bench.api_server --port 18090 --data-dir /tmp/x --channels 10000 --line s8:5000 --line s9:10000

Builds :class:`~headend.settings.Settings` in code (a fresh data dir, loopback port, log level warning; the
environment's ``HEADEND_*`` variables are ignored), starts ``Headend(settings)`` under uvloop, creates the
channels and one line per ``--line NAME:COUNT`` (entitled to the first COUNT channels) with the helpers of
``tests/api/bulk.py``, prints one JSON line (port, pid, credentials) on stdout and serves until SIGTERM.

EPG (``s8-epg``, :mod:`bench.epg_bench`): ``--group NAME:COUNT:USERS`` makes USERS lines ``NAME0`` … sharing
one package of the first COUNT channels; ``--guide-days D`` stores a guide for every channel through the real
import path (:mod:`bench.epg_guide`), from ``--guide-back-hours`` before now. ``--seed-only`` builds all that,
writes the ready record to ``DATA_DIR/bench-seed.json`` and exits; ``--reuse`` serves a copy of such a data
dir as it is (nothing is created; the credentials come from its ``bench-seed.json``).

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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests.api.bulk import bulk_channels, bulk_line

from bench.epg_guide import store_guide
from headend import settings as settings_mod
from headend.catalog.models import ChannelRow
from headend.catalog.subscriber_records import LineInput, PackageInput
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
        self.wrap(services.subscribers, "entitlement", "entitlement_load")  # S8-EPG: per verification
        self.wrap(services.epg, "upcoming", "epg_upcoming")  # S8-EPG: short EPG misses
        self.wrap(services.epg, "programmes", "epg_programmes")  # S8-EPG: data table misses, guide batches

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


def _group_spec(text: str) -> tuple[str, int, int]:
    name, count, users = [*text.split(":"), "", ""][:3]
    if not name or not count.isdigit() or not users.isdigit():
        raise argparse.ArgumentTypeError(f"--group wants NAME:COUNT:USERS, not {text!r}")
    return name, int(count), int(users)


async def _group(services: Services, ids: list[int], name: str, users: int) -> list[dict[str, Any]]:
    """``users`` lines ``{name}0`` … sharing one package (one bouquet of ``ids``): one entitlement key."""
    bouquet = await services.subscribers.create_bouquet(f"bulk-{name}", ids)
    package = await services.subscribers.create_package(PackageInput(name=f"bulk-{name}", bouquet_ids=(bouquet.id,)))
    out = []
    for i in range(users):
        password = secrets.token_urlsafe(12)
        await services.subscribers.create_line(
            LineInput(username=f"{name}{i}", password=password, package_ids=(package.id,))
        )
        out.append({"username": f"{name}{i}", "password": password, "channels": len(ids), "group": name})
    return out


async def _seed(args: argparse.Namespace, services: Services) -> dict[str, Any]:
    """Channels, lines, groups and (``--guide-days``) the guide; the ready record without port and pid."""
    ids = await bulk_channels(services, args.channels)
    lines = []
    for name, count in args.line:
        password = secrets.token_urlsafe(12)
        await bulk_line(services, ids[:count], name, password)
        lines.append({"username": name, "password": password, "channels": min(count, len(ids))})
    for name, count, users in args.group:
        lines += await _group(services, ids[:count], name, users)
    seed: dict[str, Any] = {"channels": len(ids), "lines": lines}
    if args.guide_days:
        async with services.db.session() as session:
            rows = (await session.execute(select(ChannelRow.id, ChannelRow.tvg_id).where(ChannelRow.id.in_(ids)))).all()
        tvg = dict(rows)
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        start = now - timedelta(hours=args.guide_back_hours)
        seed["guide"] = await store_guide(services, [(i, tvg[i]) for i in ids], start, args.guide_days)
    return seed


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
        seed_file = Path(args.data_dir) / "bench-seed.json"
        if args.reuse:
            seed = json.loads(seed_file.read_text(encoding="utf-8"))
        else:
            seed = await _seed(args, services)
            seed["seed_s"] = time.monotonic() - t0
            seed_file.write_text(json.dumps(seed), encoding="utf-8")
        if args.seed_only:
            sys.stdout.write(json.dumps(seed) + "\n")
            sys.stdout.flush()
            return None
        if args.gc_freeze:
            gc.collect()
            gc.freeze()
        if args.last_seen_flush_s is not None:
            setattr(services.subscribers, "_last_seen_flush_s", args.last_seen_flush_s)  # noqa: B010 (private)
        if probes is not None:
            probes.start(services)
        ready = {"port": headend.port, "pid": os.getpid(), **seed}
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
    p.add_argument("--group", type=_group_spec, action="append", default=[], help="NAME:COUNT:USERS (repeatable)")
    p.add_argument("--guide-days", type=float, default=0.0, help="store a guide of this many days for every channel")
    p.add_argument("--guide-back-hours", type=float, default=2.0, help="the guide starts this long before now")
    p.add_argument("--seed-only", action="store_true", help="build the data dir (bench-seed.json) and exit")
    p.add_argument("--reuse", action="store_true", help="serve a data dir built by --seed-only as it is")
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
