"""Bench-only: the live relay behind uvicorn + Starlette ``StreamingResponse`` (the "framework path").

Run by the bench as ``uvicorn bench.asgi_relay:app --loop uvloop --http httptools``. One ffmpeg
(``-re -stream_loop -1 -c copy -f mpegts pipe:1``, started in the lifespan) feeds a chunker that cuts
188-aligned chunks of about 64 KiB (or whatever arrived within 100 ms, like Headend's
``relay.chunk_max_delay_ms``) into a bounded ring; every viewer is a ``StreamingResponse`` generator that
waits on one ``asyncio.Condition`` and yields the shared chunks. A viewer starts at the newest chunk and
skips ahead when it falls out of the ring. There is no GOP cache: this variant exists to price the
response path, not to zap.

Environment: ``BENCH_RELAY_SOURCE`` (the TS file), ``BENCH_RELAY_FFMPEG`` (ffmpeg binary or wrapper).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

PACKET = 188
CHUNK_BYTES = (64 * 1024) // PACKET * PACKET
MAX_DELAY_S = 0.1
RING_CHUNKS = 256  # about 27 s at 5 Mb/s


class Relay:
    def __init__(self, source: str, ffmpeg: str) -> None:
        self.source = source
        self.ffmpeg = ffmpeg
        self.cond = asyncio.Condition()
        self.ring: deque[bytes] = deque(maxlen=RING_CHUNKS)
        self.seq = 0  # sequence number of the next chunk; the ring holds [seq - len(ring), seq)
        self.proc: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        argv = [self.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1",
                "-i", self.source, "-map", "0", "-c", "copy", "-f", "mpegts", "pipe:1"]  # fmt: skip
        self.proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE)
        self.task = asyncio.create_task(self._pump())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                async with asyncio.timeout(3.0):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def _pump(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        buf = bytearray()
        first_at = 0.0
        while True:
            data = await self.proc.stdout.read(65536)
            if not data:
                return
            if not buf:
                first_at = time.monotonic()
            buf += data
            if len(buf) >= CHUNK_BYTES or time.monotonic() - first_at >= MAX_DELAY_S:
                await self._publish(buf)

    async def _publish(self, buf: bytearray) -> None:
        usable = len(buf) // PACKET * PACKET
        if not usable:
            return
        for start in range(0, usable, CHUNK_BYTES):
            self.ring.append(bytes(buf[start : min(start + CHUNK_BYTES, usable)]))
            self.seq += 1
        del buf[:usable]
        async with self.cond:
            self.cond.notify_all()

    async def viewer(self) -> AsyncIterator[bytes]:
        cursor = self.seq
        while True:
            if cursor >= self.seq:
                async with self.cond:
                    while cursor >= self.seq:
                        await self.cond.wait()
            oldest = self.seq - len(self.ring)
            cursor = max(cursor, oldest)  # fell out of the ring: skip ahead
            chunk = self.ring[cursor - oldest]
            cursor += 1
            yield chunk


relay = Relay(os.environ.get("BENCH_RELAY_SOURCE", ""), os.environ.get("BENCH_RELAY_FFMPEG", "ffmpeg"))


async def stream(request: Request) -> Response:
    return StreamingResponse(relay.viewer(), media_type="video/mp2t", headers={"Cache-Control": "no-cache"})


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await relay.start()
    try:
        yield
    finally:
        await relay.stop()


app = Starlette(routes=[Route("/ch.ts", stream)], lifespan=lifespan)
