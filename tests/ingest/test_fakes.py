"""The shared fakes behave as documented: real-time pacing, stop/start, stall/resume, 404, and probing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.fakes.media import ffprobe_frames
from tests.fakes.upstream import TS_PACKET, Upstream, ts_bitrate


async def get(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET /{path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    return reader, writer, head


async def read_for(reader: asyncio.StreamReader, seconds: float) -> bytes:
    data = bytearray()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), left)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
    return bytes(data)


def test_media_and_probe(ts_file: Path) -> None:
    codec, frames = ffprobe_frames(ts_file)
    assert (codec, frames) == ("h264", 150)  # 6 s at 25 fps
    assert ffprobe_frames(b"not a transport stream") == ("", 0)
    bitrate = ts_bitrate(ts_file.read_bytes())
    assert bitrate is not None
    assert 300_000 < bitrate < 800_000


async def test_upstream_paces_stalls_resumes_and_restarts(ts_file: Path) -> None:
    async with Upstream(ts_file) as up:
        reader, writer, head = await get(up.url)
        assert head.startswith(b"HTTP/1.1 200")
        first = await read_for(reader, 1.0)
        expected = up.bitrate_bps / 8
        assert 0.6 * expected < len(first) < 1.4 * expected  # about one second's worth
        assert first[0] == 0x47
        assert len(first) % TS_PACKET == 0
        up.stall()
        await asyncio.sleep(0.1)
        assert await read_for(reader, 0.5) == b""
        up.resume()
        assert len(await read_for(reader, 0.5)) > 0
        url = up.url
        await up.stop()
        await asyncio.wait_for(reader.read(-1), 2)  # the connection is dropped
        writer.close()
        with pytest.raises(OSError):
            await get(url)
        await up.start()
        assert up.url == url
        reader, writer, head = await get(url)
        assert head.startswith(b"HTTP/1.1 200")
        writer.close()
        assert up.requests == 2


async def test_upstream_404_mode(ts_file: Path) -> None:
    async with Upstream(ts_file) as up:
        reader, writer, _ = await get(up.url)
        up.mode_404()
        await asyncio.wait_for(reader.read(-1), 2)  # the running stream ends
        writer.close()
        _, writer, head = await get(up.url)
        assert head.startswith(b"HTTP/1.1 404")
        writer.close()
        up.mode_ok()
        _, writer, head = await get(up.url)
        assert head.startswith(b"HTTP/1.1 200")
        writer.close()
