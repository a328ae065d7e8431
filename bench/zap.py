"""S5/S6 building block: one "zap" = connect, GET the TS URL, parse until the first keyframe, hang up.

Times are seconds from just before the TCP connect: ``headers`` (status line in), ``first_byte`` (first body
byte), ``pat``, ``pmt`` and ``keyframe`` (see :mod:`bench.tsparse`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass

from bench.http1 import HttpStream, connect, request_bytes
from bench.stats import summary
from bench.tsparse import Probe


@dataclass
class ZapResult:
    ok: bool = False
    status: int = 0
    error: str = ""
    connect: float | None = None
    headers: float | None = None
    first_byte: float | None = None
    pat: float | None = None
    pmt: float | None = None
    keyframe: float | None = None
    keyframe_any: float | None = None
    first_pid: int = -1
    aligned: bool = False
    keyframe_by: str = ""
    bytes_to_keyframe: int = 0


class _Zapper(HttpStream):
    def __init__(self, request: bytes, t0: float) -> None:
        super().__init__()
        self.request = request
        self.t0 = t0
        self.probe = Probe()
        self.result = ZapResult()
        self.body_bytes = 0
        self.finished: asyncio.Future[None] = self.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.result.connect = time.perf_counter() - self.t0
        assert self.transport is not None
        self.transport.write(self.request)

    def on_response(self) -> None:
        self.result.status = self.status
        self.result.headers = time.perf_counter() - self.t0
        if self.status != 200:
            self.result.error = f"HTTP {self.status}"
            self._finish()

    def on_body(self, body: bytes) -> None:
        if self.finished.done():
            return
        self.body_bytes += len(body)
        if self.probe.feed(body, time.perf_counter()):
            self.result.bytes_to_keyframe = self.body_bytes
            self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.finished.done():
            self.result.error = self.result.error or self.error or "closed before a keyframe"
            self._finish()

    def _finish(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


def _rel(t: float | None, t0: float) -> float | None:
    return None if t is None else t - t0


async def zap(host: str, port: int, path: str, timeout: float = 10.0) -> ZapResult:
    """One zap; never raises for network trouble (the result carries the error)."""
    t0 = time.perf_counter()
    request = request_bytes(path, keep_alive=False)
    proto, error = await connect(lambda: _Zapper(request, t0), host, port, timeout)
    if not isinstance(proto, _Zapper):
        return ZapResult(error=error)
    try:
        async with asyncio.timeout(max(0.1, timeout - (time.perf_counter() - t0))):
            await proto.finished
    except TimeoutError:
        proto.result.error = proto.result.error or f"no keyframe within {timeout:g} s"
    finally:
        proto.close()
    result, probe = proto.result, proto.probe
    result.first_byte = _rel(probe.t_first_byte, t0)
    result.pat, result.pmt, result.keyframe = _rel(probe.t_pat, t0), _rel(probe.t_pmt, t0), _rel(probe.t_keyframe, t0)
    result.keyframe_any = _rel(probe.t_keyframe_any, t0)
    result.first_pid, result.aligned, result.keyframe_by = probe.first_pid, probe.aligned, probe.keyframe_by
    result.ok = result.keyframe is not None and not result.error
    return result


class Holder(HttpStream):
    """A viewer that only reads (keeps an on-demand channel warm)."""

    def __init__(self, request: bytes) -> None:
        super().__init__()
        self.request = request
        self.bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.bytes += len(data)


async def hold(host: str, port: int, path: str) -> Holder | None:
    proto, _ = await connect(lambda: Holder(request_bytes(path, keep_alive=False)), host, port)
    return proto if isinstance(proto, Holder) else None


def summarize(results: list[ZapResult]) -> dict[str, object]:
    ok = [r for r in results if r.ok]

    def times(name: str) -> list[float]:
        return [v for v in (getattr(r, name) for r in ok) if v is not None]

    return {
        "zaps": len(results),
        "ok": len(ok),
        "errors": sorted({r.error for r in results if r.error})[:5],
        "first_byte_s": summary(times("first_byte")),
        "pat_s": summary(times("pat")),
        "pmt_s": summary(times("pmt")),
        "keyframe_s": summary(times("keyframe")),
        "keyframe_any_s": summary(times("keyframe_any")),
        "starts_with_pat": sum(1 for r in ok if r.first_pid == 0),
        "aligned": sum(1 for r in ok if r.aligned),
        "keyframe_by": {how: sum(1 for r in ok if r.keyframe_by == how) for how in {r.keyframe_by for r in ok}},
        "bytes_to_keyframe": summary([float(r.bytes_to_keyframe) for r in ok]),
        "samples": [asdict(r) for r in results[:3]],
    }
