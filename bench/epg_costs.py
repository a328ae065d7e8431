"""What one guide operation costs Headend, in-process: CPU milliseconds per call, one call at a time.

    python -m bench.epg_costs --data-dir COPY_OF_SEED --out costs.json

Runs ``Headend`` (uvloop) on a data dir built by ``bench.api_server --seed-only`` (a copy: it is written to)
and times, with ``time.process_time()`` (every thread of the process: the event loop, the database thread,
the ``to_thread`` pool), the operations an S8-EPG request may need: a read session with one trivial
statement, the guide version, ``EpgStore.upcoming`` (what a short-EPG miss reads) and ``EpgStore.programmes``
for 14 days of one channel (a data-table miss), the whole listing a miss builds (``Guide.listings``: the read,
the listings, orjson, gzip) for both actions, a listing hit, a credential verification (an auth-cache miss:
the line, then its entitlement) for the 5,000- and the 200-channel line, and a full ``gc.collect()`` with the
objects one entitlement and one lineup leave. Each miss uses a stream it has not used before. For scale, the
same SQL statements the store runs (compiled from its SQLAlchemy statements) are timed on the bare ``sqlite3``
module: what SQLite itself needs.
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ClauseElement, select, text
from sqlalchemy.dialects import sqlite

from headend import settings as settings_mod
from headend.api.context import XtreamContext
from headend.catalog.epg_models import EpgProgrammeRow
from headend.catalog.epg_queries import PROGRAMME_COLUMNS, winners
from headend.logs import setup_logging
from headend.runtime import Headend

Row = dict[str, Any]


async def _per_call(work: Callable[[int], Awaitable[object]], n: int) -> Row:
    await work(n)  # one unrecorded call (index n is never used by the timed ones)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(n):
        await work(i)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"n": n, "cpu_ms": round(1000 * cpu / n, 3), "wall_ms": round(1000 * wall / n, 3)}


def _raw(stmt: ClauseElement) -> tuple[str, list[object]]:
    """``stmt`` as SQLite SQL with its parameters as the store binds them (naive UTC datetimes)."""
    compiled = stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})
    args: list[object] = []
    for name in getattr(compiled, "positiontup", None) or []:
        value = compiled.params[name]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        args.append(value)
    return str(compiled), args


def bare_sqlite(db: Path, channel_ids: list[int], now: datetime) -> Row:
    """The store's guide statements on the bare sqlite3 module: ms per execution + fetchall."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    p = EpgProgrammeRow
    import_id = conn.execute(*_raw(select(winners([channel_ids[0]]).c.import_id))).fetchone()[0]
    statements: dict[str, Callable[[int], ClauseElement]] = {
        "SQLite alone: which import feeds the channel (window query)": lambda c: select(winners([c]).c.import_id),
        "SQLite alone: the next 4 programmes": lambda c: (
            select(*PROGRAMME_COLUMNS)
            .where(p.channel_id == c, p.import_id == import_id, p.stop > now)
            .order_by(p.start, p.id)
            .limit(4)
        ),
        "SQLite alone: 14 days of one channel": lambda c: (
            select(*PROGRAMME_COLUMNS)
            .where(p.import_id == import_id, p.channel_id.in_([c]), p.start < now + timedelta(days=14), p.stop > now)
            .order_by(p.channel_id, p.start, p.id)
        ),
    }
    out: Row = {}
    try:
        for name, build in statements.items():
            n, rows = 200, 0
            prepared = [_raw(build(channel_ids[i % len(channel_ids)])) for i in range(n)]
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for sql, args in prepared:
                rows += len(conn.execute(sql, args).fetchall())
            out[name] = {"n": n, "cpu_ms": round(1000 * (time.process_time() - cpu0) / n, 3),
                         "wall_ms": round(1000 * (time.perf_counter() - wall0) / n, 3), "rows": rows / n}  # fmt: skip
    finally:
        conn.close()
    return out


async def measure(data_dir: Path, port: int) -> Row:
    base = settings_mod.load(env={})
    settings = settings_mod.replace(base, http={"host": "127.0.0.1", "port": port}, paths={"data_dir": data_dir},
                                    log={"level": "warning"})  # fmt: skip
    seed = json.loads((data_dir / "bench-seed.json").read_text(encoding="utf-8"))
    big = next(line for line in seed["lines"] if line.get("group") == "epg")
    small = next(line for line in seed["lines"] if line["username"] == "x200")
    headend = Headend(settings)
    await headend.start()
    try:
        svc = headend.services
        assert svc is not None
        ctx = XtreamContext(settings=svc.settings, authenticator=svc.authenticator, sessions=svc.sessions,
                            channels=svc.channels, epg=svc.epg)  # fmt: skip
        found = await svc.authenticator.check(big["username"], big["password"])
        version = await ctx.version()
        streams = list((await ctx.lineup(found.entitlement, version)).streams)
        now = datetime.now(UTC)
        ids = [s.stream_id for s in streams]
        short_n, table_n = min(500, len(streams) // 2 - 1), min(100, len(streams) // 2 - 1)
        half = len(streams) // 2  # short misses from the first half, data-table misses from the second
        out: Row = {"streams": len(streams)}

        async def select_one(i: int) -> object:
            async with svc.db.session() as session:
                return await session.execute(text("SELECT 1"))

        out["read session + SELECT 1"] = await _per_call(select_one, 200)
        out["guide version (store)"] = await _per_call(lambda i: svc.epg.guide_version(), 200)
        out["EpgStore.upcoming (4 programmes)"] = await _per_call(
            lambda i: svc.epg.upcoming(ids[i % len(ids)], now, 4), 500
        )
        out["EpgStore.programmes (1 channel, 14 days)"] = await _per_call(
            lambda i: svc.epg.programmes([ids[i % len(ids)]], now, now + timedelta(days=14)), 100
        )
        out["short EPG miss (Guide.listings)"] = await _per_call(
            lambda i: ctx.guide.listings("short", streams[i], now, 4, version), short_n
        )
        out["short EPG hit (Guide.listings)"] = await _per_call(
            lambda i: ctx.guide.listings("short", streams[i], now, 4, version), short_n
        )
        out["data table miss (Guide.listings)"] = await _per_call(
            lambda i: ctx.guide.listings("table", streams[half + i], now, 0, version), table_n
        )
        out["credential check, 5,000-channel line"] = await _per_call(
            lambda i: svc.authenticator._verify(big["username"], big["password"]), 40
        )
        out["credential check, 200-channel line"] = await _per_call(
            lambda i: svc.authenticator._verify(small["username"], small["password"]), 40
        )
        out |= bare_sqlite(data_dir / "headend.db", ids[half:], now)
        t0 = time.perf_counter()
        gc.collect()
        out["gc.collect() (full)"] = {"n": 1, "wall_ms": round(1000 * (time.perf_counter() - t0), 1),
                                      "objects": len(gc.get_objects())}  # fmt: skip
        return out
    finally:
        await headend.aclose()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.epg_costs", description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    setup_logging(settings_mod.LogSettings(level="warning"))
    import uvloop

    result = uvloop.run(measure(Path(args.data_dir), args.port))
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
