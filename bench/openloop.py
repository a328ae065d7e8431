"""Open-loop HTTP/1.1 load at a fixed rate, and sequential time-to-first-byte: the S8/S9 latency clients.

    python -m bench.openloop rate --port P --path /x --rate 200 --seconds 20 --warmup 3 --connections 16
    python -m bench.openloop seq --port P --path /get.php?... --count 200

``rate``: request *i* is due at ``t0 + i / rate`` whatever happened before (wrk2's model). Due requests
wait in a queue for one of ``--connections`` keep-alive connections; latency is measured **from the due
time**, so a server stall shows up in every request it delayed instead of hiding as one slow request
(no coordinated omission). Between ``MEASURE_START`` and ``MEASURE_END`` on stdout the orchestrator meters
the server's CPU; requests due inside that window are the ones summarized. Each request's due time (on
``time.monotonic()``, shared by every process here) and latency are kept for lining up with server probes.

``seq``: ``--count`` requests one after the other on one keep-alive connection; per request the time from
writing it to the first response byte (TTFB) and to the last body byte.

Loopback only; every run is bounded by its count and by a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.http1 import LOOPBACK, HttpStream, connect, install_uvloop
from bench.stats import percentile, summary


def request_bytes(path: str, headers: list[str]) -> bytes:
    extra = "".join(f"{h}\r\n" for h in headers)
    return f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}\r\nUser-Agent: headend-bench\r\n{extra}\r\n".encode("ascii")


class Exchange(HttpStream):
    """A keep-alive connection that runs one request at a time and times its response."""

    def __init__(self) -> None:
        super().__init__()
        self.done: asyncio.Future[None] | None = None
        self.sent_at = 0.0
        self.first_at = 0.0
        self.body_bytes = 0
        self.keep_alive = True

    def data_received(self, data: bytes) -> None:
        if not self.first_at:
            self.first_at = time.perf_counter()
        super().data_received(data)

    def on_response(self) -> None:
        self.keep_alive = bool(self.parser.should_keep_alive())

    def on_body(self, body: bytes) -> None:
        self.body_bytes += len(body)

    def on_done(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.done is not None and not self.done.done():
            self.done.set_exception(ConnectionError(self.error or "connection closed by the server"))

    async def exchange(self, raw: bytes, timeout: float) -> None:
        assert self.transport is not None
        self.done = self.loop.create_future()
        self.first_at, self.body_bytes = 0.0, 0
        self.sent_at = time.perf_counter()
        self.transport.write(raw)
        async with asyncio.timeout(timeout):
            await self.done


@dataclass
class RateResult:
    due: list[float] = field(default_factory=list)  # monotonic due time of each measured request
    latency: list[float] = field(default_factory=list)  # seconds from due time to the last body byte
    statuses: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    max_queue: int = 0
    body_bytes: int = 0
    sent: int = 0


async def _worker(port: int, raws: list[bytes], queue: asyncio.Queue[tuple[int, float]], res: RateResult,
                  window: tuple[float, float], timeout: float) -> None:  # fmt: skip
    conn: Exchange | None = None
    while True:
        index, due = await queue.get()
        try:
            if conn is None or conn.lost.done() or not conn.keep_alive:
                conn, err = await connect(Exchange, LOOPBACK, port)  # type: ignore[assignment]
                if conn is None:
                    raise ConnectionError(err)
            await conn.exchange(raws[index % len(raws)], timeout)
            done = time.perf_counter()
            if window[0] <= due < window[1]:
                res.due.append(due)
                res.latency.append(done - due)
                res.statuses[str(conn.status)] = res.statuses.get(str(conn.status), 0) + 1
                res.body_bytes += conn.body_bytes
        except (OSError, TimeoutError, ConnectionError) as exc:
            if window[0] <= due < window[1]:
                res.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            if conn is not None:
                conn.close()
            conn = None
        finally:
            queue.task_done()


async def run_rate(args: argparse.Namespace) -> dict[str, Any]:
    raws = [request_bytes(p, args.header) for p in args.path]
    total = int(args.rate * (args.warmup + args.seconds))
    queue: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
    res = RateResult()
    # perf_counter and monotonic are the same clock on Linux; due times are perf_counter values.
    t0 = time.perf_counter() + 0.5
    window = (t0 + args.warmup, t0 + args.warmup + args.seconds)
    workers = [
        asyncio.create_task(_worker(args.port, raws, queue, res, window, args.timeout)) for _ in range(args.connections)
    ]
    started = False
    for i in range(total):
        due = t0 + i / args.rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not started and due >= window[0]:
            print("MEASURE_START", flush=True)
            started = True
        # uvloop's timers tick in whole milliseconds, so a request may be let go up to 1 ms before it is due:
        # it then counts from when it was let go (late ones count from their due time)
        queue.put_nowait((i, min(due, time.perf_counter())))
        res.sent += 1
        res.max_queue = max(res.max_queue, queue.qsize())
    try:
        async with asyncio.timeout(args.timeout + 5.0):
            await queue.join()
    except TimeoutError:
        res.errors.append(f"{queue.qsize()} request(s) never sent: the connections were stuck")
    print("MEASURE_END", flush=True)
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    lat = summary(res.latency)
    slow = sorted(zip(res.latency, res.due, strict=True), reverse=True)[:50]
    return {
        "mode": "rate",
        "rate": args.rate,
        "connections": args.connections,
        "seconds": args.seconds,
        "requests": len(res.latency),
        "errors": len(res.errors),
        "error_samples": sorted(set(res.errors))[:5],
        "statuses": res.statuses,
        "latency_s": lat,
        "p999_s": percentile(res.latency, 99.9),
        "max_queue": res.max_queue,
        "bytes_per_request": res.body_bytes / max(1, len(res.latency)),
        "window": window,
        "slowest": [[d, lat_] for lat_, d in slow],
        "timeline": [[round(d, 5), round(x, 5)] for d, x in zip(res.due, res.latency, strict=True)]
        if args.timeline
        else [],
    }


async def run_seq(args: argparse.Namespace) -> dict[str, Any]:
    raw = request_bytes(args.path[0], args.header)
    ttfb: list[float] = []
    total: list[float] = []
    errors: list[str] = []
    sizes: set[int] = set()
    conn: Exchange | None = None
    deadline = time.perf_counter() + args.seconds
    for _ in range(args.count):
        if time.perf_counter() > deadline:
            break
        try:
            if conn is None or conn.lost.done() or not conn.keep_alive:
                conn, err = await connect(Exchange, LOOPBACK, args.port)  # type: ignore[assignment]
                if conn is None:
                    raise ConnectionError(err)
            await conn.exchange(raw, args.timeout)
            end = time.perf_counter()
            if conn.status != 200:
                errors.append(f"HTTP {conn.status}")
                continue
            ttfb.append(conn.first_at - conn.sent_at)
            total.append(end - conn.sent_at)
            sizes.add(conn.body_bytes)
        except (OSError, TimeoutError, ConnectionError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
            if conn is not None:
                conn.close()
            conn = None
        await asyncio.sleep(args.gap)
    if conn is not None:
        conn.close()
    return {
        "mode": "seq",
        "requests": len(ttfb),
        "errors": len(errors),
        "error_samples": sorted(set(errors))[:5],
        "ttfb_s": summary(ttfb),
        "total_s": summary(total),
        "body_bytes": sorted(sizes),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.openloop", description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("rate", "seq"))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", action="append", default=[], help="request path (repeat: rotate over them)")
    p.add_argument("--paths-file", help="more request paths, one a line (rotated over after the --path ones)")
    p.add_argument("--header", action="append", default=[], help="extra request header, e.g. 'Accept-Encoding: gzip'")
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--seconds", type=float, default=20.0, help="rate: measured window; seq: time cap")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--gap", type=float, default=0.005, help="seq: pause between requests")
    p.add_argument("--timeout", type=float, default=10.0, help="per request")
    p.add_argument("--timeline", action="store_true", help="rate: keep every request's due time and latency")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    if args.paths_file:
        args.path += [line for line in Path(args.paths_file).read_text(encoding="utf-8").splitlines() if line]
    if not args.path:
        raise SystemExit("give --path or --paths-file")
    if args.rate <= 0 or args.rate * (args.warmup + args.seconds) > 200_000:
        raise SystemExit("rate x duration must be between 1 and 200,000 requests")
    install_uvloop()
    result = asyncio.run(run_rate(args) if args.mode == "rate" else run_seq(args))
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
