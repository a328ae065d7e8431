"""Client pieces of S8-EPG (:mod:`bench.epg_bench`): rotating request scripts, body copies for nginx, and one
timed download of a big document with the server's CPU and peak memory over it.

* :func:`rotation_lua` is a wrk script whose ``request()`` picks a random user and a random stream id per
  request (seeded: every run sends the same sequence); :func:`rate_paths` is the same for the open-loop client.
* :func:`copy_bodies` fetches Headend's answer for every stream id, gzip and identity, and writes both where
  the nginx peer serves them (``gzip_static``): nginx sends the very bytes Headend sent.
* :func:`timed_get` downloads one document on one connection (from CPU1, the orchestrator's core): time to the
  response head, to the first body byte and to the last, bytes on the wire, the server's CPU seconds over the
  download and its peak RSS (the kernel's high-water mark, reset through ``/proc/PID/clear_refs`` just before
  the request, cross-checked by polling ``/proc`` every 50 ms).
"""

from __future__ import annotations

import contextlib
import http.client
import random
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from bench.http1 import LOOPBACK
from bench.sampler import Meter, rss_kib
from bench.systems import BenchError
from bench.wrk import done_lua

Row = dict[str, Any]
READ_BYTES = 1 << 20


def rotation_lua(fmt: str, first: Sequence[str], second: Sequence[str], seed: int) -> str:
    """wrk script: each request's path is ``string.format(fmt, a, b)``, a and b drawn from the two lists."""
    a = ",".join(f'"{x}"' for x in first)
    b = ",".join(f'"{x}"' for x in second)
    return (
        f"math.randomseed({seed})\n"
        f"local first = {{{a}}}\nlocal second = {{{b}}}\nlocal na, nb = #first, #second\n"
        "request = function()\n"
        f'  return wrk.format(nil, string.format("{fmt}", first[math.random(na)], second[math.random(nb)]))\n'
        "end\n" + done_lua()
    )


def rate_paths(fmt: str, first: Sequence[str], second: Sequence[str], count: int, seed: int) -> list[str]:
    """``count`` paths ``fmt % (a, b)`` drawn like :func:`rotation_lua` does (Python's ``%`` format)."""
    rng = random.Random(seed)
    return [fmt % (rng.choice(first), rng.choice(second)) for _ in range(count)]


def get(conn: http.client.HTTPConnection, path: str, gzip: bool) -> tuple[int, dict[str, str], bytes]:
    """One GET on a keep-alive connection: status, lower-cased headers, body as sent."""
    conn.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip else {})
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def copy_bodies(port: int, paths: dict[str, str], www: Path) -> Row:
    """For every (file name → Headend path): fetch gzip and identity, write ``www/NAME`` (+ ``.gz`` if Headend
    gzipped it). Returns counts and mean sizes."""
    www.mkdir(parents=True, exist_ok=True)
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=60.0)
    plain_total = gz_total = gz_count = 0
    try:
        for name, path in paths.items():
            status, headers, packed = get(conn, path, gzip=True)
            status2, _, body = get(conn, path, gzip=False)
            if status != 200 or status2 != 200 or not body.startswith(b"{"):
                raise BenchError(f"{path}: HTTP {status}/{status2}: {body[:200]!r}")
            (www / name).write_bytes(body)
            plain_total += len(body)
            if headers.get("content-encoding") == "gzip":
                (www / f"{name}.gz").write_bytes(packed)
                gz_total, gz_count = gz_total + len(packed), gz_count + 1
    finally:
        conn.close()
    n = max(1, len(paths))
    return {"files": len(paths), "mean_bytes": plain_total / n, "gzipped": gz_count, "mean_gzip_bytes": gz_total / n}


class PeakRss:
    """Peak RSS of ``pids`` over a window: VmHWM after a reset (``clear_refs`` 5) and /proc polling."""

    def __init__(self, pids: list[int], every: float = 0.05) -> None:
        self.pids = pids
        self.every = every
        self.polled_kib = 0
        self.before_kib = 0
        self.reset_ok = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _total(self) -> int:
        return sum(v for v in (rss_kib(pid) for pid in self.pids) if v is not None)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.polled_kib = max(self.polled_kib, self._total())
            self._stop.wait(self.every)

    def start(self) -> None:
        self.before_kib = self._total()
        for pid in self.pids:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5", encoding="ascii")
            except OSError:
                self.reset_ok = False
        self._thread.start()

    def stop(self) -> Row:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.polled_kib = max(self.polled_kib, self._total())
        hwm = sum(_hwm_kib(pid) for pid in self.pids)
        return {
            "rss_before_mib": self.before_kib / 1024,
            "rss_peak_mib": (hwm if self.reset_ok else self.polled_kib) / 1024,
            "rss_polled_max_mib": self.polled_kib / 1024,
            "hwm_reset": self.reset_ok,
        }


def _hwm_kib(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def _download(resp: http.client.HTTPResponse, out: IO[bytes] | None) -> tuple[float | None, int, bytes, bytes]:
    """Read the whole body: (time of the first body byte, bytes, first 64 bytes, last 64 bytes)."""
    first_at: float | None = None
    size = 0
    head = tail = b""
    while chunk := resp.read1(READ_BYTES):
        if first_at is None:
            first_at, head = time.perf_counter(), chunk[:64]
        size += len(chunk)
        tail = (tail + chunk)[-64:]
        if out is not None:
            out.write(chunk)
    return first_at, size, head, tail


def timed_get(port: int, path: str, gzip: bool, pids: list[int], out: Path | None = None) -> Row:
    """One download of ``path`` (see the module docstring); ``out`` keeps the body as sent."""
    meter, peak = Meter({"server": pids}), PeakRss(pids)
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=900.0)
    peak.start()
    meter.begin()
    t0 = time.perf_counter()
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip else {})
        resp = conn.getresponse()
        head_at = time.perf_counter()
        with out.open("wb") if out is not None else contextlib.nullcontext() as file:
            first_at, size, head, tail = _download(resp, file)
        end = time.perf_counter()
    finally:
        conn.close()
        window = meter.end()
        memory = peak.stop()
    encoding = resp.getheader("content-encoding") or ""
    ok = resp.status == 200 and (encoding == "gzip") == gzip
    ok = ok and (
        head.startswith(b"\x1f\x8b") if gzip else head.startswith(b"<?xml") and tail.rstrip().endswith(b"</tv>")
    )
    cpu, wall = window.get("cpu_pct", {}), window.get("wall_s", 0.0)
    assert isinstance(cpu, dict)
    assert isinstance(wall, float)
    return {
        "status": resp.status,
        "ok": ok,
        "content_encoding": encoding,
        "head_s": head_at - t0,
        "first_body_s": None if first_at is None else first_at - t0,
        "total_s": end - t0,
        "bytes": size,
        "mb_per_s": size / 1e6 / max(1e-9, end - t0),
        "server_cpu_pct": float(cpu.get("server", 0.0)),
        "server_cpu_s": float(cpu.get("server", 0.0)) / 100.0 * wall,
        "meter": window,
        **memory,
    }


__all__ = ["PeakRss", "copy_bodies", "get", "rate_paths", "rotation_lua", "timed_get"]
