"""S1 load: N continuous MPEG-TS viewers that count bytes and detect stalls.

Each viewer opens one connection, sends ``GET path``, checks that the body starts with a TS sync byte and
with the PAT (PID 0), and then only counts bytes (the parser is bypassed once the headers are in, unless
the response is chunked). A stall is a gap of more than ``STALL_GAP_S`` between two receptions that ends
inside the measurement window (or is still open when the window closes). A drop is a connection the
server closed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from bench.http1 import HttpStream, connect, request_bytes
from bench.stats import summary

STALL_GAP_S = 2.0


@dataclass
class Window:
    start: float = float("inf")
    end: float = float("inf")

    def contains(self, t: float) -> bool:
        return self.start <= t <= self.end


class TsViewer(HttpStream):
    def __init__(self, request: bytes, window: Window) -> None:
        super().__init__()
        self.request = request
        self.window = window
        self.bytes = 0
        self.bytes_at_start = 0
        self.bytes_at_end = 0
        self.raw = False
        self.first_sync: bool | None = None
        self.first_pat: bool | None = None
        self.t_connected = 0.0
        self.t_first_byte = 0.0
        self.last_rx = 0.0
        self.stalls = 0
        self.max_gap = 0.0
        self.t_lost = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.t_connected = time.perf_counter()
        assert self.transport is not None
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if self.last_rx:
            self._gap(now - self.last_rx, now)
        self.last_rx = now
        if self.raw:
            if self.first_sync is None:
                self.on_body(data)
            else:
                self.bytes += len(data)
            return
        super().data_received(data)

    def _gap(self, gap: float, now: float) -> None:
        if gap > STALL_GAP_S and self.window.contains(now):
            self.stalls += 1
        if self.window.contains(now):
            self.max_gap = max(self.max_gap, gap)

    def on_response(self) -> None:
        if self.status != 200:
            self.error = f"HTTP {self.status}"
            self.close()
        elif not self.chunked:
            self.raw = True  # the rest of this read still arrives through on_body

    def on_body(self, body: bytes) -> None:
        if self.first_sync is None and body:
            self.t_first_byte = time.perf_counter()
            self.first_sync = body[0] == 0x47
            self.first_pat = len(body) >= 3 and body[0] == 0x47 and ((body[1] & 0x1F) << 8 | body[2]) == 0
        self.bytes += len(body)

    def connection_lost(self, exc: Exception | None) -> None:
        self.t_lost = time.perf_counter()
        super().connection_lost(exc)

    def mark_start(self) -> None:
        self.bytes_at_start = self.bytes

    def mark_end(self, now: float) -> None:
        self.bytes_at_end = self.bytes
        if self.last_rx and not self.t_lost:
            self._gap(now - self.last_rx, now)


@dataclass
class TsLoad:
    """N viewers of one URL: ramp, warm-up, a measured window, then a summary."""

    host: str
    port: int
    path: str
    n: int
    ingest_bps: float
    ramp_per_s: float = 500.0
    viewers: list[TsViewer] = field(default_factory=list)
    connect_errors: list[str] = field(default_factory=list)
    window: Window = field(default_factory=Window)

    async def ramp(self) -> None:
        request = request_bytes(self.path, keep_alive=False)
        batch = max(1, int(self.ramp_per_s / 20))

        async def one() -> None:
            proto, error = await connect(lambda: TsViewer(request, self.window), self.host, self.port)
            if isinstance(proto, TsViewer):
                self.viewers.append(proto)
            else:
                self.connect_errors.append(error)

        tasks = []
        for i in range(self.n):
            tasks.append(asyncio.create_task(one()))
            if (i + 1) % batch == 0:
                await asyncio.sleep(0.05)
        await asyncio.gather(*tasks)

    async def wait_first_bytes(self, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if all(v.first_sync is not None or v.lost.done() for v in self.viewers):
                return
            await asyncio.sleep(0.1)

    def begin(self) -> None:
        self.window.start = time.perf_counter()
        for v in self.viewers:
            v.mark_start()

    def end(self) -> None:
        now = time.perf_counter()
        self.window.end = now
        for v in self.viewers:
            v.mark_end(now)

    def close(self) -> None:
        for v in self.viewers:
            v.close()

    def result(self) -> dict[str, object]:
        seconds = self.window.end - self.window.start
        rates = [8.0 * (v.bytes_at_end - v.bytes_at_start) / seconds for v in self.viewers]
        ratios = [r / self.ingest_bps for r in rates] if self.ingest_bps else []
        dropped = [v for v in self.viewers if v.t_lost and not v.closing]
        errors = [v.error for v in self.viewers if v.error and v.status != 200]
        return {
            "n": self.n,
            "connected": len(self.viewers),
            "connect_errors": len(self.connect_errors),
            "connect_error_samples": sorted(set(self.connect_errors))[:5],
            "http_errors": len(errors),
            "http_error_samples": sorted(set(errors))[:5],
            "window_s": seconds,
            "first_byte_sync": sum(1 for v in self.viewers if v.first_sync),
            "first_packet_pat": sum(1 for v in self.viewers if v.first_pat),
            "no_body": sum(1 for v in self.viewers if v.first_sync is None),
            "aggregate_bps": sum(rates),
            "viewer_bps": summary(rates),
            "ratio_to_ingest": summary(ratios),
            "below_95pct": sum(1 for r in ratios if r < 0.95),
            "stalls": sum(v.stalls for v in self.viewers),
            "stalled_viewers": sum(1 for v in self.viewers if v.stalls),
            "max_gap_s": max((v.max_gap for v in self.viewers), default=0.0),
            "dropped": len(dropped),
            "dropped_in_window": sum(1 for v in dropped if self.window.contains(v.t_lost)),
            "drop_samples": sorted({v.error or "closed by server" for v in dropped})[:5],
        }
