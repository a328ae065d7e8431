"""S3 load: N emulated HLS players, one keep-alive connection each.

A player fetches the live playlist every target duration (with a random phase), starts at the newest
segment, then downloads every segment that appears, in order. Recorded inside the measurement window:
segment TTFB (request written → first response byte) and download time, playlist TTFB, and:

- *late*: a segment whose download finished more than its own duration (EXTINF) after the player first
  saw it in the playlist (the player would have run dry);
- *stale*: a poll that found no new segment although the last new one was seen more than
  3 x target duration earlier (the origin stopped publishing);
- *skipped*: segments that left the playlist before the player got to them.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from bench.http1 import HttpStream, connect, request_bytes
from bench.stats import summary
from bench.viewers import Window

REQUEST_TIMEOUT_S = 10.0


@dataclass
class Fetch:
    status: int = 0
    ttfb: float = 0.0
    total: float = 0.0
    size: int = 0
    first_byte: int = -1
    body: bytes = b""
    error: str = ""


class KeepAlive(HttpStream):
    """Sequential requests on one connection."""

    def __init__(self) -> None:
        super().__init__()
        self._pending: asyncio.Future[Fetch] | None = None
        self._fetch = Fetch()
        self._keep_body = False
        self._parts: list[bytes] = []
        self._t_sent = 0.0

    async def get(self, path: str, *, keep_body: bool) -> Fetch:
        if self.transport is None or self.transport.is_closing() or self.lost.done():
            return Fetch(error="connection closed")
        self._pending = self.loop.create_future()
        self._fetch, self._keep_body, self._parts = Fetch(), keep_body, []
        self._t_sent = time.perf_counter()
        self.transport.write(request_bytes(path))
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                return await asyncio.shield(self._pending)
        except TimeoutError:
            self.close()
            return Fetch(error="timeout")

    def data_received(self, data: bytes) -> None:
        if self._pending is not None and not self._fetch.ttfb:
            self._fetch.ttfb = time.perf_counter() - self._t_sent
        super().data_received(data)

    def on_body(self, body: bytes) -> None:
        if self._fetch.first_byte < 0 and body:
            self._fetch.first_byte = body[0]
        self._fetch.size += len(body)
        if self._keep_body:
            self._parts.append(body)

    def on_done(self) -> None:
        self._fetch.status = self.status
        self._fetch.total = time.perf_counter() - self._t_sent
        self._fetch.body = b"".join(self._parts)
        if self._pending is not None and not self._pending.done():
            self._pending.set_result(self._fetch)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self._pending is not None and not self._pending.done():
            self._pending.set_result(Fetch(error=self.error or "connection closed"))


@dataclass(frozen=True)
class Playlist:
    target: float
    sequence: int
    segments: tuple[tuple[float, str], ...]  # (duration, uri)


def parse_playlist(text: str) -> Playlist | None:
    if not text.startswith("#EXTM3U"):
        return None
    target, sequence, duration = 0.0, 0, 0.0
    segments: list[tuple[float, str]] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = float(line.split(":", 1)[1])
        elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line and not line.startswith("#"):
            segments.append((duration, line))
    return Playlist(target or 2.0, sequence, tuple(segments))


@dataclass
class Tally:
    seg_ttfb: list[float] = field(default_factory=list)
    seg_total: list[float] = field(default_factory=list)
    seg_bytes: int = 0
    pl_ttfb: list[float] = field(default_factory=list)
    late: int = 0
    stale: int = 0
    skipped: int = 0
    bad_first_byte: int = 0
    errors: list[str] = field(default_factory=list)
    reconnects: int = 0


@dataclass
class HlsLoad:
    host: str
    port: int
    path: str
    n: int
    ramp_per_s: float = 500.0
    window: Window = field(default_factory=Window)
    tally: Tally = field(default_factory=Tally)
    conns: list[KeepAlive] = field(default_factory=list)
    players_started: int = 0
    players_failed: int = 0

    def _segment_path(self, uri: str) -> str:
        parts = urlsplit(urljoin(self.path, uri))
        if parts.netloc and parts.hostname != self.host:
            raise ValueError(f"segment URI leaves loopback: {uri!r}")
        return parts.path + (f"?{parts.query}" if parts.query else "")

    async def _conn(self, conn: KeepAlive | None) -> KeepAlive | None:
        if conn is not None and not conn.lost.done():
            return conn
        if conn is not None:
            self.tally.reconnects += 1
        proto, error = await connect(KeepAlive, self.host, self.port)
        if not isinstance(proto, KeepAlive):
            self._error(error)
            return None
        self.conns.append(proto)
        return proto

    def _error(self, error: str) -> None:
        if self.window.contains(time.perf_counter()):
            self.tally.errors.append(error)

    async def player(self, stop_at: float) -> None:
        conn = await self._conn(None)
        if conn is None:
            self.players_failed += 1
            return
        self.players_started += 1
        await asyncio.sleep(random.uniform(0.0, 2.0))
        last_seq: int | None = None
        last_new = time.perf_counter()
        while time.perf_counter() < stop_at:
            poll_at = time.perf_counter()
            playlist, conn = await self._poll(conn)
            if playlist is None:
                await asyncio.sleep(1.0)
                continue
            newest = playlist.sequence + len(playlist.segments) - 1
            start = newest if last_seq is None else last_seq + 1
            if last_seq is not None and start < playlist.sequence:
                self._count("skipped", playlist.sequence - start, poll_at)
                start = playlist.sequence
            if start > newest and poll_at - last_new > 3 * playlist.target:
                self._count("stale", 1, poll_at)
                last_new = poll_at
            for seq in range(start, newest + 1):
                last_new = poll_at
                duration, uri = playlist.segments[seq - playlist.sequence]
                conn = await self._segment(conn, self._segment_path(uri), duration, poll_at)
                last_seq = seq
            await asyncio.sleep(max(0.0, poll_at + playlist.target - time.perf_counter()))

    def _count(self, what: str, n: int, t: float) -> None:
        if self.window.contains(t):
            setattr(self.tally, what, getattr(self.tally, what) + n)

    async def _poll(self, conn: KeepAlive | None) -> tuple[Playlist | None, KeepAlive | None]:
        conn = await self._conn(conn)
        if conn is None:
            return None, None
        t = time.perf_counter()
        fetch = await conn.get(self.path, keep_body=True)
        if fetch.error or fetch.status != 200:
            self._error(fetch.error or f"playlist HTTP {fetch.status}")
            return None, (None if fetch.error else conn)
        if self.window.contains(t):
            self.tally.pl_ttfb.append(fetch.ttfb)
        return parse_playlist(fetch.body.decode("utf-8", "replace")), conn

    async def _segment(self, conn: KeepAlive | None, path: str, duration: float, seen_at: float) -> KeepAlive | None:
        conn = await self._conn(conn)
        if conn is None:
            return None
        t = time.perf_counter()
        fetch = await conn.get(path, keep_body=False)
        if fetch.error or fetch.status != 200:
            self._error(fetch.error or f"segment HTTP {fetch.status}")
            return None if fetch.error else conn
        if self.window.contains(t):
            tally = self.tally
            tally.seg_ttfb.append(fetch.ttfb)
            tally.seg_total.append(fetch.total)
            tally.seg_bytes += fetch.size
            tally.late += int(time.perf_counter() - seen_at > duration)
            tally.bad_first_byte += int(fetch.first_byte != 0x47)
        return conn

    async def run(self, stop_at: float) -> list[asyncio.Task[None]]:
        tasks = []
        batch = max(1, int(self.ramp_per_s / 20))
        for i in range(self.n):
            tasks.append(asyncio.create_task(self.player(stop_at)))
            if (i + 1) % batch == 0:
                await asyncio.sleep(0.05)
        return tasks

    def close(self) -> None:
        for conn in self.conns:
            conn.close()

    def result(self) -> dict[str, object]:
        t = self.tally
        seconds = self.window.end - self.window.start
        return {
            "n": self.n,
            "players_started": self.players_started,
            "players_failed": self.players_failed,
            "window_s": seconds,
            "segments": len(t.seg_ttfb),
            "segments_per_s": len(t.seg_ttfb) / seconds if seconds else 0.0,
            "aggregate_bps": 8.0 * t.seg_bytes / seconds if seconds else 0.0,
            "segment_ttfb_s": summary(t.seg_ttfb),
            "segment_download_s": summary(t.seg_total),
            "playlists": len(t.pl_ttfb),
            "playlist_ttfb_s": summary(t.pl_ttfb),
            "late": t.late,
            "stale": t.stale,
            "skipped": t.skipped,
            "bad_first_byte": t.bad_first_byte,
            "errors": len(t.errors),
            "error_samples": sorted(set(t.errors))[:5],
            "reconnects": t.reconnects,
        }
