"""A fake live upstream: an HTTP server on 127.0.0.1 that streams a TS file in a loop at its own bitrate.

Every request gets ``200`` and an endless, close-delimited ``video/mp2t`` body that starts at the
beginning of the file and is written in whole 188-byte packets every ~50 ms, at the file's bitrate
(measured from its PCRs unless given). ``burst_s`` sends that many seconds at once on connect, as servers
with a GOP cache do (ffmpeg then starts without waiting seconds for its probe). Controls, for failure tests:

* :meth:`Upstream.stop` closes the listener and every connection (the source died); :meth:`start` brings
  it back on the same port;
* :meth:`Upstream.stall` keeps every socket open but stops sending; :meth:`resume` continues;
* :meth:`Upstream.mode_404` answers ``404`` to new requests and ends running streams; :meth:`mode_ok`
  undoes it.

Stdlib only.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType

TS_PACKET = 188
_PCR_HZ = 27_000_000
_HEAD_LIMIT = 16 * 1024
_OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
_404_HEAD = (
    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n"
)


def _pcr(packet: bytes) -> int | None:
    has_adaptation = packet[3] & 0x20
    if not has_adaptation or packet[4] < 7 or not packet[5] & 0x10:
        return None
    b = packet[6:12]
    base = (b[0] << 25) | (b[1] << 17) | (b[2] << 9) | (b[3] << 1) | (b[4] >> 7)
    return base * 300 + (((b[4] & 1) << 8) | b[5])


def ts_bitrate(data: bytes) -> int | None:
    """Bits per second of an MPEG-TS, from its first and last PCR; None if it has no usable PCRs."""
    first: tuple[int, int] | None = None
    last: tuple[int, int] | None = None
    for offset in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        if data[offset] != 0x47:
            continue
        pcr = _pcr(data[offset : offset + TS_PACKET])
        if pcr is not None:
            first = first or (offset, pcr)
            last = (offset, pcr)
    if first is None or last is None or last[1] <= first[1]:
        return None
    return round((last[0] - first[0]) * 8 * _PCR_HZ / (last[1] - first[1]))


class Upstream:
    """``async with Upstream(path) as up:`` serves ``up.url`` until the block ends."""

    def __init__(
        self,
        path: Path,
        *,
        bitrate_bps: int | None = None,
        first_byte_delay_s: float = 0.0,
        burst_s: float = 0.0,
        tick_s: float = 0.05,
    ) -> None:
        self._path = path
        self._bitrate = bitrate_bps
        self._delay = first_byte_delay_s
        self._burst = burst_s
        self._tick = tick_s
        self._data = b""
        self._server: asyncio.Server | None = None
        self._port = 0
        self._handlers: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._not_found = False
        self.requests = 0
        self.bytes_sent = 0

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("Upstream is not started")
        return f"http://127.0.0.1:{self._port}/live/stream.ts"

    @property
    def bitrate_bps(self) -> int:
        """The rate the body is sent at (known once started)."""
        return self._bitrate or 0

    @property
    def connections(self) -> int:
        return len(self._handlers)

    async def start(self) -> None:
        if self._server is not None:
            return
        if not self._data:
            self._data = self._path.read_bytes()
            self._data = self._data[: len(self._data) // TS_PACKET * TS_PACKET]
            self._bitrate = self._bitrate or ts_bitrate(self._data) or 1_000_000
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self._port, limit=_HEAD_LIMIT)
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every connection, like a crashed upstream."""
        if self._server is not None:
            self._server.close()
            self._server = None
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def stall(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def mode_404(self) -> None:
        self._not_found = True
        for task in list(self._handlers):
            task.cancel()

    def mode_ok(self) -> None:
        self._not_found = False

    async def __aenter__(self) -> Upstream:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            if self._not_found:
                writer.write(_404_HEAD)
                await writer.drain()
                return
            writer.write(_OK_HEAD)
            await writer.drain()
            await self._stream(writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client left
        except asyncio.CancelledError:
            pass  # stop() or mode_404() ended this connection (ending normally keeps asyncio 3.11's callback quiet)
        finally:  # also on cancellation by stop() / mode_404(): drop the connection without a goodbye
            self._handlers.discard(task)
            writer.transport.abort()
            writer.close()

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        bytes_per_s = (self._bitrate or 1_000_000) / 8
        position, credit = 0, self._burst * bytes_per_s
        if self._delay:
            await asyncio.sleep(self._delay)
        last = loop.time()
        while not writer.is_closing():
            await asyncio.sleep(self._tick)
            if not self._flowing.is_set():
                await self._flowing.wait()
                last = loop.time()
                continue
            now = loop.time()
            credit += (now - last) * bytes_per_s
            last = now
            size = int(credit) // TS_PACKET * TS_PACKET
            credit -= size
            chunk, position = self._slice(position, size)
            writer.write(chunk)
            self.bytes_sent += len(chunk)
            await writer.drain()

    def _slice(self, position: int, size: int) -> tuple[bytes, int]:
        out = bytearray()
        while size > 0:
            piece = self._data[position : position + size]
            out += piece
            size -= len(piece)
            position = (position + len(piece)) % len(self._data)
        return bytes(out), position


__all__ = ["Upstream", "ts_bitrate"]
